"""Running a `/referral` command: parse, authorize, act, audit.

The handlers live by topic (`account_commands`, `people_commands`), one function per command
type, registered in `registry`. A handler gets the services and the asking person's context,
calls the Open API through the gateway, keeps the bot's records, and returns the card to answer
with. It knows no HTTP.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from bot.feishu.openapi import OpenApiError
from bot.worker import RetryLater
from cards.error import error_card, not_allowed_card
from cards.text import Text
from handlers import parser, people
from handlers.answers import explain
from handlers.registry import HANDLERS, Asker, Reply, check_complete
from handlers.services import Services

__all__ = ["Asker", "Reply", "run"]


# Commands anyone may run; everything else needs an admin.
OPEN_TO_ALL = (parser.Help, parser.Me, parser.WhoAmI)
# Commands that change something at Feishu. Each run marks its event before the call, so a run
# cut off half-way (the process killed) is known when the event is worked again: create may
# have taken effect even when its answer was lost, and cannot be checked, so it is not sent
# again; enable and disable read the account first and call only if it is not yet so.
ONCE_ONLY = (parser.RegisterByEmail, parser.RegisterByMobile, parser.RegisterByMention)
CHANGES = (*ONCE_ONLY, parser.Enable, parser.Disable)


def run(services: Services, asker: Asker, text: str, bot_keys: Collection[str] = ()) -> Reply:
    """Answer one message's text with a card (parse, authorize, act, audit). `bot_keys` are the
    mention keys that stand for the bot itself."""
    try:
        command = parser.parse(text, ignore=bot_keys)
    except parser.NotACommand:
        return Reply(
            error_card(
                Text("Not a command", "无法识别的命令"),
                Text(
                    "I only understand /referral commands. Send /referral help for the list.",
                    "我只能理解 /referral 命令，发送 /referral help 查看全部命令。",
                ),
                usage=parser.GENERAL_USAGE,
            )
        )
    except parser.UsageError as exc:
        _audit(services, asker, "usage", None, "usage error", exc.problem.en)
        return Reply(error_card(Text("Wrong command", "命令有误"), exc.problem, usage=exc.usage))

    action, account_id = describe(command)
    if not isinstance(command, OPEN_TO_ALL) and not services.settings.is_admin(asker.open_id):
        _audit(services, asker, action, account_id, "refused", "not an admin")
        return Reply(not_allowed_card())
    changes = isinstance(command, CHANGES) and asker.event_id is not None
    once = changes and isinstance(command, ONCE_ONLY)
    if changes and not services.inbox.begin_once(asker.event_id):
        # An earlier run began the call and was cut off before Feishu's answer was kept.
        if once:
            _audit(services, asker, action, account_id, "uncertain", "interrupted mid-call")
            return Reply(_uncertain_card())
        asker = replace(asker, resumed=True)
    try:
        reply = HANDLERS[type(command)](services, asker, command)
    except people.NotOne as exc:
        _audit(services, asker, action, account_id, "no match")
        return Reply(exc.card)
    except people.UnknownMention as exc:
        problem = Text(f"Who is {exc}? Mention the person again.", f"{exc} 是谁？请重新 @该员工。")
        _audit(services, asker, action, account_id, "usage error", problem.en)
        return Reply(error_card(Text("Wrong command", "命令有误"), problem))
    except OpenApiError as exc:
        if exc.transient and not (once and exc.may_have_acted):
            # Feishu is out of reach: the whole event waits and is run again (see
            # bot.worker); the audit records the outcome then.
            if changes and not exc.may_have_acted:
                services.inbox.clear_once(asker.event_id)  # it certainly did not happen
            raise RetryLater(str(exc)) from None
        _audit(services, asker, action, account_id, f"error {exc.code}", exc.msg)
        if once and exc.may_have_acted:
            return Reply(_uncertain_card(explain(exc)))
        return Reply(error_card(Text("Could not do that", "操作未完成"), explain(exc)))
    _audit(services, asker, action, reply.account_id or account_id, "ok")
    return reply


def _uncertain_card(reason: Text | None = None) -> dict:
    detail = Text(
        "Feishu did not confirm the registration, and it may have taken effect. "
        "Check the person's referral account in Feishu Hire before registering again.",
        "飞书未确认注册结果，注册可能已经生效。请先在飞书招聘中核实该员工的内推账户，再决定是否重新注册。",
    )
    if reason is not None:
        detail = reason + Text.same(" ") + detail
    return error_card(Text("Not sure it was registered", "无法确认是否已注册"), detail)


def _audit(
    services: Services,
    asker: Asker,
    action: str,
    account_id: str | None,
    outcome: str,
    detail: str | None = None,
) -> None:
    services.metrics.commands.labels(action, outcome).inc()
    services.audit.record(
        actor=asker.open_id,
        action=action,
        account_id=account_id,
        outcome=outcome,
        detail=detail,
        chat_id=asker.chat_id,
    )


def describe(command: parser.Command) -> tuple[str, str | None]:
    """The audit's name for a command and the account it concerns, when it names one by ID."""
    match command:
        case parser.RegisterByEmail() | parser.RegisterByMobile() | parser.RegisterByMention():
            return "register", None
        case parser.Show(who) | parser.Enable(who) | parser.Disable(who):
            named = who.account_id if who.mobile is None else None
            return type(command).__name__.lower(), named
    # The subcommand's own name where the type's differs (the audit and metrics read it).
    return {parser.ListAccounts: "list", parser.PostDigest: "digest"}.get(
        type(command), type(command).__name__.lower()
    ), None


# The command modules register their handlers on import.
from handlers import (  # noqa: E402, F401
    account_commands,
    people_commands,
    reconcile_commands,
    report_commands,
    withdrawal_commands,
)

check_complete()
