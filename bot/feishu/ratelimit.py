"""Client-side rate limits, shared by every thread, so the bot stays under Feishu's limits.

A sliding window (not a token bucket): "10 per second" must hold over every window Feishu might
measure, and a bucket's burst would break it. A request holds its slot while in flight and for
a full period after its answer came back: Feishu counted it at some moment in between, so
measuring from the answer is the only stamp that is safe whatever the network did. Interactive
callers go before background ones (the digest), so a long digest never starves a command.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import IntEnum


class Priority(IntEnum):
    INTERACTIVE = 0
    BACKGROUND = 1


class RateLimitTimeout(Exception):
    """No slot came free within the caller's deadline."""


class Slot:
    """One request's place in the window; `done` is when its answer arrived (None: in flight)."""

    __slots__ = ("done",)

    def __init__(self, done: float | None = None) -> None:
        self.done = done


class SlidingWindowLimiter:
    """At most `limit` requests in any `period` seconds, as the server can count them."""

    def __init__(
        self, limit: int, period: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock
        self._slots: list[Slot] = []
        self._cond = threading.Condition()
        self._waiting = [0] * len(Priority)

    def acquire(
        self, priority: Priority = Priority.INTERACTIVE, timeout: float | None = None
    ) -> Slot:
        """Block until a slot is free; raise RateLimitTimeout after `timeout` seconds.
        Hand the slot back to `release` when the answer has come."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._cond:
            self._waiting[priority] += 1
            try:
                while True:
                    now = self._clock()
                    self._slots = [
                        s for s in self._slots if s.done is None or now - s.done < self.period
                    ]
                    ahead = sum(self._waiting[:priority])
                    if len(self._slots) < self.limit and ahead == 0:
                        slot = Slot()
                        self._slots.append(slot)
                        self._cond.notify_all()
                        return slot
                    expiries = [s.done + self.period - now for s in self._slots if s.done]
                    wait = min(expiries) if expiries else self.period
                    if ahead:
                        wait = min(wait, 0.05)
                    if deadline is not None:
                        if now >= deadline:
                            raise RateLimitTimeout()
                        wait = min(wait, deadline - now)
                    self._cond.wait(max(wait, 0.001))
            finally:
                self._waiting[priority] -= 1

    def release(self, slot: Slot) -> None:
        """The answer came back: the slot expires one period from now."""
        with self._cond:
            slot.done = self._clock()
            self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """Feishu said we were too fast: hold every caller back for `seconds`."""
        with self._cond:
            # Fill the window with slots that expire exactly when the server's window resets.
            done = self._clock() + seconds - self.period
            self._slots = [Slot(done) for _ in range(self.limit)]
            self._cond.notify_all()


class KeyedLimiters:
    """One limiter per key (per chat, per message), made on first use."""

    def __init__(self, limit: int, period: float) -> None:
        self._limit, self._period = limit, period
        self._limiters: dict[str, SlidingWindowLimiter] = {}
        self._lock = threading.Lock()

    def __getitem__(self, key: str) -> SlidingWindowLimiter:
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                limiter = self._limiters[key] = SlidingWindowLimiter(self._limit, self._period)
            return limiter
