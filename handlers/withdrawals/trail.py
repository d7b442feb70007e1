"""What a withdrawal leaves for people to see, shared by its request (`requests`) and its payout
(`payouts`): its card, kept up to date in the chat where it was asked
for, and its audit entries."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.withdrawals import Amounts, Withdrawal
from bot.records.store import utcnow
from cards.text import Text
from cards.withdrawal import withdrawal_card
from handlers import audit_trail
from handlers.audit_trail import Act
from handlers.registry import job
from handlers.services import Services

SHOW = "bot.show_withdrawal"
# The card is patched only after the approving press's own answer has surely reached Feishu.
AFTER_ANSWER = timedelta(seconds=3)


def card_of(services: Services, request: Withdrawal, notice: Text | None = None) -> dict:
    record = services.accounts.get(request.account_id)
    referrer = record.account.referrer if record and record.account else None
    return withdrawal_card(
        request,
        zone=services.settings.digest_tz,
        referrer=referrer,
        contact=record.contact if record else None,
        notice=notice,
    )


def about(request: Withdrawal, act: Act) -> Act:
    """The act with the request's number, amounts and account (the act's facts win: a payout's
    amounts are what Feishu paid)."""
    detail = f"withdrawal #{request.id}" + (f": {act.detail}" if act.detail else "")
    facts = {"request": request.id, **amount_facts(request.amounts), **act.facts}
    return Act(act.outcome, detail, facts, request.account_id)


def amount_facts(amounts: Amounts) -> dict[str, object]:
    cash = [[c.currency, f"{c.amount:.2f}"] for c in amounts.cash if c.amount]
    return {"points": amounts.points, "cash": cash}


def record(
    services: Services,
    request: Withdrawal,
    act: Act,
    *,
    actor: str | None,
    action: str,
    via: str = "button",
) -> None:
    """The entry of a job's act on a request (an expiry, a payout, a settling): no runner
    stands above a job to write it."""
    audit_trail.record(services, about(request, act), actor=actor, action=action, via=via)


@job(SHOW)
def show(services: Services, event_id: str, payload: dict) -> None:
    """Bring the request card up to date (receipt, failure, expiry)."""
    current = services.withdrawals.get(payload["id"])
    if current is None or not current.message_id:
        return
    services.messenger.update_card(current.message_id, card_of(services, current))


def show_later(services: Services, request: Withdrawal, key: str) -> None:
    """Patch the request card (once per `key`) after the approving press has been answered,
    or the press's own answer would overwrite it. Inside a transaction: notify afterwards."""
    due = request.approved_at + AFTER_ANSWER - utcnow() if request.approved_at else None
    services.inbox.enqueue(
        SHOW,
        {"id": request.id},
        key=f"{request.id}:{key}",
        delay=due if due and due.total_seconds() > 0 else None,
        notify=False,
    )
