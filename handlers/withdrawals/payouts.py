"""Paying out an approved withdrawal, and settling one whose outcome is uncertain.

The worker that takes `bot.finish_withdrawal` makes the withdraw call with the order id
recorded at approval, retried only with that id while Feishu is in trouble (for
`Services.payout_window` from the approval), and after a restart too (`resume`). When the bot
cannot know whether Feishu paid it out (the window passed, the worker gave the work up after
repeated errors, or the answer lacked `trans_time`), the withdrawal is marked *uncertain*, in
one transaction with its audit entry, the card's update and the telling of the requester and
the approver; once they are told (or cannot be), a settling (`bot.settle_withdrawal`) follows,
so that nobody hears "settled" before "uncertain". How a settling decides is
`bot/domain/settlement.py`: a balance read, then the same order id asked again when that cannot pay
out more than was approved, else Feishu's reconciliation. A settling that cannot reach Feishu
is tried again until it can; one that cannot decide leaves the withdrawal uncertain for the
next balance read (a `withdraw` of the account, a restart) or reconciliation.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import timedelta

from bot.domain.settlement import (
    Balance,
    Verdict,
    read_balance,
    reconciliation_verdict,
    reconciliation_window,
)
from bot.domain.withdrawals import Amounts, State, Withdrawal, amounts_of
from bot.feishu.openapi import OpenApiError
from bot.records.store import utcnow
from cards.text import Text
from handlers.accounts import cards as account_cards
from handlers.answers import explain
from handlers.audit_trail import Act, failed
from handlers.errors import Attempts, RetryLater
from handlers.registry import job
from handlers.services import Services
from handlers.withdrawals.trail import amount_facts, card_of, record, show_later

log = logging.getLogger(__name__)

FINISH = "bot.finish_withdrawal"  # queued in the approving transaction
SETTLE = "bot.settle_withdrawal"
TELL = "bot.tell_withdrawal"
# A settling or telling given up (Feishu out of reach for a whole retry window) is tried again
# this much later.
AGAIN_AFTER = timedelta(hours=1)
# How a settled withdrawal records what settled it: Feishu's answer to the order id asked
# again, its reconciliation, or the balance alone (see bot/domain/settlement.py).
BY_ORDER, BY_RECONCILIATION, BY_BALANCE = "order", "reconciliation", "balance"


# --- paying out ---------------------------------------------------------------------------
def gave_up(services: Services, payload: dict, reason: str) -> None:
    """The worker gave up on the withdraw (Feishu out of reach for the whole retry window, or
    repeated errors): Feishu may have paid it out all the same."""
    current = services.withdrawals.get(payload["id"])
    if current is not None and current.state is State.APPROVED:
        mark_uncertain(services, current, f"the withdraw call was given up: {reason}")


@job(FINISH, on_failure=gave_up)
def finish(services: Services, event_id: str, payload: dict) -> None:
    """Make the approved withdrawal, with its order id; Feishu answers a repeat of that id with
    the original withdrawal, so a retry after a lost answer withdraws nothing more."""
    current = services.withdrawals.get(payload["id"])
    if current is None or current.state is not State.APPROVED:
        return  # done already
    try:
        result = services.gateway.withdraw(
            current.account_id, current.kind.bonus_types, current.order_id
        )
    except OpenApiError as exc:
        if exc.transient and utcnow() - current.approved_at < services.payout_window:
            raise RetryLater(f"withdrawal #{current.id}: {exc}") from None
        if exc.transient:  # tried for the whole window: Feishu may have acted and not said so
            window = services.payout_window
            mark_uncertain(services, current, f"Feishu could not be reached for {window}: {exc}")
            return
        if exc.may_have_acted:  # Feishu answered, but not so that the bot can tell
            mark_uncertain(services, current, f"Feishu's answer was incomplete: {exc.msg}")
            return

        act = failed(exc)

        def did_fail() -> None:
            record(services, current, act, actor=current.approved_by, action="withdrawn")
            show_later(services, current, "result")

        services.withdrawals.failed(current.id, explain(exc).en, then=did_fail)
        services.inbox.notify()
        return
    withdrawn = _amounts(result)

    def paid() -> None:
        facts = {"order": result.order_id, **amount_facts(withdrawn)}
        act = Act("ok", f"order {result.order_id}", facts)
        record(services, current, act, actor=current.approved_by, action="withdrawn")
        show_later(services, current, "result")

    if services.withdrawals.withdrawn(current.id, result.trans_time, withdrawn, then=paid):
        services.inbox.notify()
        _after_withdrawal(services, current.account_id, withdrawn)


def _amounts(result) -> Amounts:
    return Amounts(result.points, tuple(sorted(result.cash, key=lambda c: c.currency)))


def _after_withdrawal(services: Services, account_id: str, withdrawn: Amounts) -> None:
    """The records (and every card of the account) show the balance left."""
    record = services.accounts.get(account_id)
    if record is None or record.account is None:
        return
    account = record.account
    taken = {c.currency: c.amount for c in withdrawn.cash}
    cash = tuple(replace(c, amount=c.amount - taken.get(c.currency, 0)) for c in account.cash)
    left = replace(account, points=max(0, account.points - withdrawn.points), cash=cash)
    services.accounts.remember(left)
    account_cards.refresh_later(services, account_id)


def mark_uncertain(services: Services, request: Withdrawal, reason: str) -> bool:
    """Say so everywhere at once: audit, card, requester and approver, and a settling."""

    def everywhere() -> None:
        act = Act("uncertain", reason)
        record(
            services, request, act, actor=request.approved_by, action="withdrawn", via="schedule"
        )
        show_later(services, request, "uncertain")
        _tell_people(services, request, UNCERTAIN)  # then the settling (see `tell`)

    if not services.withdrawals.uncertain(request.id, reason, then=everywhere):
        return False
    log.warning("withdrawal #%s is uncertain: %s", request.id, reason)
    services.inbox.notify()
    return True


def _tell_people(services: Services, request: Withdrawal, what: str) -> None:
    services.inbox.enqueue(
        TELL, {"id": request.id, "what": what}, key=f"{request.id}:{what}", notify=False
    )


def _settle_first(services: Services, withdrawal_id: int) -> None:
    services.inbox.enqueue(SETTLE, {"id": withdrawal_id}, key=f"{withdrawal_id}:first")


# --- settling -----------------------------------------------------------------------------
def settle_gave_up(services: Services, payload: dict, reason: str) -> None:
    """Feishu could not be asked for a whole retry window: ask again later."""
    services.inbox.enqueue(SETTLE, {"id": payload["id"]}, delay=AGAIN_AFTER)


@job(SETTLE, on_failure=settle_gave_up)
def settle(services: Services, event_id: str, payload: dict) -> None:
    """Find out whether an uncertain withdrawal was paid out (the inbox's job)."""
    current = services.withdrawals.get(payload["id"])
    if current is None or current.state is not State.UNCERTAIN:
        return
    try:
        settle_now(services, current)
    except OpenApiError as exc:
        raise RetryLater(f"settling withdrawal #{current.id}: {exc}") from None


def settle_now(services: Services, request: Withdrawal) -> Withdrawal:
    """Read the balance and settle by it, or by reconciliation (see bot/domain/settlement.py); the
    withdrawal as it is afterwards. Raises OpenApiError (transient) while Feishu cannot be
    reached."""
    try:
        account = services.gateway.get_assets(request.account_id)
        services.accounts.remember(account)
        balance = read_balance(request.amounts, amounts_of(account, request.kind))
        if balance.may_ask_again and account.enabled:
            _settle_by_order(services, request, balance)
        else:
            _settle_without_asking(services, request, balance)
    except OpenApiError as exc:
        if exc.transient:
            raise
        _still_uncertain(services, request, f"Feishu answered {exc.code}: {exc.msg}")
    return services.withdrawals.get(request.id)


def _settle_by_order(services: Services, request: Withdrawal, balance: Balance) -> None:
    """Ask withdraw again with the same order id: Feishu answers a repeat with the original
    withdrawal, and a first call can take only what was approved (or nothing)."""
    try:
        result = services.gateway.withdraw(
            request.account_id, request.kind.bonus_types, request.order_id
        )
    except OpenApiError as exc:
        if exc.transient or exc.may_have_acted:
            raise
        # Whether Feishu looks a repeated order id up before any other check is not
        # documented: a refusal proves nothing either way.
        _settle_without_asking(services, request, balance)
        return
    paid = _amounts(result)
    if paid.empty:
        why = f"Feishu paid nothing out under the order (the balance was {balance})"
        _settled(services, request, State.CLOSED, why, BY_ORDER)
        return
    _settled(services, request, State.WITHDRAWN, f"order {result.order_id}", BY_ORDER, result)
    # Paid now, or long ago (the answer is the same): only a read tells what is left.
    try:
        services.accounts.remember(services.gateway.get_assets(request.account_id))
    except OpenApiError as exc:
        log.info("balance of %s not read after settling: %s", request.account_id, exc)
    account_cards.refresh_later(services, request.account_id)


def _settle_without_asking(services: Services, request: Withdrawal, balance: Balance) -> None:
    """Feishu's reconciliation of the account over the order's window tells whether the
    approved points were withdrawn; where it cannot, the balance alone."""
    verdict, by = Verdict.UNKNOWN, BY_RECONCILIATION
    if request.amounts.points > 0:  # reconciliation compares points only
        start, end = reconciliation_window(request.approved_at, request.uncertain_at)
        account_id = request.account_id
        ours = services.withdrawals.points_between(start, end, account_id).get(account_id, 0)
        mismatches = services.gateway.reconcile(start, end, {account_id: ours})
        feishu = next((m.feishu_points for m in mismatches if m.account_id == account_id), None)
        verdict = reconciliation_verdict(request.amounts.points, feishu, ours)
    if verdict is Verdict.UNKNOWN:
        verdict, by = balance.verdict, BY_BALANCE
    if verdict is Verdict.PAID:
        why = {
            BY_RECONCILIATION: "Feishu's reconciliation records the approved points withdrawn",
            BY_BALANCE: "the approved amounts have left the account",
        }[by]
        _settled(services, request, State.WITHDRAWN, why, by)
        account_cards.refresh_later(services, request.account_id)  # the read above is current
    elif verdict is Verdict.NOT_PAID:
        why = {
            BY_RECONCILIATION: "Feishu's reconciliation records no withdrawal under the order",
            BY_BALANCE: "the approved amounts are all still in the account",
        }[by]
        _settled(services, request, State.FAILED, f"Not paid out: {why}. Request again.", by)
    else:
        _still_uncertain(services, request, f"the balance is {balance} since the approval")


def _settled(
    services: Services,
    request: Withdrawal,
    to: State,
    detail: str,
    settled_by: str,
    result=None,
) -> None:
    def everywhere() -> None:
        act = Act(str(to), f"{detail} (by {settled_by})", {"settled_by": settled_by})
        record(services, request, act, actor=None, action="settle", via="schedule")
        show_later(services, request, "settled")
        _tell_people(services, request, SETTLED)

    book = services.withdrawals
    if to is State.WITHDRAWN:
        when, paid = (result.trans_time, _amounts(result)) if result else (None, request.amounts)
        moved = book.withdrawn(request.id, when, paid, settled_by=settled_by, then=everywhere)
    elif to is State.FAILED:
        moved = book.failed(request.id, detail, settled_by=settled_by, then=everywhere)
    else:
        moved = book.close(request.id, detail, settled_by=settled_by, then=everywhere)
    if moved:
        log.info("uncertain withdrawal #%s settled: %s (%s)", request.id, to, detail)
        services.inbox.notify()


def _still_uncertain(services: Services, request: Withdrawal, why: str) -> None:
    log.info("withdrawal #%s stays uncertain: %s", request.id, why)
    act = Act("uncertain", why)
    record(services, request, act, actor=None, action="settle", via="schedule")


def settle_all(services: Services) -> int:
    """Settle every uncertain withdrawal now (before a reconciliation report); how many were.
    Raises OpenApiError (transient) while Feishu cannot be reached."""
    settled = 0
    for request in services.withdrawals.in_state(State.UNCERTAIN):
        settled += settle_now(services, request).state is not State.UNCERTAIN
    return settled


def settle_all_later(services: Services) -> int:
    """Queue a settling of every uncertain withdrawal; how many."""
    uncertain = services.withdrawals.in_state(State.UNCERTAIN)
    for request in uncertain:
        services.inbox.enqueue(SETTLE, {"id": request.id})
    return len(uncertain)


# --- telling ------------------------------------------------------------------------------
UNCERTAIN, SETTLED = "uncertain", "settled"


def tell_gave_up(services: Services, payload: dict, reason: str) -> None:
    """Nobody could be told for a whole retry window: settle all the same, and tell later."""
    if payload.get("what") == UNCERTAIN:
        _settle_first(services, payload["id"])
    services.inbox.enqueue(TELL, payload, delay=AGAIN_AFTER)


@job(TELL, on_failure=tell_gave_up)
def tell(services: Services, event_id: str, payload: dict) -> None:
    """One-to-one messages to the requester and the approver: the withdrawal as it is now,
    with what happened to it; after the "uncertain" telling, the settling begins."""
    current = services.withdrawals.get(payload["id"])
    if current is None:
        return
    what = payload["what"]
    if what == UNCERTAIN and current.state is not State.UNCERTAIN:
        return  # settled meanwhile (a restart's settling went first): that telling says it all
    card = card_of(services, current, _telling(current, what))
    attempts = Attempts(f"telling of withdrawal #{current.id}")
    for open_id in dict.fromkeys(p for p in (current.requested_by, current.approved_by) if p):
        person = hashlib.sha256(open_id.encode()).hexdigest()[:16]
        with attempts.each(open_id):
            # Once per person and telling, however often this is retried.
            uuid = f"wd-{current.id}-{what}-{person}"
            services.messenger.send_card_to_person(open_id, card, uuid=uuid)
    attempts.done()
    if what == UNCERTAIN:
        _settle_first(services, current.id)


def _telling(request: Withdrawal, what: str) -> Text:
    n = request.id
    if what == UNCERTAIN and request.state is State.UNCERTAIN:
        return Text(
            f"Feishu has not confirmed withdrawal #{n}: it may or may not have been paid out.",
            f"飞书未确认提取 #{n}：可能已支付，也可能未支付。",
        )
    if request.state is State.WITHDRAWN:
        return Text(
            f"Withdrawal #{n} is settled: Feishu paid it out.", f"提取 #{n} 已确认：飞书已支付。"
        )
    return Text(
        f"Withdrawal #{n} is settled: nothing was paid out.",
        f"提取 #{n} 已确认：未支付任何款项。",
    )


# --- after a restart ----------------------------------------------------------------------
def resume(services: Services) -> int:
    """At start: an approved withdrawal whose withdraw is not under way (its work given up by an
    older release, say) is queued again, with its order id, and every uncertain one is
    settled; the order id keeps each single. How many were queued."""
    count = 0
    for pending in services.withdrawals.in_state(State.APPROVED):
        count += services.inbox.enqueue(FINISH, {"id": pending.id}, key=str(pending.id), again=True)
    return count + settle_all_later(services)
