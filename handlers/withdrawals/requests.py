"""Withdrawal requests and their approval by a second admin.

A request reads the balance and posts a card with Approve and Cancel; an account with an open
request gets that one back instead. Approving reads the balance again: an empty one closes the
request (nothing is called), a changed one asks for approval of the new amounts; otherwise the
request is approved with a new order id in the same transaction that queues the withdraw in the
inbox (`bot.finish_withdrawal`, made in `handlers/payouts.py`). The approving press waits a
moment for it so the card usually turns into the receipt at once, and otherwise the receipt is
patched in shortly after. Every request, approval, refusal, cancellation, expiry and result is
audited: a press or a command returns its `Act` for its runner to write, the jobs write theirs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar

from bot.domain.accounts import Account
from bot.domain.withdrawals import (
    Amounts,
    Kind,
    Policy,
    Refusal,
    State,
    Withdrawal,
    amounts_of,
)
from bot.feishu.openapi import OpenApiError
from bot.records.store import utcnow
from bot.records.withdrawals import TTL
from cards.text import Text
from handlers.asker import Answer
from handlers.audit_trail import Act, refused
from handlers.registry import job
from handlers.services import Services
from handlers.withdrawals import payouts
from handlers.withdrawals.trail import about, card_of, record, show

log = logging.getLogger(__name__)

Decided = TypeVar("Decided")  # a withdrawal or a reward request

EXPIRE = "bot.expire_withdrawal"
# How long an approving press waits for the withdraw to be made, inside Feishu's 3 s.
WAIT_FOR_RESULT = 1.2

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


def policy(services: Services) -> Policy:
    settings = services.settings
    return Policy(
        admins=settings.admins,
        approvers=settings.withdraw_approvers,
        self_approve=settings.withdraw_self_approve,
    )


def request(
    services: Services,
    account_id: str,
    kind: Kind,
    *,
    requested_by: str,
    chat_id: str | None,
    ttl: timedelta = TTL,
) -> Answer:
    """Read the balance and open a request for it; a plain-words answer when there is none,
    and the open request when the account has one."""
    existing = services.withdrawals.open_for(account_id)
    if existing is not None and existing.state is State.UNCERTAIN:
        existing = _settle_first(services, existing)
    if existing is not None:
        return _already_open(services, existing)
    account = services.gateway.get_assets(account_id)
    services.accounts.remember(account)
    amounts = amounts_of(account, kind)
    cannot = _cannot_withdraw(account, amounts, kind)
    if cannot is not None:
        why, text = cannot
        act = replace(refused(why, kind=kind.value), account_id=account_id)
        return Answer(text=text, kind="warning", act=act)
    created = services.withdrawals.create(
        account_id, kind, amounts, requested_by=requested_by, chat_id=chat_id, ttl=ttl
    )
    if created is None:  # another request for the account was written meanwhile
        existing = services.withdrawals.open_for(account_id)
        if existing is None:  # ... and decided already
            return Answer(
                text=Text(
                    "Another request for this account was decided just now: ask again.",
                    "该账户的另一申请刚刚已处理，请重新申请。",
                ),
                kind="warning",
                act=replace(refused("decided"), account_id=account_id),
            )
        return _already_open(services, existing)
    services.inbox.enqueue(EXPIRE, {"id": created.id}, key=str(created.id), delay=ttl)
    return Answer(
        text=Text(
            "Withdrawal requested: another admin must approve", "已申请提取，需另一位管理员批准"
        ),
        kind="success",
        card=card_of(services, created),
        withdrawal=created,
        act=about(created, Act("requested")),
    )


def _settle_first(services: Services, uncertain: Withdrawal) -> Withdrawal | None:
    """An uncertain withdrawal must be settled before another request: this balance read may
    do it. None when it did; else the withdrawal, still uncertain."""
    try:
        settled = payouts.settle_now(services, uncertain)
    except OpenApiError:  # Feishu cannot be asked now: as soon as it can
        services.inbox.enqueue(payouts.SETTLE, {"id": uncertain.id})
        return uncertain
    return settled if settled.state is State.UNCERTAIN else None


def _already_open(services: Services, existing: Withdrawal) -> Answer:
    """One open request per account: a second one is answered with the first."""
    act = about(existing, Act("already open"))
    n, account_id = existing.id, existing.account_id
    if existing.state is State.UNCERTAIN:
        text = Text(
            f"Account {account_id} has a withdrawal (#{n}) whose outcome Feishu has not "
            "confirmed, and it must be settled before another request. The bot settles it at "
            f"the next balance read or reconciliation; order `{existing.order_id}` in Feishu's "
            "console tells it too.",
            f"账户 {account_id} 有一笔提取（#{n}）尚未得到飞书确认，确认后才能再次申请。"
            "机器人会在下次读取余额或对账时确认；"
            f"也可在飞书管理后台查询订单 `{existing.order_id}`。",
        )
    else:
        text = Text(
            f"Account {account_id} already has an open withdrawal request (#{n}): it must be "
            "decided before another can be made.",
            f"账户 {account_id} 已有未完成的提取申请（#{n}），处理完毕后才能再次申请。",
        )
    card = card_of(services, existing, text)
    return Answer(text=text, kind="info", card=card, withdrawal=existing, act=act, new=False)


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
        return _refusal(services, current, current, refusal)
    account = services.gateway.get_assets(current.account_id)
    services.accounts.remember(account)
    fresh = amounts_of(account, current.kind)
    if not account.enabled:
        text = Text(
            "The account has been disabled since: it cannot withdraw", "该账户已被停用，无法提取"
        )
        act = _refused(current, "account_disabled")
        return Answer(
            text=text, kind="error", card=card_of(services, current), withdrawal=current, act=act
        )
    if fresh.empty:  # paid out elsewhere (Feishu's console) since the request: nothing to do
        _, empty = _cannot_withdraw(account, fresh, current.kind)
        if not services.withdrawals.close(withdrawal_id, empty.en):
            return _decided(services, withdrawal_id)
        closed = services.withdrawals.get(withdrawal_id)
        act = about(closed, Act("closed", "the balance is empty", {"why": "empty"}))
        text = Text(
            f"{empty.md_en} Nothing was withdrawn, and the request is closed.",
            f"{empty.md_zh}未提取任何款项，申请已关闭。",
        )
        return Answer(
            text=text,
            kind="warning",
            card=card_of(services, closed, text),
            withdrawal=closed,
            act=act,
        )
    if fresh != current.amounts:
        services.withdrawals.reask(withdrawal_id, fresh)
        reasked = services.withdrawals.get(withdrawal_id)
        act = about(reasked, Act("re-asked", "the balance changed"))
        notice = Text(
            "The balance changed since the request: check the new amounts and approve again.",
            "申请后余额已变化：请核对新的金额后再次批准。",
        )
        return Answer(
            text=notice,
            kind="warning",
            card=card_of(services, reasked, notice),
            withdrawal=reasked,
            act=act,
        )

    def queue_withdraw(order_id: str) -> None:
        services.inbox.enqueue(
            payouts.FINISH, {"id": withdrawal_id}, key=str(withdrawal_id), notify=False
        )

    order_id = services.withdrawals.approve(withdrawal_id, approver, then=queue_withdraw)
    if order_id is None:  # another approver, or a second click, was first
        return _decided(services, withdrawal_id)
    act = about(current, Act("approved", f"order {order_id}", {"order": order_id}))
    services.inbox.notify()  # the withdraw was queued in the approving transaction
    latest = wait_for_result(services.withdrawals.get, withdrawal_id)
    card = card_of(services, latest)
    if latest.state is State.WITHDRAWN:
        return Answer(
            text=Text("Withdrawn", "已提取"), kind="success", card=card, withdrawal=latest, act=act
        )
    if latest.state is State.FAILED:
        return Answer(
            text=Text("The withdrawal failed", "提取失败"),
            kind="error",
            card=card,
            withdrawal=latest,
            act=act,
        )
    if latest.state is State.UNCERTAIN:
        text = Text("Feishu did not confirm the withdrawal", "飞书未确认该提取")
        return Answer(text=text, kind="warning", card=card, withdrawal=latest, act=act)
    return Answer(
        text=Text("Approved: paying out, the receipt follows", "已批准：处理中，稍后显示回执"),
        kind="success",
        card=card,
        withdrawal=latest,
        act=act,
    )


def _decided(services: Services, withdrawal_id: int) -> Answer:
    """Another approver, or a second click, was first."""
    decided = services.withdrawals.get(withdrawal_id)
    card = card_of(services, decided)
    act = _refused(decided, Refusal.DECIDED)
    return Answer(
        text=REFUSALS[Refusal.DECIDED], kind="info", card=card, withdrawal=decided, act=act
    )


def wait_for_result(get: Callable[[int], Decided], request_id: int) -> Decided:
    """The request once its approved call is made, or as it is after `WAIT_FOR_RESULT` (an
    approving press waits this long inside Feishu's 3 s, so that its card is the receipt)."""
    deadline = time.monotonic() + WAIT_FOR_RESULT
    while True:
        latest = get(request_id)
        if latest.state != "approved" or time.monotonic() >= deadline:
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
        return _refusal(services, services.withdrawals.get(withdrawal_id), current, refusal)
    cancelled = services.withdrawals.get(withdrawal_id)
    return Answer(
        text=Text("Withdrawal request cancelled", "提取申请已取消"),
        kind="success",
        card=card_of(services, cancelled),
        withdrawal=cancelled,
        act=about(cancelled, Act("cancelled")),
    )


def _refusal(services: Services, shown: Withdrawal, asked: Withdrawal, refusal: Refusal) -> Answer:
    """A refused decision: the request as it is now (`shown`), the audit's of the one asked."""
    act = _refused(asked, refusal)
    card = card_of(services, shown)
    return Answer(card, REFUSALS[refusal], "error", withdrawal=shown, act=act)


def _refused(request: Withdrawal, refusal: Refusal | str) -> Act:
    return about(request, refused(str(refusal)))


def _no_request(withdrawal_id: int) -> Answer:
    return Answer(
        text=Text("This request no longer exists", "该申请不存在"),
        kind="error",
        act=refused("no_request", request=withdrawal_id),
    )


def expire_now(services: Services, request: Withdrawal) -> bool:
    if not services.withdrawals.expire(request.id):
        return False
    record(services, request, Act("expired"), actor=None, action="expire", via="schedule")
    return True


# --- the inbox's follow-up work ----------------------------------------------------------
@job(EXPIRE)
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
