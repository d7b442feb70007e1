"""The long connection's wire format: the SDK's `pbbp2.Frame` protobuf, read and written.

A ping and what a pong says, a frame's headers, reassembling a payload Feishu splits over
several frames (headers `sum` and `seq`), and the acknowledgement that answers a data frame.
The connection's life (connect, ping, reconnect, hand pushes on) is `long_connection`'s.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import lark_oapi as lark
from lark_oapi.ws.pb.pbbp2_pb2 import Frame

CONTROL, DATA = 0, 1
# Parts of a split payload that never complete are forgotten after this long.
PART_TTL = 30.0


def parse(raw: bytes) -> Frame | None:
    """The frame `raw` holds, or None when it holds none."""
    frame = Frame()
    try:
        frame.ParseFromString(raw)
    except Exception:
        return None
    return frame


def headers(frame: Frame) -> dict[str, str]:
    return {header.key: header.value for header in frame.headers}


def ping(service_id: int) -> bytes:
    frame = Frame()
    frame.SeqID = 0
    frame.LogID = 0
    frame.service = service_id
    frame.method = CONTROL
    header = frame.headers.add()
    header.key = "type"
    header.value = "ping"
    return frame.SerializeToString()


def pong_ping_interval(frame: Frame) -> float | None:
    """The ping interval a pong carries (in a new ClientConfig), if it is one and carries one."""
    if headers(frame).get("type") != "pong" or not frame.payload:
        return None
    try:
        interval = json.loads(frame.payload).get("PingInterval")
        return float(interval) if interval else None
    except (ValueError, AttributeError, TypeError):
        return None


def encode_answer(result: object) -> str:
    """A card callback's answer as an acknowledgement carries it: base64 of its JSON."""
    return base64.b64encode(lark.JSON.marshal(result).encode()).decode()


def acknowledgement(frame: Frame, answer: dict[str, Any], took_ms: int) -> bytes:
    """The data frame sent back with `answer` as its payload and how long it took (`biz_rt`)."""
    header = frame.headers.add()
    header.key = "biz_rt"
    header.value = str(took_ms)
    frame.payload = json.dumps(answer).encode()
    return frame.SerializeToString()


class Parts:
    """Reassembles payloads that Feishu splits over several frames (headers sum and seq)."""

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[float, list[bytes | None]]] = {}

    def combine(self, message_id: str, total: int, seq: int, chunk: bytes) -> bytes | None:
        if total <= 1:
            return chunk
        if not 0 <= seq < total:
            raise ValueError(f"part {seq} of {total}")
        now = time.monotonic()
        for key in [k for k, (first, _) in self._waiting.items() if now - first > PART_TTL]:
            del self._waiting[key]
        _, parts = self._waiting.setdefault(message_id, (now, [None] * total))
        if len(parts) != total:
            raise ValueError(f"{total} parts, earlier {len(parts)}")
        parts[seq] = chunk
        if any(part is None for part in parts):
            return None
        del self._waiting[message_id]
        return b"".join(part for part in parts if part is not None)
