"""HTTP plumbing: a threaded server, request parsing, and the per-request pipeline
(route -> outage -> latency -> token check -> API scope -> body -> injected failures ->
rate limit -> handler), recording every request as a Call."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import auth, routes, scopes
from .context import Context
from .knobs import Failure, Knobs
from .protocol import (
    BAD_REQUEST,
    FREQUENCY_LIMIT,
    HIRE_SYSTEM_ERROR,
    INTERNAL_ERROR,
    MSG_FREQUENCY_LIMIT,
    MSG_SYSTEM_ERROR,
    NOT_FOUND,
    ApiError,
    Request,
    rate_limited,
)
from .state import Call

log = logging.getLogger("bot.emulator")

Answer = tuple[int, dict[str, str], dict[str, Any]]


class Dropped(Exception):
    """The request was carried out and recorded; its connection is closed without an answer."""


def new_log_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(9).upper()


class Pipeline:
    """Turns one raw request into (status, extra headers, JSON body) and records it; raises
    `Dropped` (after recording) when the answer is to be lost."""

    def __init__(self, ctx: Context, knobs: Knobs) -> None:
        self.ctx = ctx
        self.knobs = knobs

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Answer:
        at = time.time()
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        route, params = routes.match(method, path)
        operation = route.operation if route else "unknown"
        self.knobs.begin(operation)
        try:
            return self._answer(operation, route, params, method, target, query, headers, raw, at)
        finally:
            self.knobs.end(operation)

    def _answer(
        self,
        operation: str,
        route: routes.Route | None,
        params: dict[str, str],
        method: str,
        target: str,
        query: dict[str, str],
        headers: dict[str, str],
        raw: bytes,
        at: float,
    ) -> Answer:
        path = urlsplit(target).path.rstrip("/") or "/"
        body: dict[str, Any] | None = None
        dropped = False
        try:
            outage = self.knobs.outage()
            if outage is not None and outage.kind == "5xx":
                raise ApiError(503, _system_error_code(operation), MSG_SYSTEM_ERROR)
            delay = self.knobs.latency(operation)
            if delay > 0:
                time.sleep(delay)
            if route is None:
                raise ApiError(404, NOT_FOUND, "not found")
            token = None
            if operation not in routes.UNAUTHENTICATED:
                token = auth.check_bearer(self.ctx, headers)
            scopes.check_operation(self.ctx.app_id, self.ctx.scopes, operation)
            body = self._parse_body(raw)
            self._inject_failure(operation)
            self.ctx.check_limit(operation)
            req = Request(operation, method, path, params, query, headers, body, token)
            # every value of a repeatable parameter (get_detail's options=a&options=b)
            req.extra["query_lists"] = parse_qs(urlsplit(target).query, keep_blank_values=True)
            status, extra, response = 200, {}, route.handler(self.ctx, req)
            after = self._take_failure(operation, after=True)
            if after is not None and after.kind == "no_trans_time":
                data = response.get("data")
                if isinstance(data, dict):
                    data.pop("trans_time", None)
            elif after is not None and after.kind == "drop_after":
                dropped = True
            elif after is not None:
                raise ApiError(500, _system_error_code(operation), MSG_SYSTEM_ERROR)
        except ApiError as err:
            status, extra, response = err.http_status, err.headers, err.body()
        except Exception:  # a bug in the emulator: answer like Feishu's internal error
            log.exception("emulator handler failed for %s %s", method, target)
            status, extra, response = 500, {}, {"code": INTERNAL_ERROR, "msg": "internal error"}
        if body is None and raw:
            try:
                parsed = json.loads(raw)
                body = parsed if isinstance(parsed, dict) else None
            except ValueError:
                body = None
        self.ctx.state.record(
            Call(operation, method, path, query, dict(headers), body, status, response, at)
        )
        if dropped:
            raise Dropped(f"{method} {path}")
        return status, extra, response

    @staticmethod
    def _parse_body(raw: bytes) -> dict[str, Any] | None:
        if not raw or not raw.strip():
            return None
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise ApiError(400, BAD_REQUEST, "Bad Request") from None
        if not isinstance(parsed, dict):
            raise ApiError(400, BAD_REQUEST, "Bad Request")
        return parsed

    def _take_failure(self, operation: str, *, after: bool = False) -> Failure | None:
        hire = operation in routes.HIRE_OPERATIONS
        return self.knobs.take_failure(operation, after=after, hire=hire)

    def _inject_failure(self, operation: str) -> None:
        failure = self._take_failure(operation)
        if failure is None:
            return
        code = _system_error_code(operation)
        if failure.kind == "ratelimit":
            limit = self.ctx.limits.get(operation, (100, 60.0))[0]
            raise rate_limited(FREQUENCY_LIMIT, MSG_FREQUENCY_LIMIT, limit, failure.reset_seconds)
        if failure.kind == "5xx":
            raise ApiError(500, code, MSG_SYSTEM_ERROR)
        # "server_error_code": HTTP 200 whose body carries the error code
        raise ApiError(200, code, MSG_SYSTEM_ERROR)


def _system_error_code(operation: str) -> int:
    return HIRE_SYSTEM_ERROR if operation in routes.HIRE_OPERATIONS else INTERNAL_ERROR


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        headers = {k: v for k, v in self.headers.items()}
        try:
            status, extra, body = self.server.pipeline.handle(self.command, self.path, headers, raw)
        except Dropped:
            self.close_connection = True  # the server closes it: the caller reads no answer
            return
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Tt-Logid", new_log_id())
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s - %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        with self._connections_lock:
            self._connections.add(conn)
        return conn, addr

    def shutdown_request(self, request: Any) -> None:
        # under the lock, so drop_connections never shuts down a closed (maybe reused) fd
        with self._connections_lock:
            self._connections.discard(request)
            super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Shut down open (keep-alive) connections, so their handler threads stop answering."""
        with self._connections_lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):  # the peer may have gone already
                    conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a connection dropped by an outage (or by the client) is no emulator bug
        if isinstance(sys.exc_info()[1], OSError):
            log.debug("connection from %s failed", client_address, exc_info=True)
        else:
            log.exception("connection from %s failed", client_address)


