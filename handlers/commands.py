"""What each `/referral` command does: one function per command, registered by type.

A handler gets the services and the asking person's context, calls the Open API through the
gateway, keeps the bot's records, and returns the card to answer with. It knows no HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import get_args

from bot.accounts import Account, AccountStatus
from bot.feishu.openapi import OpenApiError
from bot.records.store import utcnow
from bot.worker import RetryLater
from cards.account import account_card
from cards.account_list import account_list_card
from cards.error import error_card, not_allowed_card
from cards.help import help_card
from cards.text import Text
from handlers import parser
from handlers.answers import explain
from handlers.services import Services


@dataclass(frozen=True)
class Asker:
    """Who sent the command, and where."""

    open_id: str | None
    chat_id: str
    message_id: str | None = None
    event_id: str | None = None
    # An earlier run of this event began its change and was cut off: check before changing.
    resumed: bool = False


@dataclass(frozen=True)
class Reply:
    """The card to answer with, and the account it shows (so later changes can update it)."""

    card: dict
    account_id: str | None = None


Handler = Callable[[Services, Asker, parser.Command], Reply]
HANDLERS: dict[type, Handler] = {}
# Commands anyone may run; everything else needs an admin.
OPEN_TO_ALL = (parser.Help,)
# Commands that change something at Feishu. Each run marks its event before the call, so a run
# cut off half-way (the process killed) is known when the event is worked again: create may
# have taken effect even when its answer was lost, and cannot be checked, so it is not sent
# again; enable and disable read the account first and call only if it is not yet so.
CHANGES = (parser.RegisterByEmail, parser.RegisterByMobile, parser.Enable, parser.Disable)
ONCE_ONLY = (parser.RegisterByEmail, parser.RegisterByMobile)


def handles(*kinds: type) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        for kind in kinds:
            if kind in HANDLERS:
                raise ValueError(f"{kind.__name__} already has a handler")
            HANDLERS[kind] = func
        return func

    return register


def run(services: Services, asker: Asker, text: str) -> Reply:
    """Answer one message's text with a card (parse, authorize, act, audit)."""
    try:
        command = parser.parse(text)
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
    _audit(services, asker, action, account_id, "ok")
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
    services.audit.record(
        actor=asker.open_id,
        action=action,
        account_id=account_id,
        outcome=outcome,
        detail=detail,
        chat_id=asker.chat_id,
    )


def describe(command: parser.Command) -> tuple[str, str | None]:
    """The audit's name for a command and the account it concerns."""
    match command:
        case parser.RegisterByEmail() | parser.RegisterByMobile():
            return "register", None
        case parser.Show(account_id) | parser.Enable(account_id) | parser.Disable(account_id):
            return type(command).__name__.lower(), account_id
    return type(command).__name__.lower(), None


def _account_answer(services: Services, account: Account, notice: Text | None) -> Reply:
    record = services.accounts.get(account.account_id)
    card = account_card(account, contact=record.contact if record else None, notice=notice)
    return Reply(card, account.account_id)


@handles(parser.RegisterByEmail, parser.RegisterByMobile)
def register(services: Services, asker: Asker, command: parser.Command) -> Reply:
    if isinstance(command, parser.RegisterByEmail):
        contact = command.email
        account = services.gateway.register_by_email(command.email)
    else:
        contact = f"+{command.code} {command.number}"
        account = services.gateway.register_by_mobile(command.code, command.number)
    services.accounts.remember(account, contact=contact, registered_by=asker.open_id)
    return _account_answer(services, account, Text("Account registered", "账户已注册"))


@handles(parser.Show)
def show(services: Services, asker: Asker, command: parser.Show) -> Reply:
    account = services.gateway.get_assets(command.account_id)
    services.accounts.remember(account)
    return _account_answer(services, account, None)


@handles(parser.Enable)
def enable(services: Services, asker: Asker, command: parser.Enable) -> Reply:
    account = _resumed_as(services, asker, command.account_id, AccountStatus.ENABLED)
    account = account or services.gateway.enable(command.account_id)
    services.accounts.remember(account)
    return _account_answer(services, account, Text("Account enabled", "账户已启用"))


@handles(parser.Disable)
def disable(services: Services, asker: Asker, command: parser.Disable) -> Reply:
    account = _resumed_as(services, asker, command.account_id, AccountStatus.DISABLED)
    account = account or services.gateway.deactivate(command.account_id)
    services.accounts.remember(account)
    return _account_answer(services, account, Text("Account disabled", "账户已停用"))


def _resumed_as(
    services: Services, asker: Asker, account_id: str, wanted: AccountStatus
) -> Account | None:
    """After a cut-off run: the account when the change already took effect, else None."""
    if not asker.resumed:
        return None
    account = services.gateway.get_assets(account_id)
    return account if account.status is wanted else None


@handles(parser.ListAccounts)
def list_accounts(services: Services, asker: Asker, command: parser.ListAccounts) -> Reply:
    zone = services.settings.digest_tz
    return Reply(account_list_card(services.accounts.all(), now=utcnow(), zone=zone))


@handles(parser.Help)
def show_help(services: Services, asker: Asker, command: parser.Help) -> Reply:
    return Reply(help_card([(sub.usage, sub.summary) for sub in parser.GRAMMAR]))


@handles(parser.PostDigest)
def post_digest(services: Services, asker: Asker, command: parser.PostDigest) -> Reply:
    return Reply(services.digest.card_for_chat(asker.chat_id))


_missing = set(get_args(parser.Command)) - set(HANDLERS)
if _missing:  # every command the parser can produce must have a handler
    raise ImportError(f"no handler for {sorted(k.__name__ for k in _missing)}")
