"""crontab_trigger reads a crontab as cron does: weekdays from Sunday, and either day field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ConfigError, load_settings
from bot.scheduler import crontab_trigger, latest_fire_time

SHANGHAI = "Asia/Shanghai"
# Sunday 1 November 2026, 00:00 in Shanghai.
START = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)


def fires(crontab: str, count: int, start: datetime = START) -> list[str]:
    """The next `count` fire times after `start`, as Shanghai dates with their weekday."""
    trigger = crontab_trigger(crontab, SHANGHAI)
    found: list[str] = []
    moment = None
    for _ in range(count):
        moment = trigger.get_next_fire_time(
            moment, moment + timedelta(seconds=1) if moment else start
        )
        assert moment is not None
        found.append(moment.strftime("%a %d %b %H:%M"))
    return found


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    # 13 November 2026 is a Friday, 13 December a Sunday.
    assert fires("0 9 13 * 5", 8) == [
        "Fri 06 Nov 09:00",
        "Fri 13 Nov 09:00",
        "Fri 20 Nov 09:00",
        "Fri 27 Nov 09:00",
        "Fri 04 Dec 09:00",
        "Fri 11 Dec 09:00",
        "Sun 13 Dec 09:00",
        "Fri 18 Dec 09:00",
    ]


def test_weekday_ranges_and_lists_combine_with_a_day_list() -> None:
    assert fires("30 8 1,15 * mon", 5) == [
        "Sun 01 Nov 08:30",
        "Mon 02 Nov 08:30",
        "Mon 09 Nov 08:30",
        "Sun 15 Nov 08:30",
        "Mon 16 Nov 08:30",
    ]
    # Numbers count from Sunday on this path too: 6-7 is Saturday and Sunday.
    assert fires("0 9 10 * 6-7", 4) == [
        "Sun 01 Nov 09:00",
        "Sat 07 Nov 09:00",
        "Sun 08 Nov 09:00",
        "Tue 10 Nov 09:00",
    ]


def test_one_restricted_day_field_is_unchanged() -> None:
    assert fires("0 9 1 * *", 3) == ["Sun 01 Nov 09:00", "Tue 01 Dec 09:00", "Fri 01 Jan 09:00"]
    assert fires("0 9 * * 1-5", 6) == [
        "Mon 02 Nov 09:00",
        "Tue 03 Nov 09:00",
        "Wed 04 Nov 09:00",
        "Thu 05 Nov 09:00",
        "Fri 06 Nov 09:00",
        "Mon 09 Nov 09:00",
    ]


def test_a_field_starting_with_a_star_counts_as_unrestricted() -> None:
    # As in vixie cron, "*/2" is a star: both fields must match (odd days that are Mondays).
    assert fires("0 9 */2 * 1", 3) == ["Mon 09 Nov 09:00", "Mon 23 Nov 09:00", "Mon 07 Dec 09:00"]


def test_latest_fire_time_with_either_day_field() -> None:
    trigger = crontab_trigger("0 9 13 * 5", SHANGHAI)
    sunday_13_dec_10 = datetime(2026, 12, 13, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    fired = latest_fire_time(trigger, sunday_13_dec_10, timedelta(hours=2))
    assert fired == datetime(2026, 12, 13, 1, 0, tzinfo=UTC)
    friday_10 = datetime(2026, 12, 11, 2, 0, tzinfo=UTC)
    assert latest_fire_time(trigger, friday_10, timedelta(hours=2)) == datetime(
        2026, 12, 11, 1, 0, tzinfo=UTC
    )
    saturday_10 = datetime(2026, 12, 12, 2, 0, tzinfo=UTC)
    assert latest_fire_time(trigger, saturday_10, timedelta(hours=2)) is None


@pytest.mark.parametrize(
    "crontab", ["0 9 * *", "0 9 13 * 9", "0 9 32 * 5", "0 25 13 * 5", "0 9 13 * 1-9", "x 9 * * *"]
)
def test_a_bad_crontab_raises_value_error(crontab: str) -> None:
    with pytest.raises(ValueError):
        crontab_trigger(crontab, SHANGHAI)


def test_settings_accept_both_day_fields_and_refuse_a_bad_one() -> None:
    required = {
        "LARK_APP_ID": "cli_1",
        "LARK_APP_SECRET": "secret",
        "LARK_VERIFICATION_TOKEN": "vt",
        "LARK_ENCRYPT_KEY": "ek",
        "REFERRAL_BOT_CONFIG": "",
    }
    settings = load_settings(None, required | {"REFERRAL_BOT_DIGEST_CRON": "0 9 13 * 5"})
    assert settings.digest_cron == "0 9 13 * 5"
    with pytest.raises(ConfigError, match="REFERRAL_BOT_DIGEST_CRON"):
        load_settings(None, required | {"REFERRAL_BOT_DIGEST_CRON": "0 9 32 * 5"})
