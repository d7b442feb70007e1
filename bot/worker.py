"""A small pool of threads that works off the event inbox after Feishu has its 200."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from bot.records.inbox import Inbox, InboxEvent

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
POLL_SECONDS = 1.0  # how soon an event put off by `retry_later` is looked at again


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=5 * 3 ** (attempts - 1))  # 5 s, 15 s, ...


class RetryLater(Exception):
    """The work failed for a reason that may pass (Feishu unreachable); try the event again."""


class GiveUp(Exception):
    """The work failed for good; the message says why (the handler has told the person)."""


Work = Callable[[InboxEvent], None]
OnFailure = Callable[[InboxEvent, str], None]


class WorkerPool:
    def __init__(
        self,
        inbox: Inbox,
        work: Work,
        *,
        on_failure: OnFailure | None = None,
        size: int = 4,
        sweep_every: float = 60.0,
    ) -> None:
        self._inbox = inbox
        self._work = work
        self._on_failure = on_failure
        self._size = size
        self._sweep_every = sweep_every
        self._wake = threading.Condition()
        self._pending_wakeups = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._inbox.requeue_stale_claims()
        self._stopping.clear()
        for n in range(self._size):
            thread = threading.Thread(target=self._run, name=f"inbox-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.notify()

    def notify(self) -> None:
        """A new event is in the inbox."""
        with self._wake:
            self._pending_wakeups += 1
            self._wake.notify()

    def stop(self, timeout: float = 10.0) -> None:
        """Let in-flight work finish (up to `timeout`); what is left stays queued for next time."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        released = self._inbox.release_own_claims()
        if released:
            log.warning("%d events were still in progress and stay queued", released)

    def _run(self) -> None:
        last_sweep = time.monotonic()
        while not self._stopping.is_set():
            event = self._inbox.claim()
            if event is not None:
                self._handle(event)
                continue
            with self._wake:
                if self._pending_wakeups == 0:
                    self._wake.wait(POLL_SECONDS)
                self._pending_wakeups = max(0, self._pending_wakeups - 1)
            if time.monotonic() - last_sweep > self._sweep_every:
                last_sweep = time.monotonic()
                self._inbox.requeue_stale_claims()

    def _handle(self, event: InboxEvent) -> None:
        try:
            self._work(event)
        except RetryLater as exc:
            if event.attempts < MAX_ATTEMPTS and not self._stopping.is_set():
                log.warning("event %s will be retried: %s", event.event_id, exc)
                self._inbox.retry_later(event.event_id, str(exc), retry_delay(event.attempts))
                return
            self._fail(event, str(exc))
            return
        except GiveUp as exc:
            self._inbox.fail(event.event_id, str(exc))
            return
        except Exception as exc:
            log.exception("event %s failed", event.event_id)
            if event.attempts < MAX_ATTEMPTS and not self._stopping.is_set():
                reason = f"{type(exc).__name__}: {exc}"
                self._inbox.retry_later(event.event_id, reason, retry_delay(event.attempts))
                return
            self._fail(event, f"{type(exc).__name__}: {exc}")
            return
        self._inbox.finish(event.event_id)

    def _fail(self, event: InboxEvent, reason: str) -> None:
        self._inbox.fail(event.event_id, reason)
        if self._on_failure is not None:
            try:
                self._on_failure(event, reason)
            except Exception:
                log.exception("could not tell anyone that event %s failed", event.event_id)
