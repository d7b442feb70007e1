"""Running a `/referral` command: parse, authorize, act, audit.

The handlers live by topic (`account_commands`, `people_commands`), one function per command
type, registered in `registry`. A handler gets the services and the asking person's context,
calls the Open API through the gateway, keeps the bot's records, and returns the card to answer
with. It knows no HTTP.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from bot.feishu.openapi import OpenApiError
from bot.records.store import utcnow
from bot.worker import RetryLater
from cards.error import not_allowed_card
from cards.text import Text
from handlers import access, answers, audit_trail, parser, people
from handlers.audit_trail import OK, Act
from handlers.registry import HANDLERS, Asker, Reply, check_complete
from handlers.services import Services

__all__ = ["Asker", "Reply", "run"]


# Commands that change something at Feishu. Each run marks its event before the call, so a run
# cut off half-way (the process killed) is known when the event is worked again: create may
# have taken effect even when its answer was lost, and cannot be checked, so it is not sent
# again; enable and disable read the account first and call only if it is not yet so.
ONCE_ONLY = (parser.RegisterByEmail, parser.RegisterByMobile, parser.RegisterByMention)
CHANGES = (*ONCE_ONLY, parser.Enable, parser.Disable)


def run(services: Services, asker: Asker, text: str, bot_keys: Collection[str] = ()) -> Reply:
    """Answer one message's text with a card (parse, authorize, act, audit). `bot_keys` are the
    mention keys that stand for the bot itself."""
    begun = utcnow()  # the act's time in the audit, however long it takes
    try:
        command = parser.parse(text, ignore=bot_keys)
    except parser.NotACommand:
        return Reply(answers.not_a_command(parser.GENERAL_USAGE))
    except parser.UsageError as exc:
        _audit(services, asker, "usage", None, _wrong(exc.problem), begun)
        return Reply(answers.wrong_command(exc.problem, exc.usage))

    action, account_id = describe(command)
    if not access.allowed(services.settings, asker.open_id, action):
        _audit(services, asker, action, account_id, audit_trail.NOT_ADMIN, begun)
        return Reply(not_allowed_card())
    changes = isinstance(command, CHANGES) and asker.event_id is not None
    once = changes and isinstance(command, ONCE_ONLY)
    if changes and not services.inbox.begin_once(asker.event_id):
        # An earlier run began the call and was cut off before Feishu's answer was kept.
        if once:
            uncertain = Act("uncertain", "interrupted mid-call", {"why": "interrupted"})
            _audit(services, asker, action, account_id, uncertain, begun)
            return Reply(answers.uncertain_registration())
        asker = replace(asker, resumed=True)
    try:
        reply = HANDLERS[type(command)](services, asker, command)
    except people.NotOne as exc:
        _audit(services, asker, action, account_id, Act("no match"), begun)
        return Reply(exc.card)
    except people.UnknownMention as exc:
        problem = answers.unknown_mention(str(exc))
        _audit(services, asker, action, account_id, _wrong(problem), begun)
        return Reply(answers.wrong_command(problem))
    except OpenApiError as exc:
        if exc.transient and not (once and exc.may_have_acted):
            # Feishu is out of reach: the whole event waits and is run again (see
            # bot.worker); the audit records the outcome then.
            if changes and not exc.may_have_acted:
                services.inbox.clear_once(asker.event_id)  # it certainly did not happen
            raise RetryLater(str(exc)) from None
        _audit(services, asker, action, account_id, audit_trail.failed(exc), begun)
        if once and exc.may_have_acted:
            return Reply(answers.uncertain_registration(exc))
        return Reply(answers.could_not(answers.explain(exc)))
    # A handler that decided more than "done" (a withdrawal request, an export) says so.
    _audit(services, asker, action, reply.account_id or account_id, reply.act or OK, begun)
    return reply


def _wrong(problem: Text) -> Act:
    return Act("usage error", problem.en, {"reason": audit_trail.bilingual(problem)})


def _audit(
    services: Services,
    asker: Asker,
    action: str,
    account_id: str | None,
    act: Act,
    begun: datetime,
) -> None:
    """The command's one audit entry (and its count in the metrics)."""
    services.metrics.commands.labels(action, act.outcome).inc()
    audit_trail.record(
        services,
        act,
        actor=asker.open_id,
        action=action,
        account_id=account_id,
        chat_id=asker.chat_id,
        at=begun,
    )


# The subcommand's own name where the type's differs (the audit and metrics read it).
_NAMES: dict[type, str] = {
    parser.RegisterByEmail: "register",
    parser.RegisterByMobile: "register",
    parser.RegisterByMention: "register",
    parser.ListAccounts: "list",
    parser.PostDigest: "digest",
}


def action_of(kind: type) -> str:
    """The audit's name for a type of command."""
    return _NAMES.get(kind, kind.__name__.lower())


def describe(command: parser.Command) -> tuple[str, str | None]:
    """The audit's name for a command and the account it concerns, when it names one by ID."""
    match command:
        case parser.Show(who) | parser.Enable(who) | parser.Disable(who):
            named = who.account_id if who.mobile is None else None
            return action_of(type(command)), named
    return action_of(type(command)), None


# The command modules register their handlers on import.
from handlers import (  # noqa: E402, F401
    account_commands,
    people_commands,
    reconcile_commands,
    report_commands,
    withdrawal_commands,
)
from handlers.referrals import commands as referral_commands  # noqa: E402, F401
from handlers.rewards import commands as reward_commands  # noqa: E402, F401

check_complete()
