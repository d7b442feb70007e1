import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from card_checks import walk

from bot.accounts import Account, AccountStatus, Cash
from bot.digest_model import totals
from cards.chart import MAX_CHART_BYTES, date_labels, totals_chart

ZONE = "Asia/Shanghai"
# 01:00 UTC is 09:00 in Shanghai: the morning digest.
FIRST = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def digest(day: int, *accounts: Account) -> tuple[datetime, object]:
    return FIRST + timedelta(days=day), totals(accounts)


def acc(i: int, points: int, **cash: str) -> Account:
    return Account(
        f"69427781980540000{i:02d}",
        AccountStatus.ENABLED,
        points,
        tuple(Cash(cur, Decimal(amount)) for cur, amount in cash.items()),
    )


def values(element: dict) -> list[tuple[str, str, object]]:
    return [(v["date"], v["series"], v["value"]) for v in element["chart_spec"]["data"]["values"]]


def test_three_digests_chart_points_and_each_currency_in_both_languages():
    history = [
        digest(0, acc(1, 1000, CNY="3000"), acc(2, 200)),
        digest(1, acc(1, 1500, CNY="3000", USD="120"), acc(2, 200)),
        # USD paid out: its line drops to nothing rather than stopping.
        digest(2, acc(1, 1700, CNY="3300.5"), acc(2, 250, CNY="0.25")),
    ]

    element = totals_chart(history, ZONE)

    assert element is not None
    assert element["tag"] == "chart" and element["aspect_ratio"] == "16:9"
    spec = element["chart_spec"]
    assert spec["type"] == "line"
    assert (spec["xField"], spec["yField"], spec["seriesField"]) == ("date", "value", "series")
    assert spec["title"] == {
        "visible": True,
        "text": "Totals over the last 3 digests 近 3 份日报的合计",
    }
    assert spec["legends"]["visible"] is True
    axes = {axis["orient"]: axis["title"]["text"] for axis in spec["axes"]}
    assert axes == {"bottom": "Date (Asia/Shanghai) 日期（Asia/Shanghai）", "left": "Total 合计"}
    assert values(element) == [
        ("11-20", "Points 积分", 1200),
        ("11-20", "CNY cash CNY 现金", 3000),
        ("11-20", "USD cash USD 现金", 0),
        ("11-21", "Points 积分", 1700),
        ("11-21", "CNY cash CNY 现金", 3000),
        ("11-21", "USD cash USD 现金", 120),
        ("11-22", "Points 积分", 1950),
        ("11-22", "CNY cash CNY 现金", 3300.75),
        ("11-22", "USD cash USD 现金", 0),
    ]


def test_the_spec_is_plain_json_data_without_functions():
    history = [digest(d, acc(1, 100 * d, CNY=f"{d}.5")) for d in range(5)]
    element = totals_chart(history, ZONE)
    assert json.loads(json.dumps(element)) == element
    text = json.dumps(element)
    assert "function" not in text and "=>" not in text
    for node in walk(element):
        assert all(not callable(v) for v in node.values())


def test_fewer_than_two_digests_draw_no_chart():
    assert totals_chart([], ZONE) is None
    assert totals_chart([digest(0, acc(1, 5))], ZONE) is None


def test_dates_are_local_to_the_zone_and_as_long_as_needed_to_differ():
    # 17:00 UTC on the 20th is already the 21st in Shanghai.
    late = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    assert date_labels([late, late + timedelta(days=1)], ZONE) == ["11-21", "11-22"]
    assert date_labels([late, late + timedelta(days=1)], "UTC") == ["11-20", "11-21"]
    # Two digests on one day tell their times apart; a year apart, their years.
    assert date_labels([late, late + timedelta(hours=2)], ZONE) == ["11-21 01:00", "11-21 03:00"]
    year = late + timedelta(days=365)
    assert date_labels([late, year], ZONE) == ["2026-11-21", "2027-11-21"]


def test_thirty_digests_in_many_currencies_stay_in_the_chart_budget_oldest_dropped_first():
    currencies = ["AUD", "CAD", "CNY", "EUR", "GBP", "HKD", "JPY", "SGD", "USD"]
    history = [
        digest(d, acc(1, 1000 + d, **{c: f"{1000 + d}.12" for c in currencies})) for d in range(30)
    ]
    element = totals_chart(history, ZONE)
    assert element is not None
    assert len(json.dumps(element).encode()) <= MAX_CHART_BYTES
    dates = list(dict.fromkeys(date for date, _, _ in values(element)))
    assert 2 <= len(dates) < 30
    assert dates[-1] == "12-19"  # the newest digest is always there
    assert f"the last {len(dates)} digests" in element["chart_spec"]["title"]["text"]
    small = totals_chart(history[:30], ZONE, max_bytes=100_000)
    assert len({date for date, _, _ in values(small)}) == 30
