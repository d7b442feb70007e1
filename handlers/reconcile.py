"""Reconciliation: send Feishu the points withdrawn through the bot per account in a window, and
report what Feishu says does not match.

A window is whole days in the configured zone, from 00:00:00.000 of the first to 23:59:59.999 of
the last. No limit on the window is documented, so one longer than 31 days is asked for a
calendar month at a time, and at most 100 accounts go in one call. `/referral reconcile`
answers with the report (`reconcile_report`); the schedule (`ReconcileService`) posts the report
of the previous calendar month to every digest chat once per fire time across all processes
sharing the database, with the digest's leases, retries and catch-up after a restart.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from bot.config import Settings
from bot.feishu.messenger import Messenger
from bot.feishu.openapi import OpenApiError
from bot.feishu.referral import BAD_PARAMETER, Mismatch, ReferralGateway
from bot.records.reconciliations import ReconcileRecords
from bot.records.store import Database, utcnow
from bot.records.withdrawals import WithdrawalBook
from bot.scheduler import DigestSchedule, crontab_trigger
from bot.worker import Stopping
from cards.reconcile import MismatchLine, ReconcileView, reconcile_card, reconcile_failed_card
from handlers.answers import explain

log = logging.getLogger(__name__)

# A window longer than this is asked for a calendar month at a time.
MAX_DAYS = 31
# trade_details sent in one call.
MAX_DETAILS = 100
# A monthly report is still wanted the same day: a fire time missed while the bot was down is
# caught up, and a failing call or post retried, until this long after it.
GRACE = timedelta(hours=12)
# Backoff of a failed reconciliation or post, doubling up to the cap, until the grace runs out.
RETRY_FIRST = 5.0
RETRY_CAP = 300.0


@dataclass(frozen=True)
class Reconciliation:
    """What was sent for a window and what Feishu reported as not matching."""

    first_day: date
    last_day: date
    zone: str
    accounts: int
    points: int
    mismatches: tuple[MismatchLine, ...]
    calls: int

    @property
    def view(self) -> ReconcileView:
        return ReconcileView(
            self.first_day, self.last_day, self.zone, self.accounts, self.points, self.mismatches
        )


# --- windows ---------------------------------------------------------------------------------
def previous_month(day: date) -> tuple[date, date]:
    """The last full calendar month before `day`'s month: its first and last day."""
    last = day.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def window_days(
    start: date | None, end: date | None, zone: str, now: datetime | None = None
) -> tuple[date, date]:
    """The days asked for; none: the last full calendar month, as it is now in `zone`."""
    if start is not None and end is not None:
        return start, end
    today = (now or utcnow()).astimezone(ZoneInfo(zone)).date()
    return previous_month(today)


def day_bounds(first: date, last: date, zone: str) -> tuple[datetime, datetime]:
    """00:00:00.000 of `first` to 23:59:59.999 of `last` in `zone`, in UTC."""
    tz = ZoneInfo(zone)
    start = datetime.combine(first, time.min, tz)
    # The next midnight less a millisecond, so a day of 23 or 25 hours still ends at 23:59:59.999.
    end = datetime.combine(last + timedelta(days=1), time.min, tz) - timedelta(milliseconds=1)
    return start.astimezone(UTC), end.astimezone(UTC)


def split_months(first: date, last: date) -> list[tuple[date, date]]:
    """The window as it is asked for: whole, or when longer than MAX_DAYS, a part per
    calendar month."""
    if (last - first).days < MAX_DAYS:
        return [(first, last)]
    parts: list[tuple[date, date]] = []
    day = first
    while day <= last:
        next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        part_last = min(next_month - timedelta(days=1), last)
        parts.append((day, part_last))
        day = part_last + timedelta(days=1)
    return parts


def batches(points: dict[str, int], size: int = MAX_DETAILS) -> list[dict[str, int]]:
    """At most `size` accounts a call; one empty batch when there are none (Feishu is asked
    all the same: it may know of withdrawals the bot does not)."""
    items = sorted(points.items())
    return [dict(items[i : i + size]) for i in range(0, len(items), size)] or [{}]


