"""Client-side rate limits, shared by every thread, so the bot stays under Feishu's limits.

A sliding window (not a token bucket): "10 per second" must hold over every window Feishu might
measure, and a bucket's burst would break it. Interactive callers go before background ones
(the digest), so a long digest never starves a command.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from enum import IntEnum


class Priority(IntEnum):
    INTERACTIVE = 0
    BACKGROUND = 1


class RateLimitTimeout(Exception):
    """No slot came free within the caller's deadline."""


class SlidingWindowLimiter:
    """At most `limit` acquisitions in any `period` seconds."""

    def __init__(
        self,
        limit: int,
        period: float,
        *,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # The margin absorbs the gap between when we send and when Feishu counts the request.
        self.limit = limit
        self.period = period * (1 + margin)
        self._clock = clock
        self._sent: deque[float] = deque()
        self._cond = threading.Condition()
        self._waiting = [0] * len(Priority)

    def acquire(
        self, priority: Priority = Priority.INTERACTIVE, timeout: float | None = None
    ) -> None:
        """Block until a slot is free; raise RateLimitTimeout after `timeout` seconds."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._cond:
            self._waiting[priority] += 1
            try:
                while True:
                    now = self._clock()
                    while self._sent and now - self._sent[0] >= self.period:
                        self._sent.popleft()
                    ahead = sum(self._waiting[:priority])
                    if len(self._sent) < self.limit and ahead == 0:
                        self._sent.append(now)
                        self._cond.notify_all()
                        return
                    wait = self.period - (now - self._sent[0]) if self._sent else self.period
                    if ahead:
                        wait = min(wait, 0.05)
                    if deadline is not None:
                        if now >= deadline:
                            raise RateLimitTimeout()
                        wait = min(wait, deadline - now)
                    self._cond.wait(max(wait, 0.001))
            finally:
                self._waiting[priority] -= 1

    def pause(self, seconds: float) -> None:
        """Feishu said we were too fast: hold every caller back for `seconds`."""
        with self._cond:
            until = self._clock() + seconds
            # Fill the window with stamps that expire exactly when the server's window resets.
            self._sent = deque([until - self.period] * self.limit)
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
