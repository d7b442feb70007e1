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
        self._paused_until = float("-inf")

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
                    paused = now < self._paused_until
                    if len(self._slots) < self.limit and ahead == 0 and not paused:
                        slot = Slot()
                        self._slots.append(slot)
                        self._cond.notify_all()
                        return slot
                    expiries = [s.done + self.period - now for s in self._slots if s.done]
                    wait = min(expiries) if expiries else self.period
                    if paused:  # wait the pause out, then apply the window afresh
                        wait = self._paused_until - now
                    if ahead:
                        wait = min(wait, 0.05)
                    if deadline is not None:
                        if now >= deadline:
                            raise RateLimitTimeout()
                        wait = min(wait, deadline - now)
                    self._cond.wait(max(wait, 0.001))
            finally:
                self._waiting[priority] -= 1

    def release(self, slot: Slot, *, counted: bool = True) -> None:
        """The answer came back: the slot expires one period from now. `counted=False`: the
        request certainly never reached the server (the connection was refused), so it takes
        no place in the window; else a few seconds of outage would use up a minute's allowance
        and stall every caller long after the server is back."""
        with self._cond:
            if counted:
                slot.done = self._clock()
            elif slot in self._slots:
                self._slots.remove(slot)
            self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """Feishu said we were too fast: hold every caller back for `seconds`.

        The slots already taken stay: those in flight and those still within their period
        count against the window after the pause as before it."""
        with self._cond:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
            self._cond.notify_all()

    def idle(self) -> bool:
        """Nobody waits, nothing is in flight or paused, and every slot's period has run out:
        a fresh limiter would behave the same."""
        with self._cond:
            now = self._clock()
            return (
                not any(self._waiting)
                and now >= self._paused_until
                and all(s.done is not None and now - s.done >= self.period for s in self._slots)
            )


class KeyedLimiters:
    """One limiter per key (per chat, per message), made on first use and freed when idle.

    A caller keeps the limiter it got between its retries without being inside it (the Open
    API client gives up 60 s after it started), so a limiter is freed only when it is idle and
    nobody has asked for it for `linger` seconds; otherwise the retry would take a slot in a
    forgotten limiter while the next caller counts in a new one. Idle limiters are swept when
    the dict has doubled since the last sweep, which keeps the cost per lookup constant."""

    def __init__(
        self,
        limit: int,
        period: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        linger: float = 300.0,
        sweep_at: int = 256,
    ) -> None:
        self._limit, self._period = limit, period
        self._clock = clock
        self._linger = linger
        self._min_sweep_at = self._sweep_at = sweep_at
        self._limiters: dict[str, SlidingWindowLimiter] = {}
        self._asked: dict[str, float] = {}  # when each key's limiter was last handed out
        self._lock = threading.Lock()

    def __getitem__(self, key: str) -> SlidingWindowLimiter:
        with self._lock:
            now = self._clock()
            limiter = self._limiters.get(key)
            if limiter is None:
                if len(self._limiters) >= self._sweep_at:
                    self._sweep(now)
                limiter = SlidingWindowLimiter(self._limit, self._period, clock=self._clock)
                self._limiters[key] = limiter
            self._asked[key] = now
            return limiter

    def __len__(self) -> int:
        with self._lock:
            return len(self._limiters)

    def _sweep(self, now: float) -> None:
        for key, limiter in list(self._limiters.items()):
            if now - self._asked[key] >= self._linger and limiter.idle():
                del self._limiters[key], self._asked[key]
        self._sweep_at = max(self._min_sweep_at, 2 * len(self._limiters))
