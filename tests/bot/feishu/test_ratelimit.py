"""The sliding-window limiter's pause and the per-key limiters' clean-up, on a fake clock."""

from __future__ import annotations

import threading
import time

import pytest

from bot.feishu.ratelimit import KeyedLimiters, RateLimitTimeout, SlidingWindowLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_pause_holds_everyone_back_and_keeps_the_slots_in_flight() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(2, 1.0, clock=clock)
    in_flight = limiter.acquire(timeout=0)
    limiter.pause(1.0)
    clock.now = 0.5
    with pytest.raises(RateLimitTimeout):
        limiter.acquire(timeout=0)  # the window has room, but the pause holds
    clock.now = 1.0
    limiter.acquire(timeout=0)
    # The request still in flight counts: two held at once is the limit.
    with pytest.raises(RateLimitTimeout):
        limiter.acquire(timeout=0)
    limiter.release(in_flight)
    clock.now = 1.9
    with pytest.raises(RateLimitTimeout):
        limiter.acquire(timeout=0)
    clock.now = 2.0
    limiter.acquire(timeout=0)


def test_a_slot_still_within_its_period_counts_after_the_pause() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(1, 1.0, clock=clock)
    clock.now = 0.8
    limiter.release(limiter.acquire(timeout=0))  # counts until 1.8
    limiter.pause(0.5)
    clock.now = 1.3  # the pause is over, the slot is not
    with pytest.raises(RateLimitTimeout):
        limiter.acquire(timeout=0)
    clock.now = 1.8
    limiter.acquire(timeout=0)


def test_a_longer_pause_wins_over_a_shorter_one() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(5, 1.0, clock=clock)
    limiter.pause(2.0)
    limiter.pause(0.5)
    clock.now = 1.0
    with pytest.raises(RateLimitTimeout):
        limiter.acquire(timeout=0)
    clock.now = 2.0
    limiter.acquire(timeout=0)


def test_a_caller_already_waiting_sits_out_the_pause() -> None:
    limiter = SlidingWindowLimiter(1, 0.05)
    slot = limiter.acquire()
    got: list[float] = []
    waiter = threading.Thread(target=lambda: (limiter.acquire(), got.append(time.monotonic())))
    waiter.start()
    time.sleep(0.05)
    paused_at = time.monotonic()
    limiter.pause(0.3)
    limiter.release(slot)  # its period runs out long before the pause does
    waiter.join(timeout=5)
    assert got and got[0] - paused_at >= 0.29


def test_a_timeout_shorter_than_the_pause_gives_up() -> None:
    limiter = SlidingWindowLimiter(5, 0.1)
    limiter.pause(5.0)
    started = time.monotonic()
    with pytest.raises(RateLimitTimeout):
        limiter.acquire(timeout=0.1)
    assert time.monotonic() - started < 2


def test_idle_only_when_nothing_counts() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(2, 1.0, clock=clock)
    assert limiter.idle()
    slot = limiter.acquire(timeout=0)
    clock.now = 10.0
    assert not limiter.idle()  # in flight
    limiter.release(slot)
    clock.now = 10.5
    assert not limiter.idle()  # within its period
    clock.now = 11.0
    assert limiter.idle()
    limiter.pause(1.0)
    assert not limiter.idle()
    clock.now = 12.0
    assert limiter.idle()


def test_idle_limiters_are_freed_and_busy_ones_kept() -> None:
    clock = Clock()
    keyed = KeyedLimiters(5, 1.0, clock=clock, linger=10.0, sweep_at=8)
    busy = keyed["busy"]
    held = busy.acquire(timeout=0)
    counting = keyed["counting"]
    for i in range(6):
        keyed[f"chat{i}"].release(keyed[f"chat{i}"].acquire(timeout=0))
    assert len(keyed) == 8
    clock.now = 20.0
    counting.release(counting.acquire(timeout=0))  # still within its period at 20.5
    clock.now = 20.5
    fresh = keyed["fresh"]  # handed out just now, not acquired yet: kept
    keyed["trigger"]  # the ninth key: sweeps
    assert len(keyed) == 4
    assert keyed["busy"] is busy
    assert keyed["counting"] is counting
    assert keyed["fresh"] is fresh
    busy.release(held)


def test_many_keys_do_not_grow_without_bound() -> None:
    clock = Clock()
    keyed = KeyedLimiters(5, 1.0, clock=clock, linger=2.0, sweep_at=16)
    for i in range(1000):
        clock.now = float(i)
        limiter = keyed[f"chat{i}"]
        limiter.release(limiter.acquire(timeout=0))
    assert len(keyed) <= 32


def test_a_waiter_keeps_its_limiter() -> None:
    clock = Clock()
    keyed = KeyedLimiters(1, 0.05, clock=clock, linger=0.0, sweep_at=1)
    limiter = keyed["busy"]
    limiter.pause(0.5)  # a caller waits behind a pause (or a full window)
    waiter = threading.Thread(target=limiter.acquire)
    waiter.start()
    time.sleep(0.05)
    clock.now = 5.0  # on the limiter's clock nothing else holds it; the caller still waits
    keyed["other"]  # sweeps
    assert keyed["busy"] is limiter
    waiter.join(timeout=5)
    assert not waiter.is_alive()
