"""A reward request as a small state machine, and what an amount may be. Pure.

    requested ──approve──▶ approved ──▶ rewarded
        │                     ├───────▶ failed   (Feishu refused it, certainly not imported)
        │                     └───────▶ uncertain ──▶ rewarded | failed (tried again, same id)
        ├──cancel──▶ cancelled
        └──24 h────▶ expired

Who may decide is the withdrawals' rule (`bot.domain.withdrawals.Policy`). The `external_id`
that makes the import idempotent is chosen when the request moves to "approved", in the same
transaction that queues the import, and every retry (a lost answer, a restart) sends that id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from bot.domain.accounts import CENT


class State(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REWARDED = "rewarded"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


TRANSITIONS: dict[State, frozenset[State]] = {
    State.REQUESTED: frozenset({State.APPROVED, State.CANCELLED, State.EXPIRED}),
    State.APPROVED: frozenset({State.REWARDED, State.FAILED, State.UNCERTAIN}),
    State.UNCERTAIN: frozenset({State.REWARDED, State.FAILED}),
    State.REWARDED: frozenset(),
    State.FAILED: frozenset(),
    State.CANCELLED: frozenset(),
    State.EXPIRED: frozenset(),
}
FINAL = frozenset(state for state, onward in TRANSITIONS.items() if not onward)


def can_move(current: State, to: State) -> bool:
    return to in TRANSITIONS[current]


# `rule_type` of external_referral_rewards: 1 onboarding (a hire), 5 other.
RULE_HIRED, RULE_OTHER = 1, 5
# `stage`: 2 confirmed (1 would wait for an admin in Hire; the bot's approval is that admin's).
CONFIRMED = 2
POINTS = "points"
# The currencies Feishu Hire lists for referral bonuses (its currency enum); a code outside
# these is refused before any call.
CURRENCIES = frozenset(
    {"CNY", "USD", "HKD", "EUR", "GBP", "JPY", "SGD", "TWD", "MOP", "AUD", "CAD", "KRW", "INR"}
)
MAX_POINTS = 10_000_000
MAX_CASH = Decimal("10000000")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


@dataclass(frozen=True)
class Amount:
    """Whole points (`unit` "points") or cash with two decimals in a currency."""

    unit: str  # "points" or a currency code
    value: Decimal

    @property
    def points(self) -> int:
        return int(self.value) if self.unit == POINTS else 0

    @property
    def is_points(self) -> bool:
        return self.unit == POINTS


class BadAmount(ValueError):
    """Why an amount is refused, in words for the person: (en, zh)."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.en, self.zh = en, zh


def parse_amount(amount: str, unit: str) -> Amount:
    """`"2000", "points"` or `"3000.5", "cny"`; BadAmount for anything else."""
    text = amount.strip().replace(",", "")
    word = unit.strip()
    unit_word = POINTS if word.lower() in (POINTS, "point", "积分") else word.upper()
    if not _NUMBER.match(text):
        raise BadAmount(f"'{amount}' is not an amount.", f"“{amount}” 不是有效金额。")
    value = Decimal(text)
    if value <= 0:
        raise BadAmount("The amount must be more than zero.", "金额必须大于零。")
    if unit_word == POINTS:
        if value != value.to_integral_value():
            raise BadAmount("Points are whole numbers.", "积分须为整数。")
        if value > MAX_POINTS:
            raise BadAmount("That is more points than a reward can be.", "积分超出上限。")
        return Amount(POINTS, Decimal(int(value)))
    if unit_word not in CURRENCIES:
        raise BadAmount(
            f"'{unit}' is not a currency Feishu Hire takes: use points or one of "
            f"{', '.join(sorted(CURRENCIES))}.",
            f"“{unit}” 不是飞书招聘支持的币种：请用 points 或 {', '.join(sorted(CURRENCIES))}。",
        )
    try:
        cents = value.quantize(CENT)
    except InvalidOperation:
        raise BadAmount("That amount is too large.", "金额过大。") from None
    if cents != value:
        raise BadAmount("Cash has at most two decimals.", "现金金额最多两位小数。")
    if value > MAX_CASH:
        raise BadAmount("That amount is too large.", "金额过大。")
    return Amount(unit_word, cents)


def parse_default(text: str | None) -> Amount | None:
    """REFERRAL_BOT_DEFAULT_REWARD: "2000 points" or "CNY 3000"; None when unset."""
    if not text or not text.strip():
        return None
    first, _, second = text.strip().partition(" ")
    second = second.strip()
    if first.replace(",", "").replace(".", "").isdigit():
        return parse_amount(first, second)
    return parse_amount(second, first)


@dataclass(frozen=True)
class Reward:
    id: int
    account_id: str | None
    referrer_open_id: str
    amount: Amount
    reason: str
    state: State
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    application_id: str | None = None
    job_id: str | None = None
    chat_id: str | None = None
    message_id: str | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    external_id: str | None = None
    reward_id: str | None = None  # Feishu's id of the imported reward
    decided_by: str | None = None
    error: str | None = None
    balance_points: int | None = None  # read back after the import
    balance_cash: str | None = None  # JSON [[currency, amount]], read back after the import
    # 1 for a hire (the Reward form of a hired card), 5 otherwise.
    rule_type: int = RULE_OTHER

    @property
    def waiting(self) -> bool:
        """Waiting for a decision (the approval rule asks)."""
        return self.state is State.REQUESTED

    @property
    def for_hire(self) -> bool:
        return self.rule_type == RULE_HIRED
