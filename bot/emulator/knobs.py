"""Test knobs: added latency and injected failures, per operation ("*" = every operation)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

FAILURE_KINDS = ("5xx", "ratelimit", "server_error_code")


@dataclass
class Failure:
    kind: str
    reset_seconds: int = 1


class Knobs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latency: dict[str, float] = {}
        self._failures: dict[str, list[Failure]] = {}

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

    def take_failure(self, operation: str) -> Failure | None:
        with self._lock:
            for key in (operation, "*"):
                queue = self._failures.get(key)
                if queue:
                    return queue.pop(0)
            return None

    def clear(self) -> None:
        with self._lock:
            self._latency.clear()
            self._failures.clear()
