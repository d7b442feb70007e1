"""HTTP plumbing: a threaded server, request parsing, and the per-request pipeline
(route -> latency -> token check -> body -> injected failures -> rate limit -> handler),
recording every request as a Call."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import auth, routes
from .context import Context
from .knobs import Knobs
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


def new_log_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(9).upper()


class Pipeline:
    """Turns one raw request into (status, extra headers, JSON body) and records it."""

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
        body: dict[str, Any] | None = None
        try:
            delay = self.knobs.latency(operation)
            if delay > 0:
                time.sleep(delay)
            if route is None:
                raise ApiError(404, NOT_FOUND, "not found")
            token = None
            if operation not in routes.UNAUTHENTICATED:
                token = auth.check_bearer(self.ctx, headers)
            body = self._parse_body(raw)
            self._inject_failure(operation)
            self.ctx.check_limit(operation)
            req = Request(operation, method, path, params, query, headers, body, token)
            status, extra, response = 200, {}, route.handler(self.ctx, req)
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

    def _inject_failure(self, operation: str) -> None:
        failure = self.knobs.take_failure(operation)
        if failure is None:
            return
        code = HIRE_SYSTEM_ERROR if operation in routes.HIRE_OPERATIONS else INTERNAL_ERROR
        if failure.kind == "ratelimit":
            limit = self.ctx.limits.get(operation, (100, 60.0))[0]
            raise rate_limited(FREQUENCY_LIMIT, MSG_FREQUENCY_LIMIT, limit, failure.reset_seconds)
        if failure.kind == "5xx":
            raise ApiError(500, code, MSG_SYSTEM_ERROR)
        # "server_error_code": HTTP 200 whose body carries the error code
        raise ApiError(200, code, MSG_SYSTEM_ERROR)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        headers = {k: v for k, v in self.headers.items()}
        status, extra, body = self.server.pipeline.handle(self.command, self.path, headers, raw)
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
        super().__init__(address, _Handler)


class HttpServer:
    """Owns the listening socket and the serving thread."""

    def __init__(self, pipeline: Pipeline, host: str = "127.0.0.1", port: int = 0) -> None:
        self._httpd = _Server((host, port), pipeline)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="feishu-emulator",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
