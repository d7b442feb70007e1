"""The Emulator facade: what tests and the sandbox drive.

`Emulator` itself holds the server's life (start, stop, url), the app's ids, the long
connection's face (ws_*) and `reset`; the rest of its API comes from one mixin per concern:
the tenant (`tenant_facade`), the record of what the bot did (`traffic_facade`), the knobs
(`knob_facade`), the events Feishu pushes (`event_facade`) and recruiting (`hire_facade`).
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from . import chats, files, scopes
from .context import Context
from .event_facade import EventFacade
from .hire_facade import HireFacade
from .knob_facade import KnobFacade
from .knobs import Knobs
from .ratelimit import DEFAULT_LIMITS, SlidingWindowLimiter
from .server import HttpServer, Pipeline
from .state import State
from .tenant_facade import TenantFacade
from .traffic_facade import TrafficFacade
from .ws import DEFAULT_PART_SIZE, LongConnection


class _Pipeline(Pipeline):
    """The server's pipeline, also taking multipart/form-data bodies (file uploads): their
    fields reach the handler as `files.Part`s instead of failing as JSON."""

    def __init__(self, ctx: Context, knobs: Knobs) -> None:
        super().__init__(ctx, knobs)
        self._content_type = threading.local()

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Any:
        self._content_type.value = next(
            (value for name, value in headers.items() if name.lower() == "content-type"), ""
        )
        return super().handle(method, target, headers, raw)

    def _parse_body(self, raw: bytes) -> dict[str, Any] | None:  # type: ignore[override]
        content_type = getattr(self._content_type, "value", "")
        if files.is_multipart(content_type):
            return files.parse_form(content_type, raw)
        return Pipeline._parse_body(raw)


class Emulator(TenantFacade, TrafficFacade, KnobFacade, EventFacade, HireFacade):
    """A local stand-in for the Feishu Open Platform, served over real HTTP."""

    def __init__(
        self,
        app_id: str = "cli_x",
        app_secret: str = "s3cret",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        enforce_rate_limits: bool = True,
        rate_limits: dict[str, tuple[int, float]] | None = None,
        tenant_key: str = "tenant_emulated",
        bot_open_id: str = "ou_bot",
        bot_name: str = "referral-bot",
        ws_ack_timeout: float = 3.0,
        ws_max_connections: int = 50,
        ws_part_size: int = DEFAULT_PART_SIZE,
        ws_client_config: dict[str, int] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.rate_limits: dict[str, tuple[int, float]] = dict(DEFAULT_LIMITS)
        self.rate_limits.update(rate_limits or {})
        self._state = State()
        self._knobs = Knobs()
        self._ctx = Context(
            app_id=app_id,
            app_secret=app_secret,
            state=self._state,
            limiter=SlidingWindowLimiter(),
            limits=self.rate_limits,
            enforce_rate_limits=enforce_rate_limits,
            tenant_key=tenant_key,
            bot_open_id=bot_open_id,
            bot_name=bot_name,
        )
        self._server: HttpServer | None = None
        self._ws = LongConnection(
            self._ctx,
            host,
            ack_timeout=ws_ack_timeout,
            max_connections=ws_max_connections,
            part_size=ws_part_size,
            client_config=ws_client_config,
        )
        self._ctx.ws = self._ws
        # orders outage(), end_outage(), stop() and the timer that ends a "refuse" outage
        self._outage_lock = threading.RLock()
        self._outage_timer: threading.Timer | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def app_id(self) -> str:
        return self._ctx.app_id

    @property
    def app_secret(self) -> str:
        return self._ctx.app_secret

    @property
    def tenant_key(self) -> str:
        return self._ctx.tenant_key

    @property
    def enforce_rate_limits(self) -> bool:
        return self._ctx.enforce_rate_limits

    @enforce_rate_limits.setter
    def enforce_rate_limits(self, value: bool) -> None:
        self._ctx.enforce_rate_limits = value

    def start(self) -> Emulator:
        if self._server is None:
            self._server = HttpServer(_Pipeline(self._ctx, self._knobs), self.host, self.port)
            self._server.start()
        self._ws.start()
        return self

    def stop(self) -> None:
        """Stop serving; this also ends any outage."""
        with self._outage_lock:
            self._cancel_outage_timer()
            self._knobs.end_outage()
            self._ws.stop()
            if self._server is not None:
                self._server.stop()
                self._server = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.address
        return f"http://{host}:{port}"

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- long connection (WebSocket) mode ---------------------------------------------------
    @property
    def ws_connections(self) -> int:
        """Open long connections of this app."""
        return self._ws.connections

    def ws_push(self, payload: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
        """Push an event or callback (a schema-2.0 envelope, plain JSON) as a data frame to one
        random open connection and return its decoded ack: {"code": 200}, {"code": 500}, or
        {"code": 200, "data": {...}} (the handler's answer, base64 JSON on the wire). Without an
        ack within `ws_ack_timeout` (3 s) it is pushed again, same message_id, to a random
        connection; while none is open (or the socket is silent) it waits for one. TimeoutError
        after `timeout`. A card.action.trigger answer's `card` (raw: `data`) is applied to the
        message's card, as Feishu does (see `latest_card`)."""
        return self._ws.push(payload, timeout=timeout)

    @property
    def ws_log(self) -> list[dict[str, Any]]:
        """Each ws_push, oldest first: message_id, event_type, acked, answer, attempts."""
        return self._ws.log

    @property
    def ws_client_config(self) -> dict[str, int]:
        """The ClientConfig the endpoint and every pong carry (change it in place, and pongs
        carry the change)."""
        return self._ws.client_config

    def ws_drop_all(self) -> None:
        """Close every long connection abruptly (no close frame), as a network cut does."""
        self._ws.drop_all()

    def ws_go_silent(self, seconds: float) -> None:
        """For `seconds`: no pong to pings and no delivery; the connections stay open."""
        self._ws.go_silent(seconds)

    def ws_refuse_new(self, seconds: float) -> None:
        """For `seconds`: the endpoint answers code 1 (system busy, the SDK retries) and socket
        handshakes get HTTP 503; open connections are left alone."""
        self._ws.refuse_new(seconds)

    # --- housekeeping ------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget accounts, employees, chats, messages, calls and knobs (scopes and the contact
        range back to their defaults), and end any outage (issued tokens stay valid)."""
        self.end_outage()
        self._state.clear()
        files.clear(self._state)
        chats.clear(self._state)
        self._knobs.clear()
        self._ctx.limiter.reset()
        self._ctx.scopes = scopes.DEFAULT_SCOPES
        self._ctx.contact_range = None
        self._ws.reset()
        self._reset_hire()
