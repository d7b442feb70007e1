"""Reconciliation: send Feishu the points withdrawn through the bot per account in a window, and
report what Feishu says does not match.

A window is whole days in the configured zone, from 00:00:00.000 of the first to 23:59:59.999 of
the last. No limit on the window is documented, so one longer than 31 days is asked for a
calendar month at a time, and at most 100 accounts go in one call. `/referral reconcile`
answers with the report (`reconcile_report`); the schedule (`ReconcileService`) posts the report
of the previous calendar month to every digest chat once per fire time across all processes
sharing the database, with the leases, retries and catch-up after a restart of every scheduled
report (`scheduled_reports`). Each run, on demand or scheduled, first settles the withdrawals
whose outcome is uncertain (`handlers/withdrawals/payouts.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.feishu.messenger import Messenger
from bot.feishu.openapi import OpenApiError
from bot.feishu.referral import BAD_PARAMETER, Mismatch, ReferralGateway
from bot.records.reconciliations import ReconcileRecords
from bot.records.store import AccountBook, Database, utcnow
from bot.records.withdrawals import WithdrawalBook
from cards.names import record_name
from cards.reconcile import MismatchLine, ReconcileView, reconcile_card, reconcile_failed_card
from handlers.answers import explain
from handlers.errors import Stopping
from handlers.scheduled_reports import ScheduledReport, Scheduler, back_off, within_grace

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

    def view(self, accounts: AccountBook | None = None) -> ReconcileView:
        """The report's view, each mismatching account named as the records `accounts` know
        its holder (see `cards.names`)."""
        names = {}
        for line in self.mismatches if accounts is not None else ():
            name = record_name(accounts.get(line.account_id))
            if name is not None:
                names[line.account_id] = name
        return ReconcileView(
            self.first_day,
            self.last_day,
            self.zone,
            self.accounts,
            self.points,
            self.mismatches,
            names=names,
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
    accounts: AccountBook | None = None,
) -> dict:
    """The report card of the window (None, None: the last full calendar month), accounts named
    from `accounts`. Raises OpenApiError, which the command runner turns into a retry or a
    plain-words answer."""
    return reconcile_card(reconcile(settings, withdrawals, gateway, start, end).view(accounts))


# --- the schedule ----------------------------------------------------------------------------
class ReconcileService(ScheduledReport):
    """The reconciliation report on demand and on the REFERRAL_BOT_RECONCILE_CRON schedule."""

    records: ReconcileRecords

    what = "reconciliation"
    uuid_prefix = "reconcile"
    default_grace = GRACE
    retry_cap = RETRY_CAP

    def __init__(
        self,
        settings: Settings,
        database: Database,
        withdrawals: WithdrawalBook,
        gateway: ReferralGateway,
        messenger: Messenger,
        *,
        holder: str,
        scheduler: Scheduler,
        retry_first: float = RETRY_FIRST,
        accounts: AccountBook | None = None,
        before_run: Callable[[], object] | None = None,
    ) -> None:
        records = ReconcileRecords(database)
        super().__init__(settings, settings.reconcile_cron, messenger, records, holder, scheduler)
        self._withdrawals = withdrawals
        self._gateway = gateway
        self._accounts = accounts
        self.retry_first = retry_first
        # Queues the settling of uncertain withdrawals (their outcome is the report's business).
        self._before_run = before_run

    def report(self, start: date | None, end: date | None) -> dict:
        return reconcile_report(
            self._settings, self._withdrawals, self._gateway, start, end, self._accounts
        )

    def run_scheduled(self, scheduled_for: datetime) -> list[str]:
        """The report of the calendar month before the fire time (in the zone), posted to every
        digest chat that has not had it; returns the chats this process posted to."""
        chats = self._settings.digest_chats
        if not chats:
            return []
        zone = self._settings.digest_tz
        first, last = previous_month(scheduled_for.astimezone(ZoneInfo(zone)).date())
        # Held by a live replica: wait, and finish it here should that one die.
        run_id = self.records.lease_scheduled(
            scheduled_for, self.holder, first, last, stopping=self._stopping
        )
        if run_id is None:
            log.info("reconciliation of %s is done or under way elsewhere", scheduled_for)
            return []
        try:
            if self._before_run is not None:
                self._before_run()
            result, error = self._reconcile(scheduled_for, first, last)
            if result is not None:
                card = reconcile_card(result.view(self._accounts))
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
                if not (exc.transient and within_grace(scheduled_for + self._grace, delay)):
                    log.error("reconciliation of %s failed: %s", scheduled_for, exc)
                    return None, exc
                log.warning("reconciliation of %s failed, retrying: %s", scheduled_for, exc)
            delay = back_off(self._stopping, delay, self.retry_cap)

    def _post(
        self, scheduled_for: datetime, run_id: int, card: dict, chats: Sequence[str]
    ) -> tuple[list[str], list[str]]:
        """Post to every chat not yet posted to; the chats posted to, and those that failed."""
        posted, errors = self._post_card(
            # The report's post uuids name the fire time in UTC, as they always have (a post
            # taken over from a process of an older release gets the same uuid).
            scheduled_for.astimezone(UTC),
            run_id,
            card,
            chats,
            first_delay=self.retry_first,
        )
        for chat_id, exc in errors:
            log.error("reconciliation not posted to %s: %s", chat_id, exc)
        return posted, [chat_id for chat_id, _ in errors]
