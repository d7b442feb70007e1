"""A small pool of threads that works off the event inbox after Feishu has its 200.

Work that fails because Feishu is unreachable, overloaded or rate-limiting (`RetryLater`) is
tried again with growing backoff, capped at `RETRY_CAP` so that every waiting person is
answered soon after Feishu is back, for up to `MAX_AGE` (Feishu's own redelivery window); only
then is the event failed and `on_failure` called. A database error never ends a worker: it is
logged once, backed off and tried again, and the pool keeps its size.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from bot.records.database import ERRORS as DB_ERRORS
from bot.records.inbox import Inbox, InboxEvent
from bot.records.store import utcnow
from handlers.errors import MAX_AGE, GiveUp, RetryLater, Stopping

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # how soon an event put off by `retry_later` is looked at again
RETRY_BASE = 2.0
# Once Feishu is back, the first retry to get through wakes every waiting event (see
# `Inbox.wake_waiting`); this cap bounds how long that first retry can be in coming.
RETRY_CAP = 30.0
# A bug (an unexpected exception) is not worth six hours of retries.
MAX_ATTEMPTS_AFTER_BUG = 5


def retry_delay(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s, ... up to RETRY_CAP, with jitter so a queue does not retry in step."""
    ceiling = min(RETRY_CAP, RETRY_BASE * 2 ** (max(attempts, 1) - 1))
    return timedelta(seconds=random.uniform(0.75, 1.0) * ceiling)


Work = Callable[[InboxEvent], None]
OnFailure = Callable[[InboxEvent, str], None]


class StoreTrouble:
    """Logs a database episode once when it begins and once when it ends, not per retry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: float | None = None
        self.reason: str | None = None
        self.failures = 0

    def failed(self, exc: BaseException, doing: str) -> None:
        with self._lock:
            self.failures += 1
            self.reason = f"{doing}: {exc}"
            if self._since is None:
                self._since = time.monotonic()
                log.error("database error while %s: %s; retrying with backoff", doing, exc)

    def worked(self) -> None:
        with self._lock:
            if self._since is not None:
                log.warning("database works again after %.1f s", time.monotonic() - self._since)
                self._since, self.reason = None, None


class WorkerPool:
    def __init__(
        self,
        inbox: Inbox,
        work: Work,
        *,
        on_failure: OnFailure | None = None,
        size: int = 4,
        trouble: StoreTrouble | None = None,
    ) -> None:
        self._inbox = inbox
        self._work = work
        self._on_failure = on_failure
        self.size = size
        self.trouble = trouble or StoreTrouble()
        self._wake = threading.Condition()
        self._pending_wakeups = 0
        self._stopping = threading.Event()
        self._give_up_at = float("inf")
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._stopping.clear()
        self._give_up_at = float("inf")
        for n in range(self.size):
            thread = threading.Thread(target=self._run, name=f"inbox-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.notify()

    def notify(self) -> None:
        """New or newly due events are in the inbox."""
        with self._wake:
            self._pending_wakeups += 1
            self._wake.notify_all()

    def alive(self) -> int:
        return sum(thread.is_alive() for thread in self._threads)

    def request_stop(self) -> None:
        """Take no more work (what is queued stays queued); `stop` then waits for the rest."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()

    def stop(self, timeout: float = 5.0) -> int:
        """Take no more work and wait up to `timeout`, for all workers at once, for the work in
        hand; returns how many are still working (their claims stay theirs until the process
        is gone, then are taken back)."""
        self.request_stop()
        deadline = time.monotonic() + timeout
        self._give_up_at = deadline
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        still = [thread for thread in self._threads if thread.is_alive()]
        self._threads = still
        if still:
            log.warning("%d events were still being worked on at stop", len(still))
        return len(still)

    # --- one worker ----------------------------------------------------------------------
    def _run(self) -> None:
        delay = 0.05
        while not self._stopping.is_set():
            try:
                event = self._inbox.claim()
            except DB_ERRORS as exc:
                self.trouble.failed(exc, "claiming an event")
                self._stopping.wait(delay)
                delay = min(delay * 2, 2.0)
                continue
            except Exception:  # never let a worker die; the pool keeps its size
                log.exception("worker loop failed; going on")
                self._stopping.wait(1.0)
                continue
            delay = 0.05
            self.trouble.worked()
            if event is not None:
                try:
                    self._handle(event)
                except Exception:
                    log.exception("event %s could not be settled", event.event_id)
                continue
            with self._wake:
                if self._pending_wakeups == 0:
                    self._wake.wait(POLL_SECONDS)
                self._pending_wakeups = max(0, self._pending_wakeups - 1)

    def _handle(self, event: InboxEvent) -> None:
        try:
            self._work(event)
        except Stopping:
            self._persist("releasing an event", lambda: self._inbox.release(event.event_id))
        except RetryLater as exc:
            self._retry_or_fail(event, str(exc))
        except DB_ERRORS as exc:
            self.trouble.failed(exc, f"working on event {event.event_id}")
            self._retry_or_fail(event, f"database: {exc}")
        except GiveUp as exc:
            reason = str(exc)
            log.info("event %s given up: %s", event.event_id, reason)
            self._persist("failing an event", lambda: self._inbox.fail(event.event_id, reason))
        except Exception as exc:
            log.exception("event %s failed", event.event_id)
            reason = f"{type(exc).__name__}: {exc}"
            if event.attempts < MAX_ATTEMPTS_AFTER_BUG:
                self._retry(event, reason)
            else:
                self._fail(event, reason)
        else:
            self._persist("finishing an event", lambda: self._inbox.finish(event.event_id))

    def _retry_or_fail(self, event: InboxEvent, reason: str) -> None:
        if utcnow() - event.received_at < MAX_AGE:
            log.info("event %s will be retried: %s", event.event_id, reason)
            self._retry(event, reason)
        else:
            log.warning("event %s failed after %s of retries: %s", event.event_id, MAX_AGE, reason)
            self._fail(event, reason)

    def _retry(self, event: InboxEvent, reason: str) -> None:
        delay = retry_delay(event.attempts)
        self._persist(
            "putting an event back", lambda: self._inbox.retry_later(event.event_id, reason, delay)
        )

    def _fail(self, event: InboxEvent, reason: str) -> None:
        # Tell first: should the process die in between, the event is redone and fails again,
        # and the telling is queued once (it is keyed by the event).
        if self._on_failure is not None:
            self._persist("queueing a failure notice", lambda: self._on_failure(event, reason))
        self._persist("failing an event", lambda: self._inbox.fail(event.event_id, reason))

    def _persist(self, doing: str, write: Callable[[], object]) -> bool:
        """Write until it succeeds; when stopping, only until the stop's deadline."""
        delay = 0.05
        while True:
            try:
                write()
            except DB_ERRORS as exc:
                self.trouble.failed(exc, doing)
                if time.monotonic() >= self._give_up_at:
                    return False
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            self.trouble.worked()
            return True
