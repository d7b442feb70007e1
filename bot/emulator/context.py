"""What every operation handler may consult: configuration, state and the limiter."""

from __future__ import annotations

from dataclasses import dataclass, field

from .protocol import FREQUENCY_LIMIT, MSG_FREQUENCY_LIMIT, rate_limited
from .ratelimit import DEFAULT_LIMITS, SlidingWindowLimiter, reset_header
from .state import State


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
