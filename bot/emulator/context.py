"""What every operation handler may consult: configuration, state and the limiter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .protocol import FREQUENCY_LIMIT, MSG_FREQUENCY_LIMIT, rate_limited
from .ratelimit import DEFAULT_LIMITS, SlidingWindowLimiter, reset_header
from .scopes import DEFAULT_SCOPES
from .state import Employee, State


@dataclass
class Context:
    app_id: str
    app_secret: str
    state: State
    limiter: SlidingWindowLimiter
    limits: dict[str, tuple[int, float]] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    enforce_rate_limits: bool = True
    tenant_key: str = "tenant_emulated"
    bot_open_id: str = "ou_bot"
    bot_name: str = "referral-bot"
    # replaced whole (never mutated), so handlers may read them without a lock
    scopes: frozenset[str] = DEFAULT_SCOPES
    contact_range: frozenset[str] | None = None  # open_ids the app may see; None: everyone
    ws: Any = None  # the long-connection server (ws.LongConnection), once made

    def in_contact_range(self, employee: Employee) -> bool:
        scope = self.contact_range
        return scope is None or employee.open_id in scope

    def check_limit(
        self,
        name: str,
        key: object = None,
        code: int = FREQUENCY_LIMIT,
        msg: str = MSG_FREQUENCY_LIMIT,
    ) -> None:
        """Raise the 429 answer when limit `name` (for `key`) is exhausted."""
        if not self.enforce_rate_limits or name not in self.limits:
            return
        limit, window = self.limits[name]
        wait = self.limiter.acquire((name, key), limit, window)
        if wait is not None:
            raise rate_limited(code, msg, limit, reset_header(wait))
