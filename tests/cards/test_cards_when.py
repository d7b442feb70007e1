from datetime import UTC, datetime, timedelta, timezone

import pytest

from cards.text import Text
from cards.when import ago, seen, stamp

NOW = datetime(2026, 11, 21, 9, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (
            datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
            "Asia/Shanghai",
            "2026-11-21 17:00 (Asia/Shanghai)",
        ),
        (
            datetime(2026, 11, 21, 20, 0, tzinfo=UTC),
            "Asia/Shanghai",
            "2026-11-22 04:00 (Asia/Shanghai)",
        ),
        (datetime(2026, 11, 21, 9, 0), "Asia/Shanghai", "2026-11-21 17:00 (Asia/Shanghai)"),
        (
            datetime(2026, 11, 21, 17, 0, tzinfo=timezone(timedelta(hours=8))),
            "UTC",
            "2026-11-21 09:00 (UTC)",
        ),
        # Summer and winter time follow the date shown, not today's offset.
        (
            datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
            "Europe/Berlin",
            "2026-07-01 14:00 (Europe/Berlin)",
        ),
        (
            datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
            "Europe/Berlin",
            "2026-01-01 13:00 (Europe/Berlin)",
        ),
    ],
)
def test_stamp_is_local_time_with_the_zone_name(moment, zone, expected) -> None:
    assert stamp(moment, zone) == expected


def test_seen_in_both_languages() -> None:
    moment = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    assert seen(moment, NOW, zone="Asia/Shanghai") == Text(
        "seen 5 min ago · 2026-11-21 17:00 (Asia/Shanghai)",
        "5 分钟前查询 · 2026-11-21 17:00 (Asia/Shanghai)",
    )


def test_ago_is_independent_of_the_zone() -> None:
    cst = timezone(timedelta(hours=8))
    assert ago(datetime(2026, 11, 21, 17, 0, tzinfo=cst), NOW) == Text("5 min ago", "5 分钟前")
    assert ago(NOW + timedelta(minutes=3), NOW) == Text("just now", "刚刚")
