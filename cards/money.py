"""Money and points as the cards show them."""

from __future__ import annotations

from bot.accounts import Cash


def format_cash(cash: Cash) -> str:
    """`Cash("CNY", Decimal("1234.5"))` -> "CNY 1,234.50"."""
    return f"{cash.currency} {cash.amount:,.2f}"


def format_points(points: int) -> str:
    """1200 -> "1,200"."""
    return f"{points:,}"
