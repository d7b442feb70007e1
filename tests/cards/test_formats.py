"""Every way a card writes money, a sign, a time, a zone or a count, in one table: what each
format gives in English and in Chinese. A card writes these only through `cards/money.py`,
`cards/when.py` and `cards.text.plural`, so this table is how every card reads."""

# ruff: noqa: E501  (a table reads best one row a line)

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.domain.accounts import Cash
from cards.money import (
    amounts_text,
    balance_text,
    cash_text,
    change_text,
    format_cash,
    format_points,
    points_text,
    signed_cash,
)
from cards.text import Text, plural
from cards.when import seen, stamp, zone_note

NOW = datetime(2026, 11, 21, 9, 5, tzinfo=UTC)
CNY = Cash("CNY", Decimal("3000"))
USD = Cash("USD", Decimal("12.5"))
ZERO = (Cash("CNY", Decimal(0)), Cash("USD", Decimal(0)))


def both(value: str | Text) -> tuple[str, str]:
    """What a reader sees in English and in Chinese (a plain format is the same in both)."""
    return (value.en, value.zh) if isinstance(value, Text) else (value, value)


# (what, the format applied, English, Chinese)
FORMATS: list[tuple[str, Callable[[], str | Text], str, str]] = [
    # money: the currency, thousands separators, two decimals
    ("money", lambda: format_cash(CNY), "CNY 3,000.00", "CNY 3,000.00"),
    ("money, cents", lambda: format_cash(Cash("CNY", Decimal("1234.5"))), "CNY 1,234.50", "CNY 1,234.50"),
    ("money, millions", lambda: format_cash(Cash("USD", Decimal("1234567.891"))), "USD 1,234,567.89", "USD 1,234,567.89"),
    ("money, negative", lambda: format_cash(Cash("USD", Decimal("-1.5"))), "-USD 1.50", "-USD 1.50"),
    ("cash, several", lambda: cash_text((CNY, USD)), "CNY 3,000.00 · USD 12.50", "CNY 3,000.00 · USD 12.50"),
    ("cash, never had any", lambda: cash_text(()), "no cash", "无现金"),
    ("cash, emptied", lambda: cash_text(ZERO), "no cash", "无现金"),
    ("cash, one emptied", lambda: cash_text((ZERO[0], USD)), "USD 12.50", "USD 12.50"),
    # points
    ("points", lambda: format_points(1200), "1,200", "1,200"),
    ("points, text", lambda: points_text(1200), "1,200 points", "1,200 积分"),
    ("points, one", lambda: points_text(1), "1 point", "1 积分"),
    ("points, none", lambda: points_text(0), "0 points", "0 积分"),
    # balances: points always, then the cash or "no cash"
    ("balance", lambda: balance_text(1200, (CNY, USD)), "1,200 points · CNY 3,000.00 · USD 12.50", "1,200 积分 · CNY 3,000.00 · USD 12.50"),
    ("balance, never had cash", lambda: balance_text(5, ()), "5 points · no cash", "5 积分 · 无现金"),
    ("balance, emptied", lambda: balance_text(0, ZERO), "0 points · no cash", "0 积分 · 无现金"),
    ("paid out", lambda: amounts_text(0, (CNY,)), "CNY 3,000.00", "CNY 3,000.00"),
    ("paid out, nothing", lambda: amounts_text(0, ZERO), "nothing", "无"),
    # sign: before everything, ASCII + and -
    ("sign, cash up", lambda: signed_cash(Cash("CNY", Decimal("450"))), "+CNY 450.00", "+CNY 450.00"),
    ("sign, cash down", lambda: signed_cash(Cash("USD", Decimal("-1.5"))), "-USD 1.50", "-USD 1.50"),
    ("sign, points up", lambda: points_text(1200, signed=True), "+1,200 points", "+1,200 积分"),
    ("sign, points down", lambda: points_text(-1, signed=True), "-1 point", "-1 积分"),
    ("sign, a change", lambda: change_text(100, (Cash("CNY", Decimal("50")), Cash("USD", Decimal("-1.5")))), "+100 points · +CNY 50.00 · -USD 1.50", "+100 积分 · +CNY 50.00 · -USD 1.50"),
    ("sign, no change", lambda: change_text(0, ()), "no change", "无变化"),
    # time: local to the configured zone, which is named once per card, not after every time
    ("time", lambda: stamp(datetime(2026, 11, 21, 9, 0, tzinfo=UTC), "Asia/Shanghai"), "2026-11-21 17:00", "2026-11-21 17:00"),
    ("time, next day", lambda: stamp(datetime(2026, 11, 21, 20, 0, tzinfo=UTC), "Asia/Shanghai"), "2026-11-22 04:00", "2026-11-22 04:00"),
    ("time, naive is UTC", lambda: stamp(datetime(2026, 11, 21, 9, 0), "Asia/Shanghai"), "2026-11-21 17:00", "2026-11-21 17:00"),
    ("time, from another zone", lambda: stamp(datetime(2026, 11, 21, 17, 0, tzinfo=timezone(timedelta(hours=8))), "UTC"), "2026-11-21 09:00", "2026-11-21 09:00"),
    # Summer and winter time follow the date shown, not today's offset.
    ("time, summer", lambda: stamp(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "Europe/Berlin"), "2026-07-01 14:00", "2026-07-01 14:00"),
    ("time, winter", lambda: stamp(datetime(2026, 1, 1, 12, 0, tzinfo=UTC), "Europe/Berlin"), "2026-01-01 13:00", "2026-01-01 13:00"),
    ("time, seen", lambda: seen(NOW - timedelta(minutes=5), NOW, zone="Asia/Shanghai"), "seen 5 min ago · 2026-11-21 17:00", "5 分钟前查询 · 2026-11-21 17:00"),
    ("zone", lambda: zone_note("Asia/Shanghai"), "Times in Asia/Shanghai", "时间均为 Asia/Shanghai 时区"),
    # plural: the English noun that fits the count, the count with separators
    ("plural, one", lambda: plural(1, "account"), "1 account", "1 account"),
    ("plural, none", lambda: plural(0, "account"), "0 accounts", "0 accounts"),
    ("plural, many", lambda: plural(1500, "account"), "1,500 accounts", "1,500 accounts"),
    ("plural, minus one", lambda: plural(-1, "point"), "-1 point", "-1 point"),
    ("plural, irregular", lambda: plural(2, "entry", "entries"), "2 entries", "2 entries"),
    ("plural, as shown", lambda: plural(1200, "point", shown="+1,200"), "+1,200 points", "+1,200 points"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "made", "en", "zh"), FORMATS, ids=[f[0] for f in FORMATS])
def test_format(what: str, made: Callable[[], str | Text], en: str, zh: str) -> None:
    assert both(made()) == (en, zh)


def test_the_table_has_every_kind_of_format() -> None:
    kinds = {what.split(",")[0] for what, *_ in FORMATS}
    assert {"money", "cash", "points", "balance", "sign", "time", "zone", "plural"} <= kinds