def _hold_port(address: tuple[str, int]) -> socket.socket | None:
    """A bound socket that does not listen: connections to the port are refused, and no other
    socket (say, a client's ephemeral port) can take the port before the server listens again."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:  # e.g. platforms whose SO_REUSEADDR does not allow it: go without
        sock.close()
        return None
    return sock


class HttpServer:
    """Owns the listening socket and the serving thread. `refuse()` closes the socket (an
    outage) and `resume()` listens again on the same address."""

    def __init__(self, pipeline: Pipeline, host: str = "127.0.0.1", port: int = 0) -> None:
        self._pipeline = pipeline
        self._lock = threading.Lock()
        self._httpd: _Server | None = _Server((host, port), pipeline)
        bound_host, bound_port = self._httpd.server_address[:2]
        self._address = (str(bound_host), int(bound_port))
        self._thread: threading.Thread | None = None
        self._refusing = False
        self._placeholder: socket.socket | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self._address

    @property
    def refusing(self) -> bool:
        """True while the socket is closed for an outage."""
        with self._lock:
            return self._refusing

    def start(self) -> None:
        with self._lock:
            if self._httpd is not None and self._thread is None:
                self._serve(self._httpd)

    def refuse(self) -> None:
        """Stop listening and drop open connections, keeping the port reserved."""
        with self._lock:
            if self._httpd is None:
                return
            self._halt()
            self._refusing = True
            self._placeholder = _hold_port(self._address)

    def resume(self) -> None:
        """Listen again on the same address after `refuse()`."""
        with self._lock:
            if not self._refusing:
                return
            try:
                httpd = _Server(self._address, self._pipeline)
            except OSError:
                if self._placeholder is None:
                    raise
                # where the held port blocks the bind, free it first
                self._release_placeholder()
                httpd = _Server(self._address, self._pipeline)
            self._release_placeholder()
            self._refusing = False
            self._httpd = httpd
            self._serve(httpd)

    def stop(self) -> None:
        with self._lock:
            if self._httpd is not None:
                self._halt()
            self._release_placeholder()
            self._refusing = False

    def _serve(self, httpd: _Server) -> None:
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="feishu-emulator",
            daemon=True,
        )
        self._thread.start()

    def _halt(self) -> None:
        httpd, self._httpd = self._httpd, None
        assert httpd is not None
        if self._thread is not None:
            httpd.shutdown()  # returns once serve_forever has left its loop: no more accepts
            self._thread.join(timeout=5)
            self._thread = None
        httpd.server_close()
        httpd.drop_connections()

    def _release_placeholder(self) -> None:
        if self._placeholder is not None:
            self._placeholder.close()
        self._placeholder = None