# --- the report ------------------------------------------------------------------------------
def reconcile(
    settings: Settings,
    withdrawals: WithdrawalBook,
    gateway: ReferralGateway,
    start: date | None,
    end: date | None,
    *,
    now: datetime | None = None,
) -> Reconciliation:
    """Reconcile the window with Feishu. Raises OpenApiError (`transient` when it may pass)."""
    zone = settings.digest_tz
    first, last = window_days(start, end, zone, now)
    parts = split_months(first, last)
    accounts: set[str] = set()
    total = calls = 0
    lines: list[MismatchLine] = []
    for part_first, part_last in parts:
        lo, hi = day_bounds(part_first, part_last, zone)
        points = withdrawals.points_between(lo, hi)
        accounts.update(points)
        total += sum(points.values())
        period = f"{part_first} – {part_last}" if len(parts) > 1 else None
        for batch in batches(points):
            calls += 1
            found = sorted(_ask(gateway, lo, hi, batch), key=lambda m: m.account_id)
            lines.extend(
                MismatchLine(m.account_id, m.feishu_points, m.bot_points, period) for m in found
            )
    return Reconciliation(first, last, zone, len(accounts), total, tuple(lines), calls)


def _ask(
    gateway: ReferralGateway, start: datetime, end: datetime, points: dict[str, int]
) -> list[Mismatch]:
    try:
        return gateway.reconcile(start, end, points)
    except OpenApiError as exc:
        # trade_details is not marked required, and the emulator takes an empty list; should
        # Feishu refuse one all the same, a window without withdrawals through the bot has
        # nothing of ours to compare.
        if not points and exc.code == BAD_PARAMETER:
            log.info("reconciliation refused an empty trade_details: %s", exc)
            return []
        raise


def reconcile_report(
    settings: Settings,
    withdrawals: WithdrawalBook,
    gateway: ReferralGateway,
    start: date | None,
    end: date | None,
) -> dict:
    """The report card of the window (None, None: the last full calendar month). Raises
    OpenApiError, which the command runner turns into a retry or a plain-words answer."""
    return reconcile_card(reconcile(settings, withdrawals, gateway, start, end).view)


