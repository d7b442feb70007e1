"""Money and points as every card writes them: the one place for their format.

- An amount: the currency, a space, thousands separators and two decimals: "CNY 3,000.00".
- A change carries its sign before everything, ASCII "+" or "-": "+CNY 450.00", "-USD 1.50",
  "+1,200 points", "-300 积分". A balance has no sign.
- Cash shows only the currencies that hold something. An account whose cash is all zero, or that
  never had any, says "no cash" / "无现金" in its place: an emptied account and one that never
  had cash read the same, since for the reader they are the same.
- Points always show, with the English noun that fits the count: "1 point", "0 points".
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.accounts import Cash
from cards.text import Text, join, plural

NO_CASH = Text("no cash", "无现金")
NO_CHANGE = Text("no change", "无变化")
NOTHING = Text("nothing", "无")
SEP = " · "


def format_cash(cash: Cash) -> str:
    """`Cash("CNY", Decimal("1234.5"))` -> "CNY 1,234.50"; a negative amount "-CNY 1.50"."""
    sign = "-" if cash.amount < 0 else ""
    return f"{sign}{cash.currency} {abs(cash.amount):,.2f}"


def signed_cash(cash: Cash) -> str:
    """A change of cash: "+CNY 450.00", "-USD 1.50"."""
    return format_cash(cash) if cash.amount < 0 else f"+{format_cash(cash)}"


def format_points(points: int) -> str:
    """1200 -> "1,200"; -300 -> "-300"."""
    return f"{points:,}"


def points_text(points: int, *, signed: bool = False) -> Text:
    """ "1,200 points" / "1,200 积分"; `signed` for a change: "+1,200 points"."""
    shown = f"{points:+,}" if signed else format_points(points)
    return Text(plural(points, "point", shown=shown), f"{shown} 积分")


def cash_text(cash: Iterable[Cash], *, empty: Text = NO_CASH) -> Text:
    """The currencies that hold something, "CNY 3,000.00 · USD 12.50"; `empty` when none do."""
    held = [Text.same(format_cash(c)) for c in cash if c.amount]
    return join(held, SEP) if held else empty


def balance_text(points: int, cash: Iterable[Cash]) -> Text:
    """ "1,200 points · CNY 3,000.00", or "0 points · no cash"."""
    return points_text(points) + Text.markup(SEP) + cash_text(cash)


def change_text(points_delta: int, cash_delta: Iterable[Cash], *, empty: Text = NO_CHANGE) -> Text:
    """ "+100 points · +CNY 50.00 · -USD 1.50"; `empty` when nothing moved."""
    parts = [points_text(points_delta, signed=True)] if points_delta else []
    parts += [Text.same(signed_cash(c)) for c in cash_delta if c.amount]
    return join(parts, SEP) if parts else empty


def amounts_text(points: int, cash: Iterable[Cash]) -> Text:
    """What is paid out: "1,200 points · CNY 300.00", only what is there; "nothing" if none."""
    parts = [points_text(points)] if points else []
    parts += [Text.same(format_cash(c)) for c in cash if c.amount]
    return join(parts, SEP) if parts else NOTHING
