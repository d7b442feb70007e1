"""`referral-bot serve` with REFERRAL_BOT_TRANSPORT=long_connection as a process: it dials the
in-process emulator, answers a command pushed over the connection, and a SIGTERM during a
command stops it cleanly without losing the answer."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bot.emulator import Emulator
from tests.conftest import ADMIN, card_text
from tests.scenarios.test_crash_recovery import ROOT, Child, Children, free_port


class LongConnectionChildren(Children):
    """`serve` children on the long connection: no encrypt key or verification token, and
    started once their connection is open."""

    def start(self) -> Child:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LARK_", "REFERRAL_BOT_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            LARK_APP_ID=self.emulator.app_id,
            LARK_APP_SECRET=self.emulator.app_secret,
            LARK_DOMAIN=self.emulator.url,
            REFERRAL_BOT_TRANSPORT="long_connection",
            REFERRAL_BOT_HOST="127.0.0.1",
            REFERRAL_BOT_PORT=str(port),
            REFERRAL_BOT_DB=str(self.db_path),
            REFERRAL_BOT_ADMINS=ADMIN,
        )
        return self.spawn(env, port, self._connected, "connect")

    def _connected(self, child: Child) -> bool:
        if not self._healthy(child):
            return False
        body = requests.get(child.url + "/healthz", timeout=1).json()
        return body["connection"]["state"] == "connected" and self.emulator.ws_connections == 1


@pytest.fixture
def children(emulator: Emulator, tmp_path: Path) -> Iterator[LongConnectionChildren]:
    kids = LongConnectionChildren(emulator, tmp_path)
    try:
        yield kids
    finally:
        kids.kill_all()


def test_a_command_pushed_over_the_connection_is_answered(
    children: LongConnectionChildren, emulator: Emulator
):
    account_id = emulator.create_account("ou_hire")
    child = children.start()
    event, event_id, message_id = children.message(f"/referral show {account_id}")

    assert emulator.ws_push(event) == {"code": 200}

    assert children.event(event_id), "acknowledged means stored"
    (reply,) = children.wait_for(lambda: children.replies_to(message_id), 10, "the reply")
    assert account_id in card_text(reply.content)
    children.wait_for(lambda: children.event(event_id).get("status") == "done", 5, "done")
    # Nothing comes in over HTTP in this mode.
    for path in ("/webhook/event", "/webhook/card"):
        answer = requests.post(child.url + path, json={"type": "url_verification"}, timeout=5)
        assert answer.status_code == 404, path
    children.assert_clean()


def test_sigterm_during_a_command_exits_quickly_and_the_answer_arrives(
    children: LongConnectionChildren, emulator: Emulator
):
    first = children.start()
    emulator.set_latency("message_reply", 2)
    event, event_id, message_id = children.message("/referral help")
    assert emulator.ws_push(event) == {"code": 200}
    children.wait_for(lambda: children.working() == 1, 5, "the command to be claimed")
    time.sleep(0.3)  # the reply's request is now inside the emulator's 2 s latency

    first.process.send_signal(signal.SIGTERM)
    began = time.monotonic()
    try:
        code = first.process.wait(5)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"no exit within 5 s of SIGTERM\n{children.logs()}") from None
    assert code == 0, children.logs()
    assert time.monotonic() - began < 5
    children.wait_for(lambda: emulator.ws_connections == 0, 5, "the connection to close")
    emulator.set_latency("message_reply", 0)

    if not children.replies_to(message_id):  # not answered in time: the next start answers
        children.start()
    children.wait_for(lambda: children.replies_to(message_id), 10, "the answer")
    children.wait_for(lambda: children.event(event_id).get("status") == "done", 10, "done")
    assert len(children.replies_to(message_id)) == 1
    children.assert_clean()


def _connection_state(child) -> str:
    return requests.get(child.url + "/healthz", timeout=1).json()["connection"]["state"]


@pytest.mark.parametrize("doing", ["asking a slow endpoint", "backing off", "silent"])
def test_sigterm_stops_within_5_s_whatever_the_connection_is_doing(
    children: LongConnectionChildren, emulator: Emulator, doing: str
):
    child = children.start()
    if doing == "asking a slow endpoint":
        # The endpoint request has a 10 s read timeout: it must not hold the exit.
        emulator.set_latency("ws_endpoint", 30)
        emulator.ws_drop_all()
        children.wait_for(lambda: _connection_state(child) == "connecting", 5, "reconnecting")
    elif doing == "backing off":
        emulator.ws_refuse_new(60)
        emulator.ws_drop_all()
        children.wait_for(lambda: _connection_state(child) == "down", 5, "refused")
    else:
        emulator.ws_go_silent(60)
    time.sleep(0.5)  # well inside the request, the backoff or the silence

    child.process.send_signal(signal.SIGTERM)
    began = time.monotonic()
    try:
        code = child.process.wait(5)
    except subprocess.TimeoutExpired:
        raise AssertionError(
            f"no exit within 5 s of SIGTERM ({doing})\n{children.logs()}"
        ) from None
    assert code == 0, children.logs()
    assert time.monotonic() - began < 5
    children.assert_clean()
