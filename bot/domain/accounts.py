"""The referral account as the bot understands it: plain data, no I/O.

The gateway turns Open API answers into these; the store persists them; `cards/` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import IntEnum

CENT = Decimal("0.01")


class AccountStatus(IntEnum):
    """Status codes of the Open API: 1 enabled, 2 disabled."""

    ENABLED = 1
    DISABLED = 2


@dataclass(frozen=True)
class Cash:
    """An amount of one currency, always held to two decimals."""

    currency: str
    amount: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_cents(self.amount))


@dataclass(frozen=True)
class Referrer:
    """The employee an account belongs to, as get_account_assets reports them."""

    id: str | None = None
    name_zh: str | None = None
    name_en: str | None = None
    email: str | None = None
    mobile: str | None = None


@dataclass(frozen=True)
class Account:
    """One referral account with its confirmed balance."""

    account_id: str
    status: AccountStatus
    points: int = 0
    cash: tuple[Cash, ...] = ()
    referrer: Referrer | None = None

    @property
    def enabled(self) -> bool:
        return self.status is AccountStatus.ENABLED


@dataclass(frozen=True)
class AccountRecord:
    """What the bot's own records know of an account: its last known state and when it was seen."""

    account_id: str
    contact: str | None = None
    registered_by: str | None = None
    account: Account | None = None
    seen_at: datetime | None = None
    version: int = 0  # grows with each change of what its card shows


def to_cents(value: Decimal | float | int | str) -> Decimal:
    """Money as the Open API means it: a float with two decimals, held exactly."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
