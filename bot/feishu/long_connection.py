"""Feishu's long connection: the bot dials out and receives events and card callbacks over one
WebSocket, so it needs no public URL.

This is our own small client, not the SDK's `lark.ws.Client` (lark-oapi 1.7.5): its `start()`
blocks forever and has no stop; it runs on one module-level event loop per process; its endpoint
request has no timeout and can wedge reconnection for days (SDK issue #169); its `_disconnect`
can deadlock (#168); and an exception while reconnecting can kill its receive task while
`start()` sleeps on, deaf. We keep its wire format (the `pbbp2.Frame` protobuf it ships) and
nothing else; reading and writing it, and reassembling split payloads, is `frames`'s.

Frames are acknowledged only after the push is taken (the inbox has the event, or the card
answer is ready), so a connection lost in between costs a re-push, never an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

import requests
from lark_oapi.ws.pb.pbbp2_pb2 import Frame
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bot.config import Settings
from bot.feishu import frames
from bot.feishu.daemon_pool import DaemonPool
from bot.feishu.pushes import UnknownPush

log = logging.getLogger(__name__)

T = TypeVar("T")

ENDPOINT_PATH = "/callback/ws/endpoint"
ENDPOINT_TIMEOUT = (5.0, 10.0)  # connect, read
OPEN_TIMEOUT = 10.0
CLOSE_TIMEOUT = 1.0
# Feishu suggests a ping every 120 s, and "no pong for two intervals" would then notice a silent
# connection after four minutes. Pinging at least every 10 s notices it in 20 s, so the bot is
# back within 30 s.
MAX_PING_INTERVAL = 10.0
BACKOFF_FIRST = 0.5
BACKOFF_CAP = 5.0
# An endpoint refusal that is not "busy" is a configuration problem (a wrong secret, the long
# connection not enabled for the app): still retried, but without flooding the log.
REFUSAL_BACKOFF_CAP = 30.0
# The endpoint codes the SDK retries: system busy, internal error.
TRANSIENT_CODES = frozenset({1, 1000040343})
MAX_FRAME_BYTES = 4 * 1024 * 1024  # Feishu keeps each frame under 1 MiB; headers come on top
HANDLER_THREADS = 8

# Decodes one push and hands it on: the card answer for a callback, None for an event.
Take = Callable[[bytes], object | None]


@dataclass(frozen=True)
class ConnectionState:
    """Where the connection stands: `connected`, `connecting` or `down`, since when."""

    status: str
    since: datetime
    connects: int
    # Seconds without a connection (since the last one dropped, or since start); None while up.
    down_for: float | None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "state": self.status,
            "since": self.since.isoformat(timespec="seconds"),
            "connects": self.connects,
        }
        if self.down_for is not None:
            body["down_for_s"] = int(self.down_for)
        return body


@dataclass(frozen=True)
class _Endpoint:
    url: str
    device_id: str
    service_id: int
    ping_interval: float

    @property
    def where(self) -> str:
        """The URL without its query: the real one carries an access key and a ticket."""
        parts = urlparse(self.url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"


class ConnectFailed(Exception):
    def __init__(self, reason: str, *, transient: bool = True) -> None:
        super().__init__(reason)
        self.transient = transient


class LongConnection:
    """Receives pushes over the long connection in its own thread and event loop, reconnecting
    after a drop or a silence, until `stop`."""

    def __init__(
        self,
        settings: Settings,
        take: Take,
        *,
        max_ping_interval: float = MAX_PING_INTERVAL,
        backoff_cap: float = BACKOFF_CAP,
    ) -> None:
        self._settings = settings
        self._take = take
        self._max_ping_interval = max_ping_interval
        self._backoff_cap = backoff_cap
        self._lock = threading.Lock()
        self._status = "down"
        self._since = datetime.now(UTC)
        self._down_since: float | None = time.monotonic()
        self._connects = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._drain_deadline = 0.0
        # Daemon threads, all of them (the endpoint request, the pushes being taken, the DNS
        # lookups of the loop): a stop is bounded by `stop`'s timeout, not by the network.
        self._pool = DaemonPool(HANDLER_THREADS, "long-connection-push")
        self._parts = frames.Parts()
        self._last_heard = 0.0
        self._ping_interval = max_ping_interval

    # --- the caller's side -----------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._loop = asyncio.new_event_loop()
        self._stopping = asyncio.Event()
        with self._lock:
            self._down_since = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="long-connection", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop taking frames, let the ones in hand be taken and acknowledged, close the
        connection; within `timeout`. Returns whether the client stopped in time."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None or loop is None or stopping is None:
            return True
        deadline = time.monotonic() + timeout
        # Leave time for the close handshake after the acknowledgements.
        self._drain_deadline = deadline - CLOSE_TIMEOUT - 0.2
        with contextlib.suppress(RuntimeError):  # the loop has already closed
            loop.call_soon_threadsafe(stopping.set)
        thread.join(max(0.0, deadline - time.monotonic()))
        self._pool.shutdown(wait=False, cancel_futures=True)
        if thread.is_alive():
            log.warning("long connection: did not stop within %.1f s", timeout)
            return False
        self._thread = None
        return True

    @property
    def state(self) -> ConnectionState:
        with self._lock:
            down_for = None
            if self._down_since is not None:
                down_for = time.monotonic() - self._down_since
            return ConnectionState(self._status, self._since, self._connects, down_for)

    def _set_status(self, status: str) -> None:
        with self._lock:
            if status == self._status:
                return
            self._status = status
            self._since = datetime.now(UTC)
            if status == "connected":
                self._connects += 1
                self._down_since = None
            elif self._down_since is None:
                self._down_since = time.monotonic()

    # --- the connection's thread -----------------------------------------------------------

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        loop.set_default_executor(self._pool)
        try:
            loop.run_until_complete(self._main())
        finally:
            self._set_status("down")
            # Whatever did not finish in time (a push still being taken) is dropped unacknowledged.
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.close()

    async def _main(self) -> None:
        stopping = self._stopping
        assert stopping is not None
        failures = 0
        while not stopping.is_set():
            self._set_status("connecting")
            try:
                endpoint = await self._until_stopped(
                    asyncio.get_running_loop().run_in_executor(self._pool, self._endpoint)
                )
                if endpoint is None:
                    break
                ws = await self._until_stopped(self._open(endpoint))
                if ws is None:
                    break
            except Exception as exc:
                failures += 1
                transient = not isinstance(exc, ConnectFailed) or exc.transient
                cap = self._backoff_cap if transient else REFUSAL_BACKOFF_CAP
                delay = min(cap, BACKOFF_FIRST * 2 ** (failures - 1)) * random.uniform(0.5, 1.0)
                self._set_status("down")
                log.warning(
                    "long connection: could not connect (%s); retrying in %.1f s",
                    _reason(exc),
                    delay,
                )
                await self._sleep(delay)
                continue
            failures = 0
            try:
                reason = await self._session(ws, endpoint)
            except Exception as exc:  # a bug of ours must not leave the bot deaf
                log.exception("long connection: the session failed")
                reason = _reason(exc)
            self._set_status("down")
            if stopping.is_set():
                log.info("long connection: closed")
                break
            delay = random.uniform(0.1, 1.0)
            log.warning("long connection: dropped (%s); reconnecting in %.1f s", reason, delay)
            await self._sleep(delay)

    def _endpoint(self) -> _Endpoint:
        """Ask Feishu where to connect (a blocking request, run in a pool thread)."""
        settings = self._settings
        try:
            response = requests.post(
                settings.domain.rstrip("/") + ENDPOINT_PATH,
                json={"AppID": settings.app_id, "AppSecret": settings.app_secret},
                headers={"locale": "zh"},
                timeout=ENDPOINT_TIMEOUT,
            )
        except requests.RequestException as exc:
            raise ConnectFailed(f"endpoint request failed: {type(exc).__name__}") from None
        if response.status_code != 200:
            transient = response.status_code >= 500 or response.status_code == 429
            raise ConnectFailed(
                f"endpoint answered HTTP {response.status_code}", transient=transient
            )
        try:
            body = response.json()
            code = body.get("code")
            if code != 0:
                raise ConnectFailed(
                    f"endpoint answered code {code}: {body.get('msg', '')}",
                    transient=code in TRANSIENT_CODES,
                )
            data = body["data"]
            url = data["URL"]
            query = parse_qs(urlparse(url).query)
            config = data.get("ClientConfig") or {}
            return _Endpoint(
                url=url,
                device_id=query.get("device_id", [""])[0],
                service_id=int(query.get("service_id", ["0"])[0]),
                ping_interval=float(config.get("PingInterval") or 120),
            )
        except ConnectFailed:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConnectFailed(f"endpoint answer unreadable: {exc}") from None

    async def _open(self, endpoint: _Endpoint) -> ClientConnection:
        # websockets 15 looks for a proxy in the environment; the SDK connects directly.
        extra = {"proxy": None} if "proxy" in inspect.signature(connect).parameters else {}
        return await connect(
            endpoint.url,
            open_timeout=OPEN_TIMEOUT,
            close_timeout=CLOSE_TIMEOUT,
            ping_interval=None,  # Feishu's own ping frames keep the connection and tell liveness
            max_size=MAX_FRAME_BYTES,
            **extra,
        )

    async def _session(self, ws: ClientConnection, endpoint: _Endpoint) -> str:
        """Serve one connection until it drops, goes silent or the client stops; says why."""
        stopping = self._stopping
        assert stopping is not None
        down_for = self.state.down_for
        self._last_heard = time.monotonic()
        self._ping_interval = min(endpoint.ping_interval, self._max_ping_interval)
        reconnect = self.state.connects > 0
        self._set_status("connected")
        log.info(
            "long connection: %s %s (device %s)%s",
            "reconnected to" if reconnect else "connected to",
            endpoint.where,
            endpoint.device_id,
            f" after {down_for:.1f} s down" if reconnect and down_for is not None else "",
        )
        in_hand: set[asyncio.Task] = set()
        receiving = asyncio.create_task(self._receive(ws, in_hand))
        pinging = asyncio.create_task(self._keep_alive(ws, endpoint.service_id))
        stopped = asyncio.create_task(stopping.wait())
        try:
            done, _ = await asyncio.wait(
                {receiving, pinging, stopped}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in (receiving, pinging):
                task.cancel()
            if stopped in done:
                reason = "stopped"
                # Take no new frame, but acknowledge the ones in hand (Feishu re-pushes the rest).
                if in_hand:
                    await asyncio.wait(
                        in_hand, timeout=max(0.0, self._drain_deadline - time.monotonic())
                    )
            else:
                finished = receiving if receiving in done else pinging
                failure = finished.exception()
                reason = _reason(failure) if failure else finished.result()
        finally:
            stopped.cancel()
            await ws.close()
        return reason

    async def _receive(self, ws: ClientConnection, in_hand: set[asyncio.Task]) -> str:
        try:
            async for raw in ws:
                self._last_heard = time.monotonic()
                if isinstance(raw, str):
                    continue
                frame = frames.parse(raw)
                if frame is None:
                    log.warning("long connection: an unreadable frame (%d bytes)", len(raw))
                    continue
                if frame.method == frames.CONTROL:
                    self._on_control(frame)
                elif frame.method == frames.DATA:
                    task = asyncio.create_task(self._on_data(ws, frame))
                    in_hand.add(task)
                    task.add_done_callback(in_hand.discard)
        except ConnectionClosed as exc:
            return _closed(exc)
        return _closed(None)

    def _on_control(self, frame: Frame) -> None:
        interval = frames.pong_ping_interval(frame)  # a pong may carry a new ClientConfig
        if interval:
            self._ping_interval = min(interval, self._max_ping_interval)

    async def _keep_alive(self, ws: ClientConnection, service_id: int) -> str:
        """Ping every interval; a connection that said nothing for two intervals is dead."""
        next_ping = time.monotonic()
        while True:
            now = time.monotonic()
            interval = self._ping_interval
            silent_for = now - self._last_heard
            if silent_for > 2 * interval:
                return f"no pong for {silent_for:.0f} s"
            if now >= next_ping:
                await asyncio.wait_for(ws.send(frames.ping(service_id)), timeout=interval)
                next_ping = now + interval
            await asyncio.sleep(max(0.05, min(next_ping - now, interval / 4, 1.0)))

    async def _on_data(self, ws: ClientConnection, frame: Frame) -> None:
        headers = frames.headers(frame)
        message_id = headers.get("message_id", "")
        kind = headers.get("type", "")
        try:
            payload = self._parts.combine(
                message_id,
                int(headers.get("sum") or 1),
                int(headers.get("seq") or 0),
                frame.payload,
            )
        except ValueError as exc:
            log.warning("long connection: message %s: bad part (%s)", message_id, exc)
            return
        if payload is None:
            return  # more parts to come; the last one is acknowledged
        started = time.monotonic()
        answer: dict[str, Any] = {"code": 200}
        if kind not in ("event", "card"):
            log.info("long connection: message %s of type %r ignored", message_id, kind)
        else:
            try:
                result = await asyncio.get_running_loop().run_in_executor(
                    self._pool, self._take, payload
                )
                if result is not None:
                    answer["data"] = frames.encode_answer(result)
            except UnknownPush as exc:
                log.info("long connection: message %s ignored: %s", message_id, exc)
            except Exception as exc:
                log.error("long connection: could not take message %s: %s", message_id, exc)
                answer = {"code": 500}
        took_ms = int((time.monotonic() - started) * 1000)
        try:
            await ws.send(frames.acknowledgement(frame, answer, took_ms))
        except ConnectionClosed:
            # Taken but not acknowledged: Feishu pushes it again and the inbox keeps it once.
            log.warning(
                "long connection: acknowledgement of %s lost with the connection", message_id
            )

    async def _until_stopped(self, work: Awaitable[T]) -> T | None:
        """`work`'s result, or None (and `work` cancelled) if the client stops first."""
        stopping = self._stopping
        assert stopping is not None
        task = asyncio.ensure_future(work)
        stopped = asyncio.create_task(stopping.wait())
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if task.done():
            if stopping.is_set() and not task.exception() and hasattr(task.result(), "close"):
                await task.result().close()  # opened just as the client stopped
                return None
            return task.result()
        task.cancel()
        return None

    async def _sleep(self, seconds: float) -> None:
        stopping = self._stopping
        assert stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=seconds)


def _closed(exc: ConnectionClosed | None) -> str:
    if exc is None or exc.rcvd is None:
        return "closed by the server" if exc is None else "connection lost"
    return f"closed by the server ({exc.rcvd.code})"


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown"
    if isinstance(exc, ConnectFailed | ConnectionClosed):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
