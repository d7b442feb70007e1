"""Paying out: withdrawal requests, their approval by a second admin, and the withdraw itself.

A request reads the balance and posts a card with Approve and Cancel. Approving reads the
balance again (a change asks for approval of the new amounts), then approves with a new order
id in the same transaction that queues the withdraw in the inbox (`bot.finish_withdrawal`). The
worker that takes that event makes the one withdraw call, retried only with that order id while
Feishu is in trouble, and after a restart too; the approving press waits a moment for it so the
card usually turns into the receipt at once, and otherwise the receipt is patched in shortly
after. Every request, approval, refusal, cancellation, expiry and result is audited: a press
or a command returns its `Act` for its runner to write, the jobs write theirs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import timedelta

from bot.accounts import Account
from bot.feishu.openapi import OpenApiError
from bot.records.store import utcnow
from bot.records.withdrawals import TTL
from bot.withdrawals import (
    FINAL,
    Amounts,
    Kind,
    Policy,
    Refusal,
    State,
    Withdrawal,
    amounts_of,
)
from bot.worker import GiveUp, RetryLater
from cards.text import Text
from cards.withdrawal import withdrawal_card
from handlers import account_cards, audit_trail
from handlers.answers import explain
from handlers.audit_trail import Act, failed, refused
from handlers.services import Services

log = logging.getLogger(__name__)

FINISH = "bot.finish_withdrawal"
EXPIRE = "bot.expire_withdrawal"
SHOW = "bot.show_withdrawal"
# How long an approving press waits for the withdraw to be made, inside Feishu's 3 s.
WAIT_FOR_RESULT = 1.2
# The receipt is patched in only after the press's own answer has surely reached Feishu.
AFTER_ANSWER = timedelta(seconds=3)

REFUSALS: dict[Refusal, Text] = {
    Refusal.NOT_ADMIN: Text("You are not allowed to do this", "你没有权限执行此操作"),
    Refusal.NOT_APPROVER: Text(
        "Only the withdrawal approvers may do this", "只有提取审批人可以执行此操作"
    ),
    Refusal.OWN_REQUEST: Text(
        "Someone other than the requester must approve", "需由申请人以外的人批准"
    ),
    Refusal.EXPIRED: Text("This request has expired", "该申请已过期"),
    Refusal.DECIDED: Text("This request has already been decided", "该申请已处理"),
}


@dataclass(frozen=True)
class Answer:
    """What a press or command gets back: a toast (or message) and the card to show."""

    text: Text
    kind: str  # success | info | warning | error
    card: dict | None = None
    withdrawal: Withdrawal | None = None
    act: Act | None = None  # what was decided, for the audit entry of the press or command


def policy(services: Services) -> Policy:
    settings = services.settings
    return Policy(
        admins=settings.admins,
        approvers=settings.withdraw_approvers,
        self_approve=settings.withdraw_self_approve,
    )


def card_of(services: Services, request: Withdrawal, notice: Text | None = None) -> dict:
    record = services.accounts.get(request.account_id)
    referrer = record.account.referrer if record and record.account else None
    return withdrawal_card(
        request, zone=services.settings.digest_tz, referrer=referrer, notice=notice
    )


def _about(request: Withdrawal, act: Act) -> Act:
    """The act with the request's number, amounts and account (the act's facts win: a payout's
    amounts are what Feishu paid)."""
    detail = f"withdrawal #{request.id}" + (f": {act.detail}" if act.detail else "")
    facts = {"request": request.id, **_amounts(request.amounts), **act.facts}
    return Act(act.outcome, detail, facts, request.account_id)


def _amounts(amounts: Amounts) -> dict[str, object]:
    cash = [[c.currency, f"{c.amount:.2f}"] for c in amounts.cash if c.amount]
    return {"points": amounts.points, "cash": cash}


def _refused(request: Withdrawal, refusal: Refusal | str) -> Act:
    return _about(request, refused(str(refusal)))


def _no_request(withdrawal_id: int) -> Answer:
    return Answer(
        Text("This request no longer exists", "该申请不存在"),
        "error",
        act=refused("no_request", request=withdrawal_id),
    )


def _record(services: Services, actor: str | None, action: str, act: Act, via: str) -> None:
    """The entry of a job's act (an expiry, a payout): no runner writes it."""
    audit_trail.record(services, act, actor=actor, action=action, via=via)


