"""The one guard every command and button passes through, in this order:

1. **who may act** (`admit`): the entry's policy against `REFERRAL_BOT_ADMINS`
   (`handlers/access.py`); a refusal is answered and audited, nothing else happens;
2. **once-only** (`begin`): a button press is recorded as pending (a redelivery of a press that
   is done is answered from the records, one in hand answers "working on it"); a command that
   changes something marks its event before its call, so that a run cut off half-way is known
   when the event is worked again (`Once` in the registry says what happens then);
3. **run** the entry's function, which holds only its own logic;
4. **map Open API errors** (`perform`): a failure that may pass makes a command's event wait
   and run again (`RetryLater`, see `bot/worker.py`); any other, and any failure of a button
   (which cannot wait), is answered in plain words (`answers.explain`);
5. **audit**: the act's one entry, with what the entry decided (`Answer.act`) when more than
   "done", and its count in the metrics.

Inbox work with nobody to answer (events, jobs) has one rule too (`work`): an Open API failure
that escapes it is tried again later when it may pass, else the work is given up.

Modelled on errbot's `@cmdfilter` (one filter chain for every command) and python-telegram-bot's
one error handler.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime
from enum import Enum

import lark_oapi as lark

from bot.feishu.openapi import OpenApiError
from bot.records.inbox import Press
from bot.records.store import utcnow
from cards.error import not_allowed_card
from cards.text import Text
from handlers import access, answers, audit_trail, parser
from handlers.asker import BUTTON, COMMAND, Answer, Asker
from handlers.audit_trail import NOT_ADMIN, OK, Act
from handlers.errors import RetryLater, retry_or_give_up
from handlers.people import lookup
from handlers.registry import ButtonEntry, CommandEntry, Once, Policy, WorkEntry, loaded
from handlers.services import Services

NOT_ALLOWED = Text("You are not allowed to do this", "你没有权限执行此操作")


class Begun(Enum):
    GO = "go"
    RESUMED = "resumed"  # an earlier run began the change and was cut off: check first
    CUT_OFF = "cut off"  # ... and the change cannot be checked: do not run again
    DONE = "done"  # a press delivered again after it was carried out
    BUSY = "busy"  # a press delivered again while it is in hand


# --- commands -------------------------------------------------------------------------------
def command(services: Services, asker: Asker, text: str, bot_keys: Collection[str] = ()) -> Answer:
    """Answer one message's (or menu item's) text with a card. `bot_keys` are the mention
    keys that stand for the bot itself."""
    begun = utcnow()  # the act's time in the audit, however long it takes
    try:
        entry, args = parser.read(text, ignore=bot_keys)
    except parser.NotACommand:
        return Answer(answers.not_a_command(loaded().general_usage()))
    except parser.UsageError as exc:
        audit(services, asker, "usage", None, wrong(exc.problem), begun)
        return Answer(answers.wrong_command(exc.problem, exc.usage))
    account_id = named_account(args)
    refusal = admit(services, entry, asker, entry.name, account_id, begun)
    if refusal is not None:
        return refusal
    state = begin(services, entry.policy, asker)
    if state is Begun.CUT_OFF:
        uncertain = Act("uncertain", "interrupted mid-call", {"why": "interrupted"})
        audit(services, asker, entry.name, account_id, uncertain, begun)
        return Answer(answers.uncertain_registration())
    if state is Begun.RESUMED:
        asker = replace(asker, resumed=True)
    return perform(services, entry, asker, args, entry.name, account_id, begun)


def named_account(args: object) -> str | None:
    """The account a command names by its ID, for the audit of an answer that names none."""
    who = getattr(args, "who", None)
    if isinstance(who, parser.Who) and who.mobile is None:
        return who.account_id
    return None


def wrong(problem: Text) -> Act:
    return Act("usage error", problem.en, {"reason": audit_trail.bilingual(problem)})


# --- the steps ------------------------------------------------------------------------------
def admit(
    services: Services,
    entry: CommandEntry | ButtonEntry,
    asker: Asker,
    action: str,
    account_id: str | None,
    begun: datetime | None = None,
    facts: Mapping[str, object] | None = None,
) -> Answer | None:
    """Who may act: None when the asker may; else the refusal, audited."""
    if access.allowed(
        services.settings, asker.open_id, action, may=entry.policy.may, via=asker.via
    ):
        return None
    audit(services, asker, action, account_id, NOT_ADMIN, begun, facts)
    card = not_allowed_card() if asker.via == COMMAND else None
    return Answer(card, NOT_ALLOWED, kind="error")


def begin(services: Services, policy: Policy, asker: Asker) -> Begun:
    """Once-only: what became of earlier deliveries of this asking."""
    if asker.via == BUTTON:
        state = services.inbox.begin_press(asker.event_id, "card.action.trigger")
        return {Press.DONE: Begun.DONE, Press.BUSY: Begun.BUSY}.get(state, Begun.GO)
    if policy.once is Once.NO or asker.event_id is None:
        return Begun.GO
    if services.inbox.begin_once(asker.event_id):
        return Begun.GO
    return Begun.CUT_OFF if policy.once is Once.STRICT else Begun.RESUMED


def perform(
    services: Services,
    entry: CommandEntry | ButtonEntry,
    asker: Asker,
    args: object,
    action: str,
    account_id: str | None,
    begun: datetime,
    facts: Mapping[str, object] | None = None,
) -> Answer:
    """Run the entry, map an Open API failure, audit the act. `facts`: what the asking itself
    tells the audit (a button's request)."""
    once = entry.policy.once
    try:
        answer = entry.run(services, asker, args)
    except lookup.NotOne as exc:
        audit(services, asker, action, account_id, Act("no match"), begun, facts)
        return Answer(exc.card, kind="error")
    except lookup.UnknownMention as exc:
        problem = answers.unknown_mention(str(exc))
        audit(services, asker, action, account_id, wrong(problem), begun, facts)
        return Answer(answers.wrong_command(problem), problem, kind="error")
    except OpenApiError as exc:
        strict = once is Once.STRICT
        if asker.via == COMMAND and exc.transient and not (strict and exc.may_have_acted):
            # Feishu is out of reach: the whole event waits and is run again (see
            # bot.worker); the audit records the outcome then.
            if once is not Once.NO and asker.event_id and not exc.may_have_acted:
                services.inbox.clear_once(asker.event_id)  # it certainly did not happen
            raise RetryLater(str(exc)) from None
        failed = audit_trail.failed(exc)
        audit(services, asker, action, account_id, failed, begun, facts)
        if strict and exc.may_have_acted:
            return Answer(answers.uncertain_registration(exc), kind="error", act=failed)
        why = answers.explain(exc)
        return Answer(answers.could_not(why), why, kind="error", act=failed)
    audit(services, asker, action, answer.account_id or account_id, answer.act or OK, begun, facts)
    return answer


def audit(
    services: Services,
    asker: Asker,
    action: str,
    account_id: str | None,
    act: Act,
    begun: datetime | None,
    facts: Mapping[str, object] | None = None,
) -> None:
    """The act's one audit entry (and its count in the metrics)."""
    counter = services.metrics.presses if asker.via == BUTTON else services.metrics.commands
    counter.labels(action, act.outcome).inc()
    extra = {k: v for k, v in (facts or {}).items() if k not in act.facts}
    if extra:
        act = replace(act, facts={**act.facts, **extra})
    audit_trail.record(
        services,
        act,
        actor=asker.open_id,
        action=action,
        account_id=account_id,
        via=asker.via,
        chat_id=asker.chat_id,
        at=begun,
    )


# --- inbox work -----------------------------------------------------------------------------
def work(services: Services, entry: WorkEntry, event_id: str, payload: str) -> None:
    """Run an event's or a job's function on its stored payload; an Open API failure that
    escapes it is retried later when it may pass, else the work is given up."""
    data = json.loads(payload) if entry.model is None else lark.JSON.unmarshal(payload, entry.model)
    try:
        entry.run(services, event_id, data)
    except OpenApiError as exc:
        retry_or_give_up(exc, entry.kind)
