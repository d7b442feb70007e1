"""What every scheduled report does alike: run on its cron, and post its card to each chat once.

The status digest (`digest`) and the reconciliation report (`reconcile`) each post a card to the
digest chats once per fire time across the processes sharing the database. Both are a
`ScheduledReport`: the same schedule (the cron, the catch-up of a fire time missed while the bot
was down, the stop that cuts a run off) and the same posting (`post_to_chats`: a lease per chat,
a uuid per fire time and chat, chats Feishu is in trouble with tried again with doubling backoff
until the schedule's grace ends). What a report says, and what it keeps of a chat it could not
post to, is its own.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.triggers.base import BaseTrigger

from bot.config import Settings
from bot.feishu.messenger import Messenger
from bot.feishu.openapi import OpenApiError
from bot.records.liveness import new_owner_id
from bot.records.schedule_leases import ChatPosts, ScheduleRecords
from bot.records.store import utcnow
from handlers.errors import Stopping

log = logging.getLogger(__name__)


class Schedule(Protocol):
    """A cron that runs a report's fire times (the process's scheduler, `bot/scheduler.py`)."""

    next_run_time: datetime | None

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def alive(self) -> bool: ...


# (trigger or None for the cron, cron, zone, run, last scheduled fire time, grace) → Schedule
Scheduler = Callable[..., Schedule]


class ScheduledReport:
    """A report posted to the digest chats on a cron in the digest's zone, recorded in `records`.
    A subclass names itself in the class attributes and runs one fire time in `run_scheduled`."""

    what: str  # the report in log lines
    uuid_prefix: str  # of its posts' uuids
    default_grace: timedelta  # how late a fire time is still caught up and a post retried
    retry_cap: float  # the longest wait between two tries

    def __init__(
        self,
        settings: Settings,
        cron: str,
        messenger: Messenger,
        records: ScheduleRecords,
        holder: str | None,
        scheduler: Scheduler,
    ) -> None:
        self._settings = settings
        self._messenger = messenger
        self.records = records
        # Names this process in the leases: its owner id in the liveness records.
        self.holder = holder or new_owner_id()
        self._cron = cron
        self._grace = self.default_grace
        self._scheduler = scheduler
        self._schedule: Schedule | None = None
        self._stopping = threading.Event()

    def run_scheduled(self, scheduled_for: datetime) -> list[str]:
        """The report of one fire time; returns the chats this process posted to."""
        raise NotImplementedError

    def start_schedule(
        self, *, trigger: BaseTrigger | None = None, grace: timedelta | None = None
    ) -> None:
        """Run `run_scheduled` on the configured cron (or `trigger`, for tests), catching up a
        fire time missed within `grace` (the report's own unless given); not at all without
        chats to post to."""
        self._stopping.clear()
        if self._schedule is not None or not self._settings.digest_chats:
            return
        self._grace = self.default_grace if grace is None else grace
        self._schedule = self._scheduler(
            trigger,
            self._cron,
            self._settings.digest_tz,
            self.run_scheduled,
            self.records.last_scheduled_for,
            grace=self._grace,
        )
        self._schedule.start()

    def stop_schedule(self) -> None:
        """Stop firing; a run under way is cut off within seconds (`Stopping`) and lets go of
        its lease, so that the next start finishes it."""
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

    def _post_card(
        self,
        scheduled_for: datetime,
        run_id: int,
        card: dict,
        chats: Sequence[str],
        *,
        first_delay: float,
    ) -> tuple[list[str], list[tuple[str, OpenApiError]]]:
        """`post_to_chats` with this report's leases, grace and stop."""
        return post_to_chats(
            self._messenger,
            self.records.chat_posts,
            scheduled_for,
            run_id,
            self.holder,
            card,
            chats,
            what=self.what,
            uuid_prefix=self.uuid_prefix,
            grace_ends=scheduled_for + self._grace,
            first_delay=first_delay,
            retry_cap=self.retry_cap,
            stopping=self._stopping,
        )


def post_to_chats(
    messenger: Messenger,
    posts: ChatPosts,
    scheduled_for: datetime,
    run_id: int,
    holder: str,
    card: dict,
    chats: Sequence[str],
    *,
    what: str,
    uuid_prefix: str,
    grace_ends: datetime,
    first_delay: float,
    retry_cap: float,
    stopping: threading.Event,
) -> tuple[list[str], list[tuple[str, OpenApiError]]]:
    """Post `card` to every chat whose post this process can lease; the chats posted to, and
    those that failed for good with the error. Chats Feishu is in trouble with are tried again
    with backoff until `grace_ends`; one chat's failure keeps the card from no other. Raises
    Stopping when a stop comes while waiting to try again."""
    posted: list[str] = []
    failed: list[tuple[str, OpenApiError]] = []
    waiting = [c for c in chats if posts.lease_post(scheduled_for, c, run_id, holder)]
    delay = first_delay
    while waiting:
        retry: list[str] = []
        for chat_id in waiting:
            try:
                message_id = messenger.send_card(
                    chat_id, card, uuid=post_uuid(uuid_prefix, scheduled_for, chat_id)
                )
            except OpenApiError as exc:
                if exc.transient and within_grace(grace_ends, delay):
                    log.warning("%s post to %s failed, retrying: %s", what, chat_id, exc)
                    retry.append(chat_id)
                    continue
                posts.end_post(scheduled_for, chat_id, error=str(exc))
                failed.append((chat_id, exc))
                continue
            posts.end_post(scheduled_for, chat_id, message_id=message_id)
            posted.append(chat_id)
        waiting = retry
        if waiting:
            delay = back_off(stopping, delay, retry_cap)
    return posted, failed


def within_grace(grace_ends: datetime, delay: float) -> bool:
    """A try `delay` seconds from now still comes before the grace ends."""
    return utcnow() + timedelta(seconds=delay) < grace_ends


def back_off(stopping: threading.Event, delay: float, cap: float) -> float:
    """Wait `delay` seconds (Stopping on a stop); the next delay, doubled up to `cap`."""
    if stopping.wait(delay):
        raise Stopping()
    return min(delay * 2, cap)


def post_uuid(prefix: str, scheduled_for: datetime, chat_id: str) -> str:
    """Feishu drops a second send with the same uuid within an hour: a last guard against a
    double post when a stale lease is taken over. The fire time is named as given, zone and
    all."""
    key = f"{scheduled_for.isoformat()}|{chat_id}".encode()
    return f"{prefix}-" + hashlib.sha256(key).hexdigest()[:40]