def request(
    services: Services,
    account_id: str,
    kind: Kind,
    *,
    requested_by: str,
    chat_id: str | None,
    ttl: timedelta = TTL,
) -> Answer:
    """Read the balance and open a request for it; a plain-words answer when there is none."""
    account = services.gateway.get_assets(account_id)
    services.accounts.remember(account)
    amounts = amounts_of(account, kind)
    cannot = _cannot_withdraw(account, amounts, kind)
    if cannot is not None:
        why, text = cannot
        act = replace(refused(why, kind=kind.value), account_id=account_id)
        return Answer(text, "warning", act=act)
    created = services.withdrawals.create(
        account_id, kind, amounts, requested_by=requested_by, chat_id=chat_id, ttl=ttl
    )
    services.inbox.enqueue(EXPIRE, {"id": created.id}, key=str(created.id), delay=ttl)
    return Answer(
        Text("Withdrawal requested: another admin must approve", "已申请提取，需另一位管理员批准"),
        "success",
        card_of(services, created),
        created,
        _about(created, Act("requested")),
    )


def _cannot_withdraw(account: Account, amounts: Amounts, kind: Kind) -> tuple[str, Text] | None:
    """Why no request can be opened: the audit's reason code and the answer."""
    if not account.enabled:
        return "account_disabled", Text(
            f"Account {account.account_id} is disabled: a disabled account cannot withdraw. "
            "Enable it first.",
            f"账户 {account.account_id} 已停用，停用的账户不能提取，请先启用。",
        )
    if amounts.empty:
        what = {Kind.POINTS: ("points", "积分"), Kind.CASH: ("cash", "现金"), Kind.ALL: ("", "")}
        en, zh = what[kind]
        return "empty", Text(
            f"Account {account.account_id} has no {en + ' ' if en else ''}balance to withdraw.",
            f"账户 {account.account_id} 没有可提取的{zh or '余额'}。",
        )
    return None


def approve(services: Services, withdrawal_id: int, approver: str | None) -> Answer:
    """Approve (or refuse, or re-ask); waits a moment for the withdraw to be made."""
    current = services.withdrawals.get(withdrawal_id)
    if current is None:
        return _no_request(withdrawal_id)
    refusal = policy(services).refuse_approval(current, approver, utcnow())
    if refusal is Refusal.EXPIRED:
        expire_now(services, current)
        current = services.withdrawals.get(withdrawal_id)
    if refusal is not None:
        card = card_of(services, current)
        return Answer(REFUSALS[refusal], "error", card, current, _refused(current, refusal))
    account = services.gateway.get_assets(current.account_id)
    services.accounts.remember(account)
    fresh = amounts_of(account, current.kind)
    if not account.enabled:
        text = Text(
            "The account has been disabled since: it cannot withdraw", "该账户已被停用，无法提取"
        )
        act = _refused(current, "account_disabled")
        return Answer(text, "error", card_of(services, current), current, act)
    if fresh != current.amounts:
        services.withdrawals.reask(withdrawal_id, fresh)
        reasked = services.withdrawals.get(withdrawal_id)
        act = _about(reasked, Act("re-asked", "the balance changed"))
        notice = Text(
            "The balance changed since the request: check the new amounts and approve again.",
            "申请后余额已变化：请核对新的金额后再次批准。",
        )
        return Answer(notice, "warning", card_of(services, reasked, notice), reasked, act)

    def queue_withdraw(order_id: str) -> None:
        services.inbox.enqueue(FINISH, {"id": withdrawal_id}, key=str(withdrawal_id), notify=False)

    order_id = services.withdrawals.approve(withdrawal_id, approver, then=queue_withdraw)
    if order_id is None:  # another approver, or a second click, was first
        decided = services.withdrawals.get(withdrawal_id)
        card = card_of(services, decided)
        act = _refused(decided, Refusal.DECIDED)
        return Answer(REFUSALS[Refusal.DECIDED], "info", card, decided, act)
    act = _about(current, Act("approved", f"order {order_id}", {"order": order_id}))
    services.inbox.notify()  # the withdraw was queued in the approving transaction
    latest = _wait_for_result(services, withdrawal_id)
    card = card_of(services, latest)
    if latest.state is State.WITHDRAWN:
        return Answer(Text("Withdrawn", "已提取"), "success", card, latest, act)
    if latest.state is State.FAILED:
        return Answer(Text("The withdrawal failed", "提取失败"), "error", card, latest, act)
    return Answer(
        Text("Approved: paying out, the receipt follows", "已批准：处理中，稍后显示回执"),
        "success",
        card,
        latest,
        act,
    )