# --- the schedule ----------------------------------------------------------------------------
class ReconcileService:
    """The reconciliation report on demand and on the REFERRAL_BOT_RECONCILE_CRON schedule."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        withdrawals: WithdrawalBook,
        gateway: ReferralGateway,
        messenger: Messenger,
        *,
        holder: str,
        retry_first: float = RETRY_FIRST,
    ) -> None:
        self._settings = settings
        self._withdrawals = withdrawals
        self._gateway = gateway
        self._messenger = messenger
        self.records = ReconcileRecords(database)
        # Names this process in the leases: its owner id in the liveness records.
        self.holder = holder
        self.retry_first = retry_first
        self._grace = GRACE
        self._schedule: DigestSchedule | None = None
        self._stopping = threading.Event()

    def report(self, start: date | None, end: date | None) -> dict:
        return reconcile_report(self._settings, self._withdrawals, self._gateway, start, end)

    def run_scheduled(self, scheduled_for: datetime) -> list[str]:
        """The report of the calendar month before the fire time (in the zone), posted to every
        digest chat that has not had it; returns the chats this process posted to."""
        chats = self._settings.digest_chats
        if not chats:
            return []
        zone = self._settings.digest_tz
        first, last = previous_month(scheduled_for.astimezone(ZoneInfo(zone)).date())
        run_id = self.records.lease_scheduled(scheduled_for, self.holder, first, last)
        if run_id is None:
            log.info("reconciliation of %s is done or under way elsewhere", scheduled_for)
            return []
        try:
            result, error = self._reconcile(scheduled_for, first, last)
            if result is not None:
                card = reconcile_card(result.view)
            else:
                assert error is not None
                card = reconcile_failed_card(first, last, zone, explain(error))
            posted, failed = self._post(scheduled_for, run_id, card, chats)
        except Stopping:
            log.info(
                "reconciliation of %s cut off by the stop; the next start finishes it",
                scheduled_for,
            )
            self.records.release(run_id)
            return []
        self.records.finish(
            run_id,
            accounts=result.accounts if result else 0,
            points=result.points if result else 0,
            mismatches=len(result.mismatches) if result else 0,
            error=str(error) if error else None,
            chats_posted=posted,
            chats_failed=failed,
        )
        return posted

    def _reconcile(
        self, scheduled_for: datetime, first: date, last: date
    ) -> tuple[Reconciliation | None, OpenApiError | None]:
        """Reconcile, trying again with backoff while Feishu is in trouble and the grace lasts;
        the result, or the error that ended the trying."""
        delay = self.retry_first
        while True:
            try:
                return reconcile(
                    self._settings, self._withdrawals, self._gateway, first, last
                ), None
            except OpenApiError as exc:
                if not (exc.transient and self._time_left(scheduled_for, delay)):
                    log.error("reconciliation of %s failed: %s", scheduled_for, exc)
                    return None, exc
                log.warning("reconciliation of %s failed, retrying: %s", scheduled_for, exc)
            delay = self._wait(delay)

    def _post(
        self, scheduled_for: datetime, run_id: int, card: dict, chats: Sequence[str]
    ) -> tuple[list[str], list[str]]:
        """Post to every chat not yet posted to; chats Feishu is in trouble with are tried again
        with backoff until the grace ends. One chat's failure keeps the report from no other."""
        posted: list[str] = []
        failed: list[str] = []
        waiting = [
            c for c in chats if self.records.lease_post(scheduled_for, c, run_id, self.holder)
        ]
        delay = self.retry_first
        while waiting:
            retry: list[str] = []
            for chat_id in waiting:
                try:
                    message_id = self._messenger.send_card(
                        chat_id, card, uuid=_post_uuid(scheduled_for, chat_id)
                    )
                except OpenApiError as exc:
                    if exc.transient and self._time_left(scheduled_for, delay):
                        log.warning("reconciliation post to %s failed, retrying: %s", chat_id, exc)
                        retry.append(chat_id)
                        continue
                    log.error("reconciliation not posted to %s: %s", chat_id, exc)
                    self.records.end_post(scheduled_for, chat_id, error=str(exc))
                    failed.append(chat_id)
                    continue
                self.records.end_post(scheduled_for, chat_id, message_id=message_id)
                posted.append(chat_id)
            waiting = retry
            if waiting:
                delay = self._wait(delay)
        return posted, failed

    def _time_left(self, scheduled_for: datetime, delay: float) -> bool:
        return utcnow() + timedelta(seconds=delay) < scheduled_for + self._grace

    def _wait(self, delay: float) -> float:
        """Sleep `delay` seconds (Stopping on a stop); the next delay."""
        if self._stopping.wait(delay):
            raise Stopping()
        return min(delay * 2, RETRY_CAP)

    def start_schedule(
        self, *, trigger: BaseTrigger | None = None, grace: timedelta = GRACE
    ) -> None:
        """Run `run_scheduled` on the configured cron (or `trigger`, for tests)."""
        self._stopping.clear()
        if self._schedule is not None or not self._settings.digest_chats:
            return
        self._grace = grace
        settings = self._settings
        self._schedule = DigestSchedule(
            trigger or crontab_trigger(settings.reconcile_cron, settings.digest_tz),
            settings.digest_tz,
            self.run_scheduled,
            self.records.last_scheduled_for,
            grace=grace,
        )
        self._schedule.start()

    def stop_schedule(self) -> None:
        """Stop firing; a report waiting out a retry is cut off and its lease let go."""
        self._stopping.set()
        if self._schedule is not None:
            self._schedule.stop()
            self._schedule = None

    def schedule_alive(self) -> bool:
        """False when a schedule was started and its scheduler has died."""
        return self._schedule is None or self._schedule.alive()

    @property
    def next_run_time(self) -> datetime | None:
        return self._schedule.next_run_time if self._schedule is not None else None


def _post_uuid(scheduled_for: datetime, chat_id: str) -> str:
    """Feishu drops a second send with the same uuid within an hour: a last guard against a
    double post when a stale lease is taken over."""
    key = f"{scheduled_for.astimezone(UTC).isoformat()}|{chat_id}".encode()
    return "reconcile-" + hashlib.sha256(key).hexdigest()[:40]
