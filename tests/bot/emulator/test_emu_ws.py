"""Long connection (WebSocket) mode: the SDK's own ws client against the emulator, and raw
frames (the SDK's generated pbbp2 module) for the details and the knobs."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from lark_oapi.ws.pb.pbbp2_pb2 import Frame
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from bot.emulator import Employee, Emulator

from .conftest import SECRET

CONFIG_KEYS = {"ReconnectCount", "ReconnectInterval", "ReconnectNonce", "PingInterval"}


# --- helpers -------------------------------------------------------------------------------------
def wait_for(cond: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def endpoint(emu: Emulator, secret: str = SECRET) -> requests.Response:
    return requests.post(
        f"{emu.url}/callback/ws/endpoint",
        json={"AppID": emu.app_id, "AppSecret": secret},
        timeout=5,
    )


def dial(emu: Emulator) -> tuple[ClientConnection, int]:
    body = endpoint(emu).json()
    assert body["code"] == 0, body
    url = body["data"]["URL"]
    service_id = int(url.rsplit("service_id=", 1)[1])
    conn = connect(url, max_size=2**20, proxy=None)
    wait_for(lambda: emu.ws_connections >= 1, 5, "the connection to register")
    return conn, service_id


def headers(frame: Frame) -> dict[str, str]:
    return {h.key: h.value for h in frame.headers}


def ping(service_id: int) -> bytes:
    frame = Frame(SeqID=0, LogID=0, service=service_id, method=0)
    h = frame.headers.add()
    h.key, h.value = "type", "ping"
    return frame.SerializeToString()


def recv_frame(conn: ClientConnection, timeout: float = 5.0) -> Frame:
    frame = Frame()
    frame.ParseFromString(conn.recv(timeout=timeout))
    return frame


def ack(conn: ClientConnection, frame: Frame, code: int = 200, data: Any = None) -> None:
    answer: dict[str, Any] = {"code": code}
    if data is not None:
        answer["data"] = base64.b64encode(json.dumps(data).encode()).decode()
    frame.payload = json.dumps(answer).encode()
    conn.send(frame.SerializeToString())


@pytest.fixture
def make_emu() -> Iterator[Callable[..., Emulator]]:
    made: list[Emulator] = []

    def make(**kwargs: Any) -> Emulator:
        emu = Emulator(app_id=f"cli_{uuid.uuid4().hex[:16]}", app_secret=SECRET, **kwargs)
        made.append(emu.start())
        emu.add_employee(Employee(open_id="ou_1", email="hire@open.com"))
        return emu

    yield make
    for emu in made:
        emu.stop()


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as ex:
        yield ex


# --- the SDK's ws client -------------------------------------------------------------------------
SDK_SCRIPT = """
import json, sys
import lark_oapi as lark
from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTriggerResponse

domain, app_id, app_secret, out = sys.argv[1:5]

