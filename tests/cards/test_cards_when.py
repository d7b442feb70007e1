from datetime import UTC, datetime, timedelta, timezone

from cards.text import Text
from cards.when import ago

NOW = datetime(2026, 11, 21, 9, 5, tzinfo=UTC)


# stamp and seen are in the table of every format, tests/cards/test_formats.py.


def test_ago_is_independent_of_the_zone() -> None:
    cst = timezone(timedelta(hours=8))
    assert ago(datetime(2026, 11, 21, 17, 0, tzinfo=cst), NOW) == Text("5 min ago", "5 分钟前")
    assert ago(NOW + timedelta(minutes=3), NOW) == Text("just now", "刚刚")
