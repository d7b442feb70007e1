import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from card_checks import walk

from bot.domain.accounts import Account, AccountStatus, Cash
from bot.domain.digest_model import totals
from cards.chart import MAX_CHART_BYTES, MAX_CHARTS, date_labels, totals_charts
from cards.text import unescape

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


def charts(elements: list[dict]) -> list[dict]:
    return [e for e in elements if e["tag"] == "chart"]


def labelled(elements: list[dict]) -> dict[str, dict]:
    """Each chart under the English text of the markdown label just above it."""
    return {
        before["i18n_content"]["en_us"].strip("*"): element
        for before, element in zip(elements, elements[1:], strict=False)
        if element["tag"] == "chart"
    }


def rows(chart: dict) -> list[tuple[str, object]]:
    return [(v["date"], v["value"]) for v in chart["chart_spec"]["data"]["values"]]


def spec_strings(node: object) -> list[str]:
    """Every string value in a chart spec (not its keys): what a reader could see."""
    if isinstance(node, dict):
        return [s for value in node.values() for s in spec_strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in spec_strings(item)]
    return [node] if isinstance(node, str) else []


HISTORY = [
    digest(0, acc(1, 1000, CNY="3000"), acc(2, 200)),
    digest(1, acc(1, 1500, CNY="3000", USD="120"), acc(2, 200)),
    # USD paid out: its line drops to nothing rather than stopping.
    digest(2, acc(1, 1700, CNY="3300.5"), acc(2, 250, CNY="0.25")),
]


def test_points_and_each_currency_get_a_chart_of_their_own():
    elements = totals_charts(HISTORY, ZONE)

    by_unit = labelled(elements)
    assert list(by_unit) == ["Points", "CNY cash", "USD cash"]
    assert rows(by_unit["Points"]) == [("11-20", 1200), ("11-21", 1700), ("11-22", 1950)]
    assert rows(by_unit["CNY cash"]) == [("11-20", 3000), ("11-21", 3000), ("11-22", 3300.75)]
    # USD's 120 is drawn against USD alone, not against thousands of points: a line, not a
    # flat line at 0.
    assert rows(by_unit["USD cash"]) == [("11-20", 0), ("11-21", 120), ("11-22", 0)]
    for chart in charts(elements):
        spec = chart["chart_spec"]
        assert chart["aspect_ratio"] == "2:1"
        assert spec["type"] == "line" and (spec["xField"], spec["yField"]) == ("date", "value")
        assert "seriesField" not in spec and spec["legends"] == {"visible": False}
    assert len({c["element_id"] for c in charts(elements)}) == 3


def test_the_words_are_in_the_readers_language_and_none_inside_the_charts():
    elements = totals_charts(HISTORY, ZONE)

    texts = [e for e in elements if e["tag"] == "markdown"]
    # What the reader sees: the markdown's escapes shown as characters. The dates' zone is
    # named once, in the digest card's footer, not here.
    seen = [{k: unescape(v) for k, v in t["i18n_content"].items()} for t in texts]
    assert seen == [
        {
            "en_us": "Totals of the last 3 scheduled digests",
            "zh_cn": "近 3 份定时摘要的合计",
        },
        {"en_us": "**Points**", "zh_cn": "**积分**"},
        {"en_us": "**CNY cash**", "zh_cn": "**CNY 现金**"},
        {"en_us": "**USD cash**", "zh_cn": "**USD 现金**"},
    ]
    # Not both side by side: each reader gets one language.
    assert all("积分" not in t["i18n_content"]["en_us"] for t in texts)
    # A chart spec has no per-language variant: it holds no words, only dates and numbers.
    for chart in charts(elements):
        spec = chart["chart_spec"]
        assert "title" not in spec and "axes" not in spec
        words = {s for s in spec_strings(spec) if not re.fullmatch(r"[\d: -]+", s)}
        assert words == {"line", "date", "value"}


def test_on_demand_the_last_point_is_now_after_the_scheduled_digests():
    elements = totals_charts(HISTORY, ZONE, scheduled=False)
    intro = {k: unescape(v) for k, v in elements[0]["i18n_content"].items()}
    assert intro["en_us"] == "Totals of the last 2 scheduled digests and now"
    assert intro["zh_cn"] == "近 2 份定时摘要及此刻的合计"


def test_the_spec_is_plain_json_data_without_functions():
    history = [digest(d, acc(1, 100 * d, CNY=f"{d}.5")) for d in range(5)]
    elements = totals_charts(history, ZONE)
    assert json.loads(json.dumps(elements)) == elements
    text = json.dumps(elements)
    assert "function" not in text and "=>" not in text
    for node in walk(elements):
        assert all(not callable(v) for v in node.values())


def test_fewer_than_two_digests_draw_no_chart():
    assert totals_charts([], ZONE) == []
    assert totals_charts([digest(0, acc(1, 5))], ZONE) == []


def test_dates_are_local_to_the_zone_and_as_long_as_needed_to_differ():
    # 17:00 UTC on the 20th is already the 21st in Shanghai.
    late = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    assert date_labels([late, late + timedelta(days=1)], ZONE) == ["11-21", "11-22"]
    assert date_labels([late, late + timedelta(days=1)], "UTC") == ["11-20", "11-21"]
    # Two digests on one day tell their times apart; a year apart, their years.
    assert date_labels([late, late + timedelta(hours=2)], ZONE) == ["11-21 01:00", "11-21 03:00"]
    year = late + timedelta(days=365)
    assert date_labels([late, year], ZONE) == ["2026-11-21", "2027-11-21"]
    # Two in one minute (a digest asked for right after the scheduled one), their seconds.
    close = [late, late + timedelta(seconds=20)]
    assert date_labels(close, ZONE) == ["11-21 01:00:00", "11-21 01:00:20"]


def test_thirty_digests_in_many_currencies_stay_in_five_charts_and_the_budget():
    currencies = ["AUD", "CAD", "CNY", "EUR", "GBP", "HKD", "JPY", "SGD", "USD"]
    history = [
        digest(d, acc(1, 1000 + d, **{c: f"{1000 + d}.12" for c in currencies})) for d in range(30)
    ]
    elements = totals_charts(history, ZONE)
    assert len(json.dumps(elements).encode()) <= MAX_CHART_BYTES
    assert len(charts(elements)) == MAX_CHARTS == 5
    assert list(labelled(elements)) == ["Points", "AUD cash", "CAD cash", "CNY cash", "EUR cash"]
    intro = unescape(elements[0]["i18n_content"]["en_us"])
    assert "Not charted (five charts a card): GBP, HKD, JPY, SGD, USD" in intro
    # A tighter budget drops the oldest digests first, from every chart alike.
    tight = totals_charts(history, ZONE, max_bytes=4000)
    assert len(json.dumps(tight).encode()) <= 4000
    dates = [date for date, _ in rows(charts(tight)[0])]
    assert 2 <= len(dates) < 30
    assert dates[-1] == "12-19"  # the newest digest is always there
    assert all([d for d, _ in rows(chart)] == dates for chart in charts(tight))
    assert f"the last {len(dates)} scheduled digests" in tight[0]["i18n_content"]["en_us"]