def note(entry):
    with open(out, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\\n")

def on_message(data):
    note({"kind": "message", "content": data.event.message.content,
          "open_id": data.event.sender.sender_id.open_id})

def on_card(data):
    note({"kind": "card", "value": data.event.action.value,
          "message_id": data.event.context.open_message_id})
    return P2CardActionTriggerResponse({
        "toast": {"type": "success", "content": "done"},
        "card": {"type": "raw", "data": {"schema": "2.0", "config": {"update_multi": True},
                 "body": {"elements": [{"tag": "markdown", "content": "pressed"}]}}},
    })

handler = (lark.EventDispatcherHandler.builder("", "")
           .register_p2_im_message_receive_v1(on_message)
           .register_p2_card_action_trigger(on_card)
           .build())
client = lark.ws.Client(app_id, app_secret, event_handler=handler, domain=domain,
                        log_level=lark.LogLevel.DEBUG)
client.start()
"""


def run_sdk(tmp_path: Path, emu: Emulator, secret: str = SECRET) -> tuple[subprocess.Popen, Path]:
    script = tmp_path / "ws_client.py"
    script.write_text(textwrap.dedent(SDK_SCRIPT), encoding="utf-8")
    out = tmp_path / "received.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(script), emu.url, emu.app_id, secret, str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return proc, out


def received(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]


def test_sdk_client_receives_message_and_card_callback(emu: Emulator, api: Any, tmp_path: Path):
    card = {"schema": "2.0", "config": {"update_multi": True}, "body": {"elements": []}}
    resp = api.post(
        "/open-apis/im/v1/messages",
        params={"receive_id_type": "open_id"},
        json={"receive_id": "ou_1", "msg_type": "interactive", "content": json.dumps(card)},
    )
    assert resp.json()["code"] == 0, resp.text
    message_id = resp.json()["data"]["message_id"]

    # reconnect at once after a cut (the default: a random 0-30 s, then every 120 s)
    emu.ws_client_config.update(ReconnectNonce=0, ReconnectInterval=1)
    proc, out = run_sdk(tmp_path, emu)
    try:
        wait_for(lambda: emu.ws_connections == 1, 15, "the SDK to connect")
        assert emu.calls_for("ws_endpoint")[-1].status == 200

        event = emu.message_event("hello", open_id="ou_1", token="vt")
        assert emu.ws_push(event) == {"code": 200}
        wait_for(lambda: len(received(out)) == 1, 5, "the message to be noted")
        got = received(out)[0]
        assert got["kind"] == "message" and got["open_id"] == "ou_1"
        assert json.loads(got["content"]) == {"text": "hello"}

        callback = emu.card_action({"op": "go"}, open_id="ou_1", message_id=message_id, token="vt")
        answer = emu.ws_push(callback)
        assert answer["code"] == 200
        assert answer["data"]["toast"] == {"type": "success", "content": "done"}
        assert answer["data"]["card"]["type"] == "raw"
        assert received(out)[1] == {"kind": "card", "value": {"op": "go"}, "message_id": message_id}
        # Feishu applies the callback answer's card to the message
        assert emu.latest_card(message_id)["body"]["elements"][0]["content"] == "pressed"

        log = emu.ws_log
        assert [e["event_type"] for e in log] == ["im.message.receive_v1", "card.action.trigger"]
        assert all(e["acked"] and e["attempts"] == 1 for e in log)

        # a cut connection: the SDK asks for a new endpoint and dials again
        emu.ws_drop_all()
        wait_for(lambda: emu.ws_connections == 1, 10, "the SDK to reconnect")
        assert len(emu.calls_for("ws_endpoint")) == 2
        assert emu.ws_push(emu.message_event("again", open_id="ou_1", token="vt")) == {"code": 200}
        wait_for(lambda: len(received(out)) == 3, 5, "the third delivery")
    finally:
        proc.kill()
        proc.wait(timeout=5)
    wait_for(lambda: emu.ws_connections == 0, 5, "the killed client's connection to close")


def test_sdk_client_gives_up_on_wrong_credentials(emu: Emulator, tmp_path: Path):
    proc, _ = run_sdk(tmp_path, emu, secret="wrong")
    try:
        output, _ = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode != 0  # ClientException: the SDK treats the code as fatal
    assert b"1000040351" in output
    assert emu.ws_connections == 0


def test_sdk_client_gives_up_over_the_connection_cap(
    make_emu: Callable[..., Emulator], tmp_path: Path
):
    emu = make_emu(ws_max_connections=0)
    proc, _ = run_sdk(tmp_path, emu)
    try:
        output, _ = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode != 0  # 514 + handshake-autherrcode 1000040350 is fatal to the SDK
    assert b"exceed connection limit" in output


# --- endpoint -----------------------------------------------------------------------------------
def test_endpoint_answers_url_and_client_config(emu: Emulator):
    resp = endpoint(emu)  # no bearer token
    assert resp.status_code == 200
    body = resp.json()
    assert body["code"] == 0
    url = body["data"]["URL"]
    assert url.startswith("ws://127.0.0.1:") and "device_id=" in url and "service_id=" in url
    int(url.rsplit("service_id=", 1)[1])
    config = body["data"]["ClientConfig"]
    assert set(config) == CONFIG_KEYS and all(isinstance(v, int) for v in config.values())
    assert config["ReconnectCount"] == -1


def test_endpoint_wrong_credentials_is_a_fatal_code(emu: Emulator):
    resp = endpoint(emu, secret="nope")
    assert resp.status_code == 200  # a non-200 status would make the SDK retry
    assert resp.json()["code"] not in (0, 1, 1000040343)


def test_unknown_device_is_refused(emu: Emulator):
    url = endpoint(emu).json()["data"]["URL"]
    bad = url.replace("device_id=", "device_id=x")
    with pytest.raises(InvalidStatus) as info:
        connect(bad, proxy=None)
    assert info.value.response.status_code == 514
    assert info.value.response.headers["handshake-status"] == "514"
    assert emu.ws_connections == 0


# --- frames -------------------------------------------------------------------------------------
def test_ping_is_answered_with_pong_and_config(make_emu: Callable[..., Emulator]):
    emu = make_emu(ws_client_config={"PingInterval": 7})
    conn, service_id = dial(emu)
    with conn:
        conn.send(ping(service_id))
        pong = recv_frame(conn)
        assert pong.method == 0 and headers(pong)["type"] == "pong"
        assert pong.service == service_id
        config = json.loads(pong.payload)
        assert set(config) == CONFIG_KEYS and config["PingInterval"] == 7


def test_push_splits_large_payloads_and_returns_the_decoded_ack(
    make_emu: Callable[..., Emulator], pool: ThreadPoolExecutor
):
    emu = make_emu(ws_part_size=300)
    conn, service_id = dial(emu)
    with conn:
        event = emu.message_event("x" * 1000, open_id="ou_1", token="vt")
        fut: Future = pool.submit(emu.ws_push, event)
        parts = []
        while True:
            frame = recv_frame(conn)
            parts.append(frame)
            if len(parts) == int(headers(frame)["sum"]):
                break
        hs = [headers(f) for f in parts]
        assert len(parts) > 3
        assert all(f.method == 1 and f.service == service_id for f in parts)
        assert all(h["type"] == "event" for h in hs)
        assert len({h["message_id"] for h in hs}) == 1 and len({h["trace_id"] for h in hs}) == 1
        assert [int(h["seq"]) for h in hs] == list(range(len(parts)))
        assert all(len(f.payload) <= 300 for f in parts)
        assert json.loads(b"".join(f.payload for f in parts)) == event
        ack(conn, parts[-1], data={"toast": {"type": "info", "content": "hi"}})
        assert fut.result(timeout=5) == {
            "code": 200,
            "data": {"toast": {"type": "info", "content": "hi"}},
        }


def test_unacked_push_is_pushed_again_with_the_same_message_id(
    make_emu: Callable[..., Emulator], pool: ThreadPoolExecutor
):
    emu = make_emu(ws_ack_timeout=0.3)
    conn, _ = dial(emu)
    with conn:
        fut: Future = pool.submit(emu.ws_push, emu.message_event("a", open_id="ou_1", token="t"))
        first = recv_frame(conn)
        t0 = time.monotonic()
        second = recv_frame(conn)
        assert 0.2 < time.monotonic() - t0 < 1.5
        assert headers(first)["message_id"] == headers(second)["message_id"]
        ack(conn, second, code=500)
        assert fut.result(timeout=5) == {"code": 500}
    entry = emu.ws_log[-1]
    assert entry["acked"] and entry["attempts"] == 2 and entry["answer"] == {"code": 500}
    assert entry["event_type"] == "im.message.receive_v1"


def test_push_without_ack_times_out(make_emu: Callable[..., Emulator]):
    emu = make_emu(ws_ack_timeout=0.2)
    conn, _ = dial(emu)
    with conn, pytest.raises(TimeoutError):
        emu.ws_push(emu.message_event("a", open_id="ou_1", token="t"), timeout=0.7)
    entry = emu.ws_log[-1]
    assert not entry["acked"] and entry["answer"] is None and entry["attempts"] >= 3


def test_push_without_connection_times_out(emu: Emulator):
    with pytest.raises(TimeoutError):
        emu.ws_push(emu.message_event("a", open_id="ou_1", token="t"), timeout=0.3)
    assert emu.ws_log[-1]["attempts"] == 0


# --- knobs --------------------------------------------------------------------------------------
def test_drop_all_closes_connections(emu: Emulator):
    conn, _ = dial(emu)
    with conn:
        emu.ws_drop_all()
        assert emu.ws_connections == 0
        with pytest.raises(ConnectionClosed):
            conn.recv(timeout=3)


def test_go_silent_stops_pongs_and_deliveries(
    make_emu: Callable[..., Emulator], pool: ThreadPoolExecutor
):
    emu = make_emu()
    conn, service_id = dial(emu)
    with conn:
        emu.ws_go_silent(0.6)
        t0 = time.monotonic()
        conn.send(ping(service_id))
        fut: Future = pool.submit(emu.ws_push, emu.message_event("a", open_id="ou_1", token="t"))
        with pytest.raises(TimeoutError):
            conn.recv(timeout=0.3)
        assert emu.ws_connections == 1  # the connection stays open
        frame = recv_frame(conn, timeout=3)  # delivered once the silence ends
        assert time.monotonic() - t0 >= 0.5
        assert headers(frame)["type"] == "event"
        ack(conn, frame)
        assert fut.result(timeout=3) == {"code": 200}
        conn.send(ping(service_id))
        assert headers(recv_frame(conn))["type"] == "pong"


def test_refuse_new_refuses_endpoint_and_handshakes(emu: Emulator):
    url = endpoint(emu).json()["data"]["URL"]
    emu.ws_refuse_new(0.5)
    assert endpoint(emu).json()["code"] == 1  # retryable for the SDK
    with pytest.raises(InvalidStatus) as info:
        connect(url, proxy=None)
    assert info.value.response.status_code == 503
    time.sleep(0.6)
    assert endpoint(emu).json()["code"] == 0
    with connect(url, proxy=None):
        wait_for(lambda: emu.ws_connections == 1, 3, "the connection")


def test_connection_cap(make_emu: Callable[..., Emulator]):
    emu = make_emu(ws_max_connections=2)
    first, _ = dial(emu)
    second, _ = dial(emu)
    wait_for(lambda: emu.ws_connections == 2, 3, "two connections")
    with first, second:
        url = endpoint(emu).json()["data"]["URL"]
        with pytest.raises(InvalidStatus) as info:
            connect(url, proxy=None)
        response = info.value.response
        assert response.status_code == 514
        assert response.headers["handshake-status"] == "514"
        assert response.headers["handshake-autherrcode"] == "1000040350"


def test_default_cap_is_50(emu: Emulator):
    assert emu._ws.max_connections == 50


def test_push_goes_to_one_random_connection(
    make_emu: Callable[..., Emulator], pool: ThreadPoolExecutor
):
    emu = make_emu()
    conns = [dial(emu)[0] for _ in range(3)]
    wait_for(lambda: emu.ws_connections == 3, 3, "three connections")
    hits = [0, 0, 0]
    stop = threading.Event()

    def serve(i: int) -> None:
        while not stop.is_set():
            try:
                frame = recv_frame(conns[i], timeout=0.1)
            except TimeoutError:
                continue
            except ConnectionClosed:
                return
            hits[i] += 1
            ack(conns[i], frame)

    threads = [threading.Thread(target=serve, args=(i,), daemon=True) for i in range(3)]
    for t in threads:
        t.start()
    try:
        for _ in range(30):
            assert emu.ws_push(emu.message_event("a", open_id="ou_1", token="t")) == {"code": 200}
        assert sum(hits) == 30 and sum(1 for h in hits if h) >= 2
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=2)
        for c in conns:
            c.close()
