"""The Emulator's knobs for tests and the sandbox: latency, failures (the next n, or until
stopped), expired tokens, and outages (Feishu refusing connections or answering 503 for a
while). Mixed into `Emulator`."""

from __future__ import annotations

import logging
import threading

from . import auth
from .context import Context
from .knobs import Knobs
from .server import HttpServer

log = logging.getLogger("bot.emulator")


class KnobFacade:
    _ctx: Context
    _knobs: Knobs
    _server: HttpServer | None
    # orders outage(), end_outage(), stop() and the timer that ends a "refuse" outage
    _outage_lock: threading.RLock
    _outage_timer: threading.Timer | None
    url: str  # the Emulator's

    # --- knobs -------------------------------------------------------------------------------
    def set_latency(self, operation: str, seconds: float) -> None:
        self._knobs.set_latency(operation, seconds)

    def fail_next(
        self, operation: str, n: int = 1, kind: str = "5xx", reset_seconds: int = 1
    ) -> None:
        self._knobs.fail_next(operation, n, kind, reset_seconds)

    def fail_until_stopped(self, operation: str, kind: str = "5xx", reset_seconds: int = 1) -> None:
        """Every request of `operation` ("hire": every referral-account operation, "*": every
        operation) fails as `fail_next` would, until `stop_failing`: Feishu keeps answering
        errors while the rest of the platform works."""
        self._knobs.fail_until_stopped(operation, kind, reset_seconds)

    def stop_failing(self, operation: str | None = None) -> None:
        """End `fail_until_stopped` for `operation`, or (None) for every operation."""
        self._knobs.stop_failing(operation)

    def in_flight(self, operation: str) -> int:
        """Requests of `operation` received and not answered yet (in their latency, say)."""
        return self._knobs.in_flight(operation)

    def expire_tokens(self) -> None:
        auth.expire_all(self._ctx)

    def outage(self, seconds: float | None, kind: str = "refuse") -> None:
        """Feishu is down for `seconds` (None: until end_outage()), replacing any other outage.

        "refuse": the port stops listening and open connections are dropped, so clients get
        connection refused; it listens again on the same address, state intact. "5xx": every
        request is answered with HTTP 503 and a system-error body (and recorded as a call).
        """
        with self._outage_lock:
            if kind == "refuse" and self._server is None:
                raise RuntimeError("the emulator is not started")
            self._knobs.start_outage(kind, seconds)
            self._cancel_outage_timer()
            if self._server is None:
                return
            if kind == "refuse":
                self._server.refuse()
                if seconds is not None:
                    self._outage_timer = threading.Timer(seconds, self._end_timed_outage)
                    self._outage_timer.daemon = True
                    self._outage_timer.start()
            else:
                self._server.resume()

    def end_outage(self) -> None:
        with self._outage_lock:
            self._cancel_outage_timer()
            self._knobs.end_outage()
            if self._server is not None:
                self._server.resume()

    @property
    def in_outage(self) -> bool:
        if self._knobs.outage() is not None:
            return True
        server = self._server
        return server is not None and server.refusing

    def _end_timed_outage(self) -> None:
        with self._outage_lock:
            # runs in the Timer's own thread; it may have been cancelled or replaced meanwhile
            if self._outage_timer is not threading.current_thread():
                return
            try:
                self.end_outage()
            except OSError:
                log.exception("the emulator could not listen again on %s", self.url)

    def _cancel_outage_timer(self) -> None:
        if self._outage_timer is not None:
            self._outage_timer.cancel()
            self._outage_timer = None
