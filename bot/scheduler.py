"""The digest's schedule: APScheduler 3 running one cron job inside `referral-bot serve`.

The job gets the fire time it stands for, so every process that shares the database names a
run by the same key and the run's lease can tell them apart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

log = logging.getLogger(__name__)

JOB_ID = "referral-digest"
CATCH_UP_JOB_ID = "referral-digest-catch-up"
# Crontab numbers weekdays from Sunday (0 and 7); APScheduler 3 numbers them from Monday and
# `CronTrigger.from_crontab` passes the numbers through, so "0 9 * * 1-5" would fire Tuesday to
# Saturday (apscheduler issue 286, fixed only in 4.x). Weekday names mean the same to both.
CRON_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def crontab_trigger(crontab: str, timezone: str) -> BaseTrigger:
    """A trigger that reads a 5-field crontab the way cron does, weekdays included."""
    fields = crontab.split()
    if len(fields) != 5:
        raise ValueError(f"Wrong number of fields; got {len(fields)}, expected 5")
    minute, hour, day, month, weekday = fields
    weekdays = _cron_weekdays(weekday)

    def cron(day: str, day_of_week: str) -> CronTrigger:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=day_of_week,
            timezone=timezone,
        )

    # Cron fires when either day field matches if both are restricted, and a field starting
    # with "*" is not (vixie cron's DOM_STAR/DOW_STAR); CronTrigger always wants both to match.
    if not day.startswith("*") and not weekday.startswith("*"):
        return OrTrigger([cron(day, "*"), cron("*", weekdays)])
    return cron(day, weekdays)


def _cron_weekdays(field: str) -> str:
    """Crontab's day-of-week field with its numbers turned into weekday names."""
    if field == "*":
        return field
    names: list[str] = []
    for part in field.lower().split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            first, last = 0, 6
        elif body.isdigit():
            first = int(body)
            last = 6 if step_text else first
        elif "-" in body and all(side.isdigit() for side in body.split("-", 1)):
            first, last = (int(side) for side in body.split("-", 1))
        else:  # already names, which APScheduler reads as cron does
            names.append(part)
            continue
        if not 0 <= first <= last <= 7 or step < 1:
            raise ValueError(f"bad day-of-week field {field!r}")
        names.extend(CRON_WEEKDAYS[day] for day in range(first, last + 1, step))
    return ",".join(dict.fromkeys(names))


def latest_fire_time(trigger: BaseTrigger, now: datetime, lookback: timedelta) -> datetime | None:
    """The trigger's most recent fire time in (now - lookback, now], or None."""
    latest = None
    moment = trigger.get_next_fire_time(None, now - lookback)
    while moment is not None and moment <= now:
        latest = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(microseconds=1))
    return latest


class DigestSchedule:
    """Calls `job(scheduled_for)` at each fire time of `trigger`, once, and once more on start
    for a fire time missed while no process was running (see `start`)."""

    def __init__(
        self,
        trigger: BaseTrigger,
        timezone: str,
        job: Callable[[datetime], object],
        last_run: Callable[[], datetime | None],
        *,
        grace: timedelta,
    ) -> None:
        self.trigger = trigger
        self.grace = grace
        self._timezone = timezone
        self._job = job
        self._last_run = last_run
        self._scheduler: BackgroundScheduler | None = None

    def start(self) -> None:
        if self._scheduler is not None:
            return
        scheduler = BackgroundScheduler(timezone=self._timezone)
        scheduler.add_listener(self._on_error, EVENT_JOB_ERROR)
        scheduler.add_job(
            self._fire,
            self.trigger,
            id=JOB_ID,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(self.grace.total_seconds()),
        )
        # APScheduler's memory job store starts afresh each time: a fire time that passed while
        # the bot was down is not "misfired" to it, just gone. So compare the cron's most recent
        # fire time with the last run SQLite remembers, and run it once now if it is still
        # within the grace. The run's lease stops a second process from running it again.
        now = datetime.now(UTC)
        missed = latest_fire_time(self.trigger, now, self.grace)
        last = self._last_run()
        if missed is not None and (last is None or last < missed):
            log.info("digest of %s was missed while the bot was down; running it now", missed)
            scheduler.add_job(
                self._job,
                "date",
                args=[missed],
                id=CATCH_UP_JOB_ID,
                replace_existing=True,
                misfire_grace_time=int(self.grace.total_seconds()),
            )
        scheduler.start()
        self._scheduler = scheduler

    def stop(self, wait: bool = True) -> None:
        """Stop firing; with `wait`, a digest under way finishes first."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=wait)
            self._scheduler = None

    def alive(self) -> bool:
        """The scheduler runs and its thread lives (False once started and then died)."""
        scheduler = self._scheduler
        if scheduler is None:
            return True
        thread = getattr(scheduler, "_thread", None)  # BackgroundScheduler's own thread
        return bool(scheduler.running) and (thread is None or thread.is_alive())

    @property
    def next_run_time(self) -> datetime | None:
        if self._scheduler is None:
            return None
        job = self._scheduler.get_job(JOB_ID)
        return job.next_run_time if job is not None else None

    def _fire(self) -> None:
        # APScheduler 3 does not pass the fire time to the job; with coalescing the run stands
        # for the latest fire time that has passed.
        now = datetime.now(UTC)
        scheduled_for = latest_fire_time(self.trigger, now, self.grace) or now
        self._job(scheduled_for)

    def _on_error(self, event: JobExecutionEvent) -> None:
        log.error("digest job failed", exc_info=event.exception)


def schedule_report(
    trigger: BaseTrigger | None,
    cron: str,
    zone: str,
    run: Callable[[datetime], object],
    last_run: Callable[[], datetime | None],
    *,
    grace: timedelta,
) -> DigestSchedule:
    """A scheduled report's schedule (`handlers.scheduled_reports.Scheduler`): on its crontab in
    its zone, or on `trigger` (tests)."""
    return DigestSchedule(trigger or crontab_trigger(cron, zone), zone, run, last_run, grace=grace)
