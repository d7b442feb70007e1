"""Long connection (WebSocket) mode: the endpoint the SDK asks for a socket URL, the socket
server speaking `pbbp2.Frame`s, and pushes of events and card callbacks over it.

Wire facts (lark-oapi 1.7.5, `lark_oapi/ws/`, and /work/shared/spec/feishu-facts.md):
- `POST /callback/ws/endpoint` `{"AppID", "AppSecret"}` (no bearer token) answers
  `{"code": 0, "data": {"URL": "ws://...?device_id=..&service_id=..", "ClientConfig": {...}}}`.
  Codes 1 and 1000040343 make the SDK retry; any other non-zero code is fatal to it.
- A refused handshake carries headers `handshake-status`, `handshake-msg` and (for 514)
  `handshake-autherrcode`; 514 + 1000040350 (too many connections) is fatal to the SDK, other
  refusals make it retry.
- Frames are binary protobuf messages, one per WebSocket message. Control frames (method 0):
  the client pings (`type=ping`), the server pongs (`type=pong`, payload = ClientConfig JSON).
  Data frames (method 1): headers `type=event`, `message_id`, `trace_id`, `sum`, `seq`, payload
  = a part of the plain JSON event; the client acks by echoing the (last) frame with payload
  `{"code": 200}` / `{"code": 200, "data": base64(JSON)}` / `{"code": 500}`.

The frame codec below is written by hand rather than importing the SDK's generated
`lark_oapi.ws.pb.pbbp2_pb2`: the emulator stands for Feishu and depends on no client SDK (that
module also carries its own vendored protobuf runtime), and the tests decode and encode with
the SDK's module, so they check this codec against the real schema.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import copy
import email.utils
import json
import logging
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse

from .context import Context
from .protocol import ApiError, Request

log = logging.getLogger("bot.emulator")

# --- codes ------------------------------------------------------------------------------------
SYSTEM_BUSY = 1  # the SDK retries (documented in the SDK's const.py)
HANDSHAKE_AUTH_FAILED = 514  # handshake-status of a refused handshake (SDK const AUTH_FAILED)
EXCEED_CONN_LIMIT = 1000040350  # handshake-autherrcode: too many connections (SDK const; fatal)
# emulator choice: Feishu's code for wrong AppID/AppSecret on the endpoint was not confirmed;
# any code other than 1 and 1000040343 is fatal to the SDK, which is what matters.
WS_CREDENTIALS_INVALID = 1000040351
# emulator choice: handshake-autherrcode for an unknown device_id/service_id (retryable)
WS_UNKNOWN_ENDPOINT = 1000040345

DEFAULT_CLIENT_CONFIG: dict[str, int] = {
    "ReconnectCount": -1,
    "ReconnectInterval": 120,
    "ReconnectNonce": 30,
    "PingInterval": 120,
}
# The SDK's websockets client refuses messages over 1 MiB (its max_size default), frame
# overhead included: parts of the event JSON stay well below that.
DEFAULT_PART_SIZE = 1_000_000

METHOD_CONTROL = 0
METHOD_DATA = 1


# --- pbbp2.Frame codec ------------------------------------------------------------------------
# message Header { required string key = 1; required string value = 2; }
# message Frame { required uint64 SeqID = 1; required uint64 LogID = 2; required int32 service = 3;
#   required int32 method = 4; repeated Header headers = 5; optional string payload_encoding = 6;
#   optional string payload_type = 7; optional bytes payload = 8; optional string LogIDNew = 9; }
def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int32s go on the wire as 10-byte two's complement
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field_no: int, wire_type: int) -> bytes:
    return _varint(field_no << 3 | wire_type)


def _len_field(field_no: int, data: bytes) -> bytes:
    return _key(field_no, 2) + _varint(len(data)) + data


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, int or bytes) of each field of a protobuf message."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field_no, wire_type = key >> 3, key & 7
        value: int | bytes
        if wire_type == 0:
            value, pos = _read_varint(data, pos)
        elif wire_type == 2:
            size, pos = _read_varint(data, pos)
            if pos + size > len(data):
                raise ValueError("truncated field")
            value, pos = data[pos : pos + size], pos + size
        elif wire_type == 1:
            value, pos = int.from_bytes(data[pos : pos + 8], "little"), pos + 8
        elif wire_type == 5:
            value, pos = int.from_bytes(data[pos : pos + 4], "little"), pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
        out.append((field_no, value))
    if pos != len(data):
        raise ValueError("truncated message")
    return out


def _int32(n: int) -> int:
    n &= 0xFFFFFFFF
    return n - (1 << 32) if n & 0x80000000 else n


@dataclass
class Frame:
    seq_id: int = 0
    log_id: int = 0
    service: int = 0
    method: int = METHOD_CONTROL
    headers: list[tuple[str, str]] = field(default_factory=list)
    payload: bytes | None = None
    payload_encoding: str | None = None
    payload_type: str | None = None
    log_id_new: str | None = None

    def header(self, key: str) -> str | None:
        for k, v in self.headers:
            if k == key:
                return v
        return None

    def encode(self) -> bytes:
        out = bytearray()
        out += _key(1, 0) + _varint(self.seq_id)
        out += _key(2, 0) + _varint(self.log_id)
        out += _key(3, 0) + _varint(self.service)
        out += _key(4, 0) + _varint(self.method)
        for k, v in self.headers:
            out += _len_field(5, _len_field(1, k.encode()) + _len_field(2, v.encode()))
        if self.payload_encoding is not None:
            out += _len_field(6, self.payload_encoding.encode())
        if self.payload_type is not None:
            out += _len_field(7, self.payload_type.encode())
        if self.payload is not None:
            out += _len_field(8, self.payload)
        if self.log_id_new is not None:
            out += _len_field(9, self.log_id_new.encode())
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Frame:
        frame = cls()
        seen: set[int] = set()
        for no, value in _fields(data):
            seen.add(no)
            if isinstance(value, int):
                if no == 1:
                    frame.seq_id = value
                elif no == 2:
                    frame.log_id = value
                elif no == 3:
                    frame.service = _int32(value)
                elif no == 4:
                    frame.method = _int32(value)
            elif no == 5:
                parts = dict(_fields(value))
                k, v = parts.get(1, b""), parts.get(2, b"")
                if not isinstance(k, bytes) or not isinstance(v, bytes):
                    raise ValueError("bad header")
                frame.headers.append((k.decode(), v.decode()))
            elif no == 6:
                frame.payload_encoding = value.decode()
            elif no == 7:
                frame.payload_type = value.decode()
            elif no == 8:
                frame.payload = value
            elif no == 9:
                frame.log_id_new = value.decode()
        if not {1, 2, 3, 4} <= seen:
            raise ValueError("a required field of pbbp2.Frame is missing")
        return frame


def data_frames(
    payload: bytes,
    *,
    message_id: str,
    trace_id: str,
    service: int,
    part_size: int = DEFAULT_PART_SIZE,
    seq_id: int = 0,
    msg_type: str = "event",
) -> list[Frame]:
    """The data frames of one message: its payload split into parts of at most `part_size`."""
    parts = [payload[i : i + part_size] for i in range(0, len(payload), part_size)] or [b""]
    log_id = random.getrandbits(63)
    return [
        Frame(
            seq_id=seq_id,
            log_id=log_id,
            service=service,
            method=METHOD_DATA,
            headers=[
                ("type", msg_type),
                ("message_id", message_id),
                ("trace_id", trace_id),
                ("sum", str(len(parts))),
                ("seq", str(i)),
            ],
            payload=part,
        )
        for i, part in enumerate(parts)
    ]


# --- the long-connection server ---------------------------------------------------------------
@dataclass
class _Conn:
    ws: ServerConnection
    device_id: str
    service_id: int
    opened_at: float


def _reject(status: int, reason: str, msg: str, headers: dict[str, str]) -> WsResponse:
    body = msg.encode()
    hdrs = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Length", str(len(body))),
            ("Content-Type", "text/plain; charset=utf-8"),
        ]
    )
    for k, v in headers.items():
        hdrs[k] = v
    return WsResponse(status, reason, hdrs, body)


class LongConnection:
    """The socket side of long-connection mode, on its own event loop in its own thread."""

    def __init__(
        self,
        ctx: Context,
        host: str = "127.0.0.1",
        *,
        ack_timeout: float = 3.0,
        max_connections: int = 50,
        part_size: int = DEFAULT_PART_SIZE,
        client_config: dict[str, int] | None = None,
    ) -> None:
        self.ctx = ctx
        self.host = host
        self.ack_timeout = ack_timeout
        self.max_connections = max_connections
        self.part_size = part_size
        self.client_config: dict[str, int] = {**DEFAULT_CLIENT_CONFIG, **(client_config or {})}
        self._lock = threading.Lock()
        self._endpoints: dict[str, int] = {}  # device_id -> service_id, as issued
        self._conns: dict[int, _Conn] = {}
        self._pending: dict[str, concurrent.futures.Future[dict[str, Any]]] = {}
        self._log: list[dict[str, Any]] = []
        self._silent_until = 0.0
        self._refuse_until = 0.0
        self._seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self.port = 0

    # --- lifecycle -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        if self._loop is not None:
            return
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=loop.run_forever, name="feishu-emulator-ws", daemon=True
        )
        self._thread.start()
        self._loop = loop
        self._server = self._call(self._serve(), timeout=5)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _serve(self) -> Server:
        return await serve(
            self._handler,
            self.host,
            0,
            process_request=self._process_request,
            ping_interval=None,  # Feishu relies on the client's pings
            max_size=None,
            compression=None,
        )

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None:
            return
        if server is not None:
            try:
                self._call(self._close(server), timeout=5)
            except Exception:  # pragma: no cover - best effort on shutdown
                log.exception("the emulator's socket server did not close cleanly")
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        loop.close()
        self._loop = self._thread = self._server = None
        with self._lock:
            self._conns.clear()
            for fut in self._pending.values():
                fut.cancel()

    async def _close(self, server: Server) -> None:
        for conn in list(self._conns.values()):
            conn.ws.transport.abort()
        server.close(close_connections=False)
        await server.wait_closed()

    def _call(self, coro: Any, timeout: float | None = None) -> Any:
        if self._loop is None:
            coro.close()
            raise RuntimeError("the emulator is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def reset(self) -> None:
        """Forget the push log and end silence and refusal (connections stay open)."""
        with self._lock:
            self._log.clear()
            self._silent_until = self._refuse_until = 0.0

    # --- endpoint --------------------------------------------------------------------------
    def refusing(self) -> bool:
        return time.monotonic() < self._refuse_until

    def silent(self) -> bool:
        return time.monotonic() < self._silent_until

    def issue_endpoint(self) -> dict[str, Any]:
        device_id = secrets.token_hex(16)
        service_id = random.randint(1, 2**31 - 1)
        with self._lock:
            self._endpoints[device_id] = service_id
        url = f"ws://{self.host}:{self.port}/ws?device_id={device_id}&service_id={service_id}"
        return {"URL": url, "ClientConfig": dict(self.client_config)}

    # --- handshake and frames --------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: WsRequest) -> Any:
        if self.refusing():
            return _reject(503, "Service Unavailable", "system busy", {})
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        device_id, service_id = query.get("device_id", ""), query.get("service_id", "")
        with self._lock:
            issued = self._endpoints.get(device_id)
            count = len(self._conns)
        if issued is None or str(issued) != service_id:
            return _reject(
                HANDSHAKE_AUTH_FAILED,
                "Auth Failed",
                "unknown device_id or service_id",
                {
                    "handshake-status": str(HANDSHAKE_AUTH_FAILED),
                    "handshake-msg": "unknown device_id or service_id",
                    "handshake-autherrcode": str(WS_UNKNOWN_ENDPOINT),
                },
            )
        if count >= self.max_connections:
            msg = f"exceed connection limit ({self.max_connections} per app)"
            return _reject(
                HANDSHAKE_AUTH_FAILED,
                "Auth Failed",
                msg,
                {
                    "handshake-status": str(HANDSHAKE_AUTH_FAILED),
                    "handshake-msg": msg,
                    "handshake-autherrcode": str(EXCEED_CONN_LIMIT),
                },
            )
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(ws.request.path).query).items()}
        conn = _Conn(ws, query["device_id"], int(query["service_id"]), time.time())
        key = id(ws)
        with self._lock:
            self._conns[key] = conn
        try:
            async for message in ws:
                if isinstance(message, str):
                    continue
                try:
                    frame = Frame.decode(message)
                except ValueError:
                    log.warning("undecodable frame from %s", conn.device_id)
                    continue
                await self._on_frame(conn, frame)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._conns.pop(key, None)

    async def _on_frame(self, conn: _Conn, frame: Frame) -> None:
        if frame.method == METHOD_CONTROL:
            if frame.header("type") == "ping" and not self.silent():
                pong = Frame(
                    service=frame.service,
                    method=METHOD_CONTROL,
                    headers=[("type", "pong")],
                    payload=json.dumps(self.client_config).encode(),
                )
                with contextlib.suppress(ConnectionClosed):
                    await conn.ws.send(pong.encode())
            return
        if frame.method != METHOD_DATA:
            return
        message_id = frame.header("message_id") or ""
        try:
            answer = json.loads(frame.payload or b"{}")
        except ValueError:
            answer = {"code": None, "raw": (frame.payload or b"").decode(errors="replace")}
        with self._lock:
            fut = self._pending.get(message_id)
        if fut is not None and not fut.done():
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                fut.set_result(answer if isinstance(answer, dict) else {"code": None})

    # --- knobs -----------------------------------------------------------------------------
    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._conns)

    def drop_all(self) -> None:
        if self._loop is None:
            return
        self._call(self._drop_all(), timeout=5)

    async def _drop_all(self) -> None:
        with self._lock:
            conns = list(self._conns.items())
            for key, _ in conns:
                self._conns.pop(key, None)
        for _, conn in conns:
            conn.ws.transport.abort()

    def go_silent(self, seconds: float) -> None:
        self._silent_until = time.monotonic() + seconds

    def refuse_new(self, seconds: float) -> None:
        self._refuse_until = time.monotonic() + seconds

    @property
    def log(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._log)

    # --- pushes ----------------------------------------------------------------------------
    def _pick(self) -> _Conn | None:
        if self.silent():
            return None
        with self._lock:
            conns = list(self._conns.values())
        return random.choice(conns) if conns else None

    async def _send(self, conn: _Conn, frames: list[Frame]) -> None:
        for frame in frames:
            frame.service = conn.service_id
            await conn.ws.send(frame.encode())

    def push(self, payload: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
        """Send `payload` to one random open connection and wait for its ack, pushing again
        (same message_id) every `ack_timeout` seconds; TimeoutError after `timeout`."""
        if self._loop is None:
            raise RuntimeError("the emulator is not started")
        header = payload.get("header") if isinstance(payload.get("header"), dict) else {}
        event_type = str(header.get("event_type") or payload.get("type") or "")
        message_id = secrets.token_hex(16)
        trace_id = secrets.token_hex(16)
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        with self._lock:
            self._seq += 1
            seq = self._seq
        fut: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        with self._lock:
            self._pending[message_id] = fut
        deadline = time.monotonic() + timeout
        attempts = 0
        answer: dict[str, Any] | None = None
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                conn = self._pick()
                if conn is None:  # nobody to deliver to (or silent): look again shortly
                    try:
                        answer = fut.result(timeout=min(0.05, remaining))
                        break
                    except TimeoutError:
                        continue
                attempts += 1
                frames = data_frames(
                    data,
                    message_id=message_id,
                    trace_id=trace_id,
                    service=conn.service_id,
                    part_size=self.part_size,
                    seq_id=seq,
                )
                try:
                    self._call(self._send(conn, frames), timeout=max(remaining, 0.1))
                    wait = self.ack_timeout
                except Exception:  # the connection went away meanwhile
                    log.debug("push %s to %s failed", message_id, conn.device_id, exc_info=True)
                    wait = 0.05
                try:
                    answer = fut.result(timeout=max(0.0, min(wait, deadline - time.monotonic())))
                    break
                except TimeoutError:
                    continue
        finally:
            with self._lock:
                self._pending.pop(message_id, None)
        decoded = _decode_answer(answer) if answer is not None else None
        with self._lock:
            self._log.append(
                {
                    "message_id": message_id,
                    "event_type": event_type,
                    "acked": decoded is not None,
                    "answer": copy.deepcopy(decoded),
                    "attempts": attempts,
                }
            )
        if decoded is None:
            raise TimeoutError(
                f"no ack for {event_type or 'event'} {message_id} within {timeout} s "
                f"({attempts} attempts)"
            )
        if event_type == "card.action.trigger":
            self._apply_card_answer(payload, decoded)
        return decoded

    def _apply_card_answer(self, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        """Feishu updates the card from a callback answer's `card`, like a delayed update."""
        data = answer.get("data")
        if answer.get("code") != 200 or not isinstance(data, dict):
            return
        card = data.get("card")
        if not isinstance(card, dict):
            return
        if card.get("type") == "raw" and isinstance(card.get("data"), dict):
            new = copy.deepcopy(card["data"])
        elif card.get("type") == "template":
            new = copy.deepcopy(card)
        else:
            return
        event = payload.get("event") or {}
        message_id = (event.get("context") or {}).get("open_message_id") or ""
        state = self.ctx.state
        with state.lock:
            msg = state.messages.get(message_id)
            if msg is not None:
                msg.updates.append(new)


def _decode_answer(answer: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"code": answer.get("code")}
    raw = answer.get("data")
    if raw:
        try:
            out["data"] = json.loads(base64.b64decode(raw))
        except (ValueError, TypeError):
            out["data"] = raw
    return out


# --- the HTTP endpoint ------------------------------------------------------------------------
def endpoint(ctx: Context, req: Request) -> dict[str, Any]:
    """POST /callback/ws/endpoint: a socket URL and the client config, for the app's creds."""
    body = req.json()
    if body.get("AppID") != ctx.app_id or body.get("AppSecret") != ctx.app_secret:
        raise ApiError(200, WS_CREDENTIALS_INVALID, "invalid app_id or app_secret")
    lc = ctx.ws
    if lc is None or not lc.running or lc.refusing():
        raise ApiError(200, SYSTEM_BUSY, "system busy")
    return {"code": 0, "msg": "ok", "data": lc.issue_endpoint()}
