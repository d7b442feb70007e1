"""The one `lark-oapi` client and the policy every Open API call goes through.

Each call: wait for a client-side rate-limit slot, send through the SDK, check `success()`,
and on failure either retry (narrowly) or raise `OpenApiError` carrying code, msg and log_id.
The SDK returns failures instead of raising and has no retry of its own; that is the gap filled
here.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import lark_oapi as lark
import requests
from lark_oapi.core.cache import ICache
from lark_oapi.core.exception import ObtainAccessTokenException
from lark_oapi.core.model import BaseResponse

from bot.config import Settings
from bot.feishu.ratelimit import Priority, RateLimitTimeout, SlidingWindowLimiter
from bot.metrics import Metrics

log = logging.getLogger(__name__)

RATE_LIMITED_CODES = {99991400, 230020}  # app-wide frequency limit; per-chat message limit
TOKEN_CODES = {99991661, 99991663, 99991668}  # missing / invalid / expired tenant token
SERVER_ERROR_CODES = {1002001}

R = TypeVar("R", bound=BaseResponse)


class OpenApiError(Exception):
    """A call that failed for good. `code` is Feishu's error code; None when no answer came.

    `transient`: Feishu was unreachable, answered 5xx or rate-limited; the same call may well
    succeed later. Other failures (1002551 user not found, ...) are answers in plain words.
    `may_have_acted`: Feishu may have carried the request out although it failed (a 5xx or a
    lost answer), so a call that is not idempotent must not simply be sent again.
    """

    def __init__(
        self,
        operation: str,
        code: int | None,
        msg: str,
        *,
        log_id: str | None = None,
        http_status: int | None = None,
        transient: bool | None = None,
        may_have_acted: bool | None = None,
    ) -> None:
        super().__init__(f"{operation} failed: code={code} msg={msg} log_id={log_id}")
        self.operation = operation
        self.code = code
        self.msg = msg
        self.log_id = log_id
        self.http_status = http_status
        server_error = (http_status or 0) >= 500 or code in SERVER_ERROR_CODES
        self.transient = transient if transient is not None else server_error or self.rate_limited
        self.may_have_acted = may_have_acted if may_have_acted is not None else server_error

    @property
    def rate_limited(self) -> bool:
        return self.http_status == 429 or self.code in RATE_LIMITED_CODES


class Reachability:
    """Whether Feishu answers, as the last calls saw it; tells listeners when it is back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self.up_since = time.monotonic()
        self._listeners: list[Callable[[], None]] = []

    def on_recovery(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    @property
    def reachable(self) -> bool:
        return self._down_since is None

    def up_for(self) -> float:
        """Seconds since Feishu last came back (or since start)."""
        return time.monotonic() - self.up_since

    def failed(self) -> None:
        with self._lock:
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.warning("Feishu is unreachable or failing; work waits and is retried")

    def answered(self) -> None:
        with self._lock:
            if self._down_since is None:
                return
            log.warning("Feishu answers again after %.0f s", time.monotonic() - self._down_since)
            self._down_since = None
            self.up_since = time.monotonic()
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener()
            except Exception:
                log.exception("a recovery listener failed")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.3
    max_delay: float = 8.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, attempt counting from 1."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


class TokenCache(ICache):
    """The SDK's token cache, made thread-safe and clearable.

    The SDK's LocalCache is a process-wide dict without a lock, and offers no way to drop a
    token that Feishu has rejected (99991663), which we need to recover without a restart.
    """

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            value, expire = self._values.get(key, ("", 0.0))
            return value if expire > time.time() else None

    def set(self, key: str, value: str, expire: int) -> None:
        with self._lock:
            self._values[key] = (value, float(expire))

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


# Feishu's documented limits for the referral-account operations (per app).
OPERATION_LIMITS: dict[str, tuple[int, float]] = {
    "create": (100, 60.0),
    "deactivate": (100, 60.0),
    "withdraw": (100, 60.0),
    "reconciliation": (100, 60.0),
    "enable": (10, 1.0),
    "get_account_assets": (10, 1.0),
    "contact_user_get": (50, 1.0),
    # Hire: referral progress and rewards (bot/feishu/hire.py).
    "referral_get_by_application": (50, 1.0),
    "application_get_detail": (10, 1.0),
    "application_list": (50, 1.0),
    "external_reward_create": (10, 1.0),
}


def build_client(settings: Settings, cache: TokenCache, timeout: float = 10.0) -> lark.Client:
    return (
        lark.Client.builder()
        .app_id(settings.app_id)
        .app_secret(settings.app_secret)
        .domain(settings.domain)
        .timeout(timeout)
        .cache(cache)
        .log_level(lark.LogLevel.ERROR)
        .build()
    )


class OpenApi:
    """Sends SDK requests under the rate limits and the retry policy."""

    @classmethod
    def of(
        cls, settings: Settings, *, timeout: float = 10.0, retry: RetryPolicy | None = None
    ) -> OpenApi:
        """The one way the bot, `import` and `doctor` connect to Feishu: the SDK's client for
        the app's credentials, with its token cache."""
        cache = TokenCache()
        return cls(build_client(settings, cache, timeout=timeout), cache, retry=retry)

    def __init__(
        self,
        client: lark.Client,
        cache: TokenCache,
        *,
        limits: dict[str, tuple[int, float]] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        metrics: Metrics | None = None,
    ) -> None:
        self.client = client
        self.metrics = metrics or Metrics()
        self.reachability = Reachability()
        self._cache = cache
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self.limiters = {
            op: SlidingWindowLimiter(limit, period)
            for op, (limit, period) in (limits or OPERATION_LIMITS).items()
        }

    def call(
        self,
        operation: str,
        send: Callable[[], R],
        *,
        idempotent: bool,
        priority: Priority = Priority.INTERACTIVE,
        limiter: SlidingWindowLimiter | None = None,
        deadline: float | None = None,
    ) -> R:
        """Send until success or a final failure. Non-idempotent calls are retried only when
        Feishu certainly did not act on them (refused connection, rate limit, bad token)."""
        try:
            response = self._call(operation, send, idempotent, priority, limiter, deadline)
        except OpenApiError as exc:
            outcome = "rate_limited" if exc.rate_limited else str(exc.code or "no_answer")
            self.metrics.openapi_calls.labels(operation, outcome).inc()
            raise
        self.metrics.openapi_calls.labels(operation, "ok").inc()
        return response

    def _call(
        self,
        operation: str,
        send: Callable[[], R],
        idempotent: bool,
        priority: Priority,
        limiter: SlidingWindowLimiter | None,
        deadline: float | None,
    ) -> R:
        limiter = limiter or self.limiters.get(operation)
        deadline = deadline or time.monotonic() + 60
        attempt = 0
        while True:
            attempt += 1
            slot = None
            if limiter is not None:
                asked = time.monotonic()
                try:
                    slot = limiter.acquire(priority, timeout=max(0.0, deadline - time.monotonic()))
                except RateLimitTimeout:
                    raise OpenApiError(
                        operation,
                        None,
                        "rate limit: no slot in time",
                        transient=True,
                        may_have_acted=False,
                    ) from None
                waited = time.monotonic() - asked
                if waited > 0.01:
                    self.metrics.ratelimit_waits.labels(operation).inc()
                    self.metrics.ratelimit_wait_seconds.labels(operation).inc(waited)
            sent = time.monotonic()
            try:
                response = send()
            except Exception as exc:
                response, failure = None, exc
            self.metrics.openapi_latency.labels(operation).observe(time.monotonic() - sent)
            error = _failure(operation, failure) if response is None else None
            if slot is not None:
                limiter.release(slot, counted=error is None or error.may_have_acted)
            if error is not None:
                if error.transient:
                    self.reachability.failed()
                if (idempotent or not error.may_have_acted) and self._wait(attempt, None, deadline):
                    continue
                raise error from None

            if response.success():
                self.reachability.answered()
                return response
            raw = response.raw
            status = raw.status_code if raw is not None else None
            error = OpenApiError(
                operation,
                response.code,
                response.msg or "",
                log_id=response.get_log_id(),
                http_status=status,
            )
            log.warning("%s", error)
            if error.transient and not error.rate_limited:
                self.reachability.failed()
            else:
                self.reachability.answered()  # an answer in words: Feishu is there
            if error.rate_limited:
                reset = _reset_seconds(raw)
                if limiter is not None:
                    limiter.pause(reset)
                if self._wait(attempt, reset, deadline):
                    continue
            elif response.code in TOKEN_CODES:
                self._cache.clear()
                if self._wait(attempt, 0.0, deadline):
                    continue
            elif (
                idempotent
                and ((status is not None and status >= 500) or response.code in SERVER_ERROR_CODES)
                and self._wait(attempt, None, deadline)
            ):
                continue
            raise error

    def _wait(self, attempt: int, at_least: float | None, deadline: float) -> bool:
        """Sleep before the next attempt; False when attempts or time have run out."""
        if attempt >= self._retry.attempts:
            return False
        delay = self._retry.backoff(attempt)
        if at_least is not None:
            delay = at_least + random.uniform(0, 0.25)
        if time.monotonic() + delay >= deadline:
            return False
        self._sleep(delay)
        return True


def _failure(operation: str, exc: Exception) -> OpenApiError:
    """An exception from the SDK as an error, knowing whether the request may have acted."""
    if isinstance(exc, requests.exceptions.ConnectionError):
        message = f"cannot reach Feishu: {type(exc).__name__}"
        certain = _never_reached_server(exc)
        return OpenApiError(operation, None, message, transient=True, may_have_acted=not certain)
    if isinstance(exc, ObtainAccessTokenException):
        # The token request failed, so the call itself was never sent. Wrong credentials
        # (10003, 10014, ...) will not pass by themselves; anything else may.
        credentials = exc.code is not None and 10000 <= exc.code < 11000
        return OpenApiError(
            operation,
            exc.code,
            f"tenant token refused: {exc.msg}",
            transient=not credentials,
            may_have_acted=False,
        )
    # e.g. a 502 page that is not JSON, or a read timeout: Feishu may or may not have acted.
    return OpenApiError(
        operation,
        None,
        f"unreadable answer: {type(exc).__name__}",
        transient=True,
        may_have_acted=True,
    )


def _never_reached_server(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection was never made, so the request cannot have taken effect."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in seen and len(seen) < 10:
        if type(cause).__name__ in ("NewConnectionError", "ConnectTimeoutError"):
            return True
        seen.append(cause)
        nxt = getattr(cause, "reason", None)
        cause = nxt if isinstance(nxt, BaseException) else (cause.__cause__ or cause.__context__)
    text = str(exc)
    return "NewConnectionError" in text or "Connection refused" in text


def _reset_seconds(raw) -> float:
    headers = {k.lower(): v for k, v in (raw.headers or {}).items()} if raw is not None else {}
    try:
        return max(0.0, float(headers.get("x-ogw-ratelimit-reset", "1")))
    except ValueError:
        return 1.0
