"""Test knobs: added latency and injected failures, per operation ("*" = every operation,
"hire" = every referral-account operation), and the time window of an outage of the whole
platform."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

# "5xx_after": the request is carried out, then answered 500 (Feishu acted, the answer is lost).
# "no_trans_time": the request is carried out and answered with success, but the answer's data
# lacks `trans_time` (withdraw: Feishu acted and did not say when).
# "drop_after": the request is carried out, then the connection is closed without an answer (the
# network lost it on the way back: the caller cannot tell whether Feishu acted).
FAILURE_KINDS = (
    "5xx",
    "ratelimit",
    "server_error_code",
    "5xx_after",
    "no_trans_time",
    "drop_after",
)
# Those that strike once the request has been carried out.
AFTER_KINDS = ("5xx_after", "no_trans_time", "drop_after")
OUTAGE_KINDS = ("refuse", "5xx")
HIRE = "hire"  # the key that stands for every referral-account (Hire) operation


@dataclass
class Failure:
    kind: str
    reset_seconds: int = 1


@dataclass(frozen=True)
class Outage:
    kind: str
    until: float | None  # time.monotonic() deadline; None: until ended

    def active(self) -> bool:
        return self.until is None or time.monotonic() < self.until


class Knobs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latency: dict[str, float] = {}
        self._failures: dict[str, list[Failure]] = {}
        self._failing: dict[str, Failure] = {}  # until stopped
        self._outage: Outage | None = None
        self._in_flight: dict[str, int] = {}

    def begin(self, operation: str) -> None:
        """A request of `operation` arrived (it is answered after its latency)."""
        with self._lock:
            self._in_flight[operation] = self._in_flight.get(operation, 0) + 1

    def end(self, operation: str) -> None:
        with self._lock:
            self._in_flight[operation] -= 1

    def in_flight(self, operation: str) -> int:
        """Requests of `operation` received and not yet answered."""
        with self._lock:
            return self._in_flight.get(operation, 0)

    def set_latency(self, operation: str, seconds: float) -> None:
        with self._lock:
            if seconds <= 0:
                self._latency.pop(operation, None)
            else:
                self._latency[operation] = float(seconds)

    def latency(self, operation: str) -> float:
        with self._lock:
            return self._latency.get(operation, self._latency.get("*", 0.0))

    def fail_next(self, operation: str, n: int, kind: str, reset_seconds: int) -> None:
        if kind not in FAILURE_KINDS:
            raise ValueError(f"kind must be one of {FAILURE_KINDS}, not {kind!r}")
        with self._lock:
            queue = self._failures.setdefault(operation, [])
            queue.extend(Failure(kind, reset_seconds) for _ in range(n))

    def fail_until_stopped(self, operation: str, kind: str, reset_seconds: int) -> None:
        """Every request of the operation fails this way until `stop_failing`."""
        if kind not in FAILURE_KINDS:
            raise ValueError(f"kind must be one of {FAILURE_KINDS}, not {kind!r}")
        with self._lock:
            self._failing[operation] = Failure(kind, reset_seconds)

    def stop_failing(self, operation: str | None = None) -> None:
        """End `fail_until_stopped` for the operation, or (None) for all."""
        with self._lock:
            if operation is None:
                self._failing.clear()
            else:
                self._failing.pop(operation, None)

    def take_failure(
        self, operation: str, *, after: bool = False, hire: bool = False
    ) -> Failure | None:
        """The next failure for the operation (`hire`: one of the referral-account ones):
        those that strike before it is carried out, or (`after`) those that strike once it
        has been. Failures queued by `fail_next` come first, then `fail_until_stopped`."""
        keys = (operation, HIRE, "*") if hire else (operation, "*")
        with self._lock:
            for key in keys:
                queue = self._failures.get(key)
                if queue and (queue[0].kind in AFTER_KINDS) == after:
                    return queue.pop(0)
            for key in keys:
                failing = self._failing.get(key)
                if failing is not None and (failing.kind in AFTER_KINDS) == after:
                    return failing
            return None

    def start_outage(self, kind: str, seconds: float | None) -> Outage:
        """Start an outage (replacing any other) that lasts `seconds`, or until ended if None."""
        if kind not in OUTAGE_KINDS:
            raise ValueError(f"kind must be one of {OUTAGE_KINDS}, not {kind!r}")
        if seconds is not None and not seconds > 0:
            raise ValueError(f"seconds must be positive or None, not {seconds!r}")
        until = None if seconds is None else time.monotonic() + seconds
        with self._lock:
            self._outage = Outage(kind, until)
            return self._outage

    def outage(self) -> Outage | None:
        """The outage on now, if any."""
        with self._lock:
            if self._outage is not None and not self._outage.active():
                self._outage = None
            return self._outage

    def end_outage(self) -> None:
        with self._lock:
            self._outage = None

    def clear(self) -> None:
        with self._lock:
            self._latency.clear()
            self._failures.clear()
            self._failing.clear()
            self._outage = None
