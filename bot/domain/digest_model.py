"""What a status digest says, as plain data: totals of a set of accounts and what changed since
the previous digest. Pure functions, no I/O; `cards/digest.py` renders these."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.domain.accounts import Account, AccountStatus, Cash


@dataclass(frozen=True)
class Totals:
    """Sums over the accounts fetched: points, cash per currency, enabled and disabled counts."""

    points: int = 0
    cash: tuple[Cash, ...] = ()
    enabled: int = 0
    disabled: int = 0


@dataclass(frozen=True)
class Change:
    """How one account differs from its previous snapshot (`before` is None for a new one)."""

    after: Account
    before: Account | None = None
    points_delta: int = 0
    cash_delta: tuple[Cash, ...] = ()

    @property
    def account_id(self) -> str:
        return self.after.account_id

    @property
    def is_new(self) -> bool:
        return self.before is None

    @property
    def status_changed(self) -> bool:
        return self.before is not None and self.before.status != self.after.status

    @property
    def balance_changed(self) -> bool:
        return bool(self.points_delta) or bool(self.cash_delta)

    @property
    def rank(self) -> int:
        """Order of importance in the digest: status changes, then balance changes, then new."""
        if self.status_changed:
            return 0
        if self.balance_changed:
            return 1
        return 2


def totals(accounts: Iterable[Account]) -> Totals:
    points = enabled = disabled = 0
    cash: dict[str, Decimal] = {}
    for account in accounts:
        points += account.points
        if account.status is AccountStatus.ENABLED:
            enabled += 1
        else:
            disabled += 1
        for item in account.cash:
            cash[item.currency] = cash.get(item.currency, Decimal(0)) + item.amount
    return Totals(
        points=points,
        cash=tuple(Cash(cur, amount) for cur, amount in sorted(cash.items())),
        enabled=enabled,
        disabled=disabled,
    )


def cash_delta(before: Sequence[Cash], after: Sequence[Cash]) -> tuple[Cash, ...]:
    """Per currency, after minus before; a currency that vanished counts as its whole amount
    going; unchanged currencies are left out."""
    old = _by_currency(before)
    new = _by_currency(after)
    deltas = []
    for currency in sorted(old.keys() | new.keys()):
        delta = new.get(currency, Decimal(0)) - old.get(currency, Decimal(0))
        if delta:
            deltas.append(Cash(currency, delta))
    return tuple(deltas)


def changes(
    previous: Mapping[str, Account], current: Iterable[Account], *, first: bool = False
) -> list[Change]:
    """Every account of `current` that is new or differs from `previous`, most important first.

    With `first` (no digest ever ran) nothing counts as new: every account would be, and the
    list would only repeat the totals.
    """
    found: list[Change] = []
    for account in current:
        before = previous.get(account.account_id)
        if before is None:
            if not first:
                found.append(Change(after=account))
            continue
        change = Change(
            after=account,
            before=before,
            points_delta=account.points - before.points,
            cash_delta=cash_delta(before.cash, account.cash),
        )
        if change.status_changed or change.balance_changed:
            found.append(change)
    found.sort(key=lambda c: (c.rank, c.account_id))
    return found


def _by_currency(items: Sequence[Cash]) -> dict[str, Decimal]:
    result: dict[str, Decimal] = {}
    for item in items:
        result[item.currency] = result.get(item.currency, Decimal(0)) + item.amount
    return result
