"""The pure core: totals and what changed between two snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.domain.accounts import Account, AccountStatus, Cash
from bot.domain.digest_model import cash_delta, changes, totals
from bot.scheduler import crontab_trigger, latest_fire_time

ON, OFF = AccountStatus.ENABLED, AccountStatus.DISABLED


def acc(account_id: str, status=ON, points=0, **cash: str) -> Account:
    return Account(account_id, status, points, tuple(Cash(k, Decimal(v)) for k, v in cash.items()))


def test_totals_sum_points_and_cash_per_currency():
    result = totals([acc("1", points=100, CNY="1.5"), acc("2", OFF, 20, CNY="2", USD="3")])
    assert result.points == 120
    assert result.cash == (Cash("CNY", Decimal("3.5")), Cash("USD", Decimal("3")))
    assert (result.enabled, result.disabled) == (1, 1)
    assert totals([]).cash == () and totals([]).points == 0


def test_cash_delta_per_currency_including_vanished():
    before = (Cash("CNY", Decimal("10")), Cash("USD", Decimal("5")))
    after = (Cash("CNY", Decimal("60")), Cash("EUR", Decimal("1")))
    assert cash_delta(before, after) == (
        Cash("CNY", Decimal("50")),
        Cash("EUR", Decimal("1")),
        Cash("USD", Decimal("-5")),
    )
    assert cash_delta(before, before) == ()


def test_changes_find_new_status_and_balance_most_important_first():
    previous = {"1": acc("1", points=10), "2": acc("2"), "3": acc("3", CNY="1")}
    current = [acc("4"), acc("3", CNY="1"), acc("1", points=110), acc("2", OFF)]
    found = changes(previous, current)
    assert [c.account_id for c in found] == ["2", "1", "4"]
    status, balance, new = found
    assert status.status_changed and not status.balance_changed
    assert balance.points_delta == 100 and balance.cash_delta == ()
    assert new.is_new and new.before is None


def test_status_and_balance_change_together():
    (change,) = changes({"1": acc("1", OFF, 5)}, [acc("1", ON, 3, CNY="2")])
    assert change.status_changed and change.points_delta == -2
    assert change.cash_delta == (Cash("CNY", Decimal("2")),)
    assert change.rank == 0


def test_first_digest_lists_nobody_as_new():
    assert changes({}, [acc("1"), acc("2")], first=True) == []
    assert [c.account_id for c in changes({}, [acc("1")])] == ["1"]


def test_latest_fire_time_within_the_lookback():
    trigger = crontab_trigger("0 9 * * 1-5", "Asia/Shanghai")
    monday_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    fired = latest_fire_time(trigger, monday_10, timedelta(hours=2))
    assert fired == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert latest_fire_time(trigger, monday_10, timedelta(minutes=30)) is None
    saturday = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    assert latest_fire_time(trigger, saturday, timedelta(hours=2)) is None


def test_crontab_weekdays_count_from_sunday():
    shanghai = "Asia/Shanghai"
    sunday = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
    fires = []
    moment = None
    trigger = crontab_trigger("0 9 * * 1-5", shanghai)
    for _ in range(6):
        moment = trigger.get_next_fire_time(moment, moment or sunday)
        fires.append(moment.strftime("%a"))
    assert fires == ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon"]
    assert crontab_trigger("0 9 * * 0", shanghai).get_next_fire_time(None, sunday).weekday() == 6
    assert crontab_trigger("0 9 * * 7", shanghai).get_next_fire_time(None, sunday).weekday() == 6
    every_other = crontab_trigger("0 9 * * */2", shanghai)  # Sun, Tue, Thu, Sat
    assert {
        every_other.get_next_fire_time(None, sunday + timedelta(days=d)).strftime("%a")
        for d in range(7)
    } == {"Sun", "Tue", "Thu", "Sat"}
    named = crontab_trigger("30 8 * * mon,fri", shanghai).get_next_fire_time(None, sunday)
    assert named.strftime("%a %H:%M") == "Mon 08:30"
