"""Sliding-window rate limiting, as Feishu's gateway applies per app and operation."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

# operation -> (requests allowed, window in seconds). Documented on each API page.
DEFAULT_LIMITS: dict[str, tuple[int, float]] = {
    "create": (100, 60.0),
    "deactivate": (100, 60.0),
    "withdraw": (100, 60.0),
    "reconciliation": (100, 60.0),
    "enable": (10, 1.0),
    "get_account_assets": (10, 1.0),
    # contact v3: get a user 50/s; batch_get_id 50/s (and 1000/min, not modelled)
    "contact_user_get": (50, 1.0),
    "contact_batch_get_id": (50, 1.0),
    # Hire, referral progress and rewards (application list: also 1000/min, not modelled)
    "referral_get_by_application": (50, 1.0),
    "application_get_detail": (10, 1.0),
    "application_list": (50, 1.0),
    "job_process_list": (20, 1.0),
    "external_reward_create": (10, 1.0),
    "external_reward_delete": (10, 1.0),
    # IM: 5 per second per chat (create/reply) and per message (PATCH); documented.
    "per_chat": (5, 1.0),
    "per_message_update": (5, 1.0),
}


class SlidingWindowLimiter:
    """Counts accepted hits per key over a trailing window; refused hits are not counted."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[Hashable, deque[float]] = {}

    def acquire(self, key: Hashable, limit: int, window: float) -> float | None:
        """Take a slot. None when allowed, else the seconds until the oldest hit leaves."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return max(0.0, hits[0] + window - now)
            hits.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


def reset_header(wait: float) -> int:
    """The x-ogw-ratelimit-reset value: whole seconds, at least 1."""
    return max(1, math.ceil(wait))
