"""What a reward leaves for people to see: its card, kept up to date where it was asked for, and
its audit entries."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.rewards import Reward
from bot.records.rewards import balance_cash
from bot.records.store import utcnow
from cards.rewards import reward_card
from cards.text import Text
from handlers import audit_trail
from handlers.audit_trail import Act
from handlers.registry import job
from handlers.services import Services

SHOW = "bot.show_reward"
# The card is patched only after the approving press's own answer has surely reached Feishu.
AFTER_ANSWER = timedelta(seconds=3)


def card_of(services: Services, reward: Reward, notice: Text | None = None) -> dict:
    referral = services.referrals.get(reward.application_id) if reward.application_id else None
    balance = None
    if reward.balance_points is not None:
        balance = (reward.balance_points, balance_cash(reward))
    return reward_card(
        reward,
        zone=services.settings.digest_tz,
        referral=referral,
        balance=balance,
        notice=notice,
    )


def amount_facts(reward: Reward) -> dict[str, object]:
    if reward.amount.is_points:
        return {"points": reward.amount.points, "cash": []}
    return {"points": 0, "cash": [[reward.amount.unit, f"{reward.amount.value:.2f}"]]}


def about(reward: Reward, act: Act) -> Act:
    """The act with the reward's number, amount and account."""
    detail = f"reward #{reward.id}" + (f": {act.detail}" if act.detail else "")
    facts = {"reward": reward.id, **amount_facts(reward), **act.facts}
    return Act(act.outcome, detail, facts, reward.account_id)


def record(services: Services, reward: Reward, act: Act, *, actor: str | None, action: str) -> None:
    """The entry of a job's act on a reward (an import, an expiry)."""
    audit_trail.record(services, about(reward, act), actor=actor, action=action, via="schedule")


@job(SHOW)
def show(services: Services, event_id: str, payload: dict) -> None:
    """Bring the reward card up to date (receipt, failure, expiry)."""
    current = services.rewards.get(payload["id"])
    if current is None or not current.message_id:
        return
    services.messenger.update_card(current.message_id, card_of(services, current))


def show_later(services: Services, reward: Reward, key: str) -> None:
    """Patch the card (once per `key`) after the approving press has been answered. Inside a
    transaction: notify afterwards."""
    due = reward.approved_at + AFTER_ANSWER - utcnow() if reward.approved_at else None
    services.inbox.enqueue(
        SHOW,
        {"id": reward.id},
        key=f"{reward.id}:{key}",
        delay=due if due and due.total_seconds() > 0 else None,
        notify=False,
    )