def _wait_for_result(services: Services, withdrawal_id: int) -> Withdrawal:
    deadline = time.monotonic() + WAIT_FOR_RESULT
    while True:
        latest = services.withdrawals.get(withdrawal_id)
        if latest.state in FINAL or time.monotonic() >= deadline:
            return latest
        time.sleep(0.05)


def cancel(services: Services, withdrawal_id: int, who: str | None) -> Answer:
    current = services.withdrawals.get(withdrawal_id)
    if current is None:
        return _no_request(withdrawal_id)
    refusal = policy(services).refuse_cancel(current, who)
    if refusal is None and not services.withdrawals.cancel(withdrawal_id, who or ""):
        refusal = Refusal.DECIDED
    if refusal is not None:
        latest = services.withdrawals.get(withdrawal_id)
        card = card_of(services, latest)
        return Answer(REFUSALS[refusal], "error", card, latest, _refused(current, refusal))
    cancelled = services.withdrawals.get(withdrawal_id)
    return Answer(
        Text("Withdrawal request cancelled", "提取申请已取消"),
        "success",
        card_of(services, cancelled),
        cancelled,
        _about(cancelled, Act("cancelled")),
    )


def expire_now(services: Services, request: Withdrawal) -> bool:
    if not services.withdrawals.expire(request.id):
        return False
    _record(services, None, "expire", _about(request, Act("expired")), "schedule")
    return True


# --- the inbox's follow-up work ----------------------------------------------------------
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
        if exc.transient:
            raise RetryLater(f"withdrawal #{current.id}: {exc}") from None
        services.withdrawals.failed(current.id, explain(exc).en)
        _record(services, current.approved_by, "withdrawn", _about(current, failed(exc)), "button")
    else:
        withdrawn = Amounts(result.points, tuple(sorted(result.cash, key=lambda c: c.currency)))
        services.withdrawals.withdrawn(current.id, result.trans_time, withdrawn)
        paid = {"order": result.order_id, **_amounts(withdrawn)}
        act = _about(current, Act("ok", f"order {result.order_id}", paid))
        _record(services, current.approved_by, "withdrawn", act, "button")
        _after_withdrawal(services, current.account_id, withdrawn)
    # Patch the request card once the approving press has been answered.
    due = current.approved_at + AFTER_ANSWER - utcnow() if current.approved_at else None
    services.inbox.enqueue(
        SHOW,
        {"id": current.id},
        key=f"{current.id}:result",
        delay=due if due and due.total_seconds() > 0 else None,
    )


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


def show(services: Services, event_id: str, payload: dict) -> None:
    """Bring the request card up to date (receipt, failure, expiry)."""
    current = services.withdrawals.get(payload["id"])
    if current is None or not current.message_id:
        return
    try:
        services.messenger.update_card(current.message_id, card_of(services, current))
    except OpenApiError as exc:
        if exc.transient:
            raise RetryLater(f"could not update withdrawal card #{current.id}: {exc}") from None
        raise GiveUp(f"withdrawal card #{current.id} cannot be updated: {exc}") from None


def expire(services: Services, event_id: str, payload: dict) -> None:
    """Due 24 h after the request: expire it if nobody decided, and say so on its card."""
    current = services.withdrawals.get(payload["id"])
    if current is None or current.state is not State.REQUESTED:
        return
    if current.expires_at > utcnow():  # not yet (the clock moved): look again then
        services.inbox.enqueue(EXPIRE, {"id": current.id}, delay=current.expires_at - utcnow())
        return
    if expire_now(services, current):
        show(services, event_id, payload)


INTERNAL_ROUTES = {FINISH: finish, EXPIRE: expire, SHOW: show}


def resume_unfinished(services: Services) -> int:
    """At start: approved requests whose withdraw is not queued (a database from before the
    queueing, say) are queued again; the order id keeps it single."""
    count = 0
    for pending in services.withdrawals.approved_unfinished():
        if services.inbox.enqueue(FINISH, {"id": pending.id}, key=str(pending.id)):
            count += 1
    return count
