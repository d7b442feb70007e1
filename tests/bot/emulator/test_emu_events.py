"""Feishu -> bot: envelopes, encryption and signatures checked by the SDK's own dispatcher,
and delivery over HTTP."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import lark_oapi as lark
import pytest
from lark_oapi.core.utils import AESCipher
from lark_oapi.event.callback.model.p2_card_action_trigger import (
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)

from bot.emulator import events

KEY = "encrypt-key-123"
VTOKEN = "verification-token"


def raw_request(payload: dict, encrypt_key: str = KEY, **sign_kwargs) -> lark.RawRequest:
    body = events.encode(payload, encrypt_key)
    req = lark.RawRequest()
    req.uri = "/webhook/event"
    req.body = body
    req.headers = events.signed_headers(body, encrypt_key, **sign_kwargs)
    return req


def test_encrypt_round_trips_with_sdk_cipher():
    payload = {"hello": "世界", "n": 1}
    sealed = events.encrypt(payload, KEY)
    assert set(sealed) == {"encrypt"}
    assert json.loads(AESCipher(KEY).decrypt_str(sealed["encrypt"])) == payload
    assert events.encrypt(payload, KEY) != sealed  # random IV
    with pytest.raises(ValueError):
        AESCipher("another key").decrypt_str(sealed["encrypt"])


def test_signature_formula():
    headers = events.signed_headers(b"{}", "k", timestamp="1700000000", nonce="abc")
    expected = hashlib.sha256(b"1700000000abck{}").hexdigest()
    assert headers["X-Lark-Signature"] == expected
    assert headers["X-Lark-Request-Timestamp"] == "1700000000"
    assert headers["X-Lark-Request-Nonce"] == "abc"


def test_message_event_passes_sdk_dispatcher():
    seen = []
    handler = (
        lark.EventDispatcherHandler.builder(KEY, VTOKEN)
        .register_p2_im_message_receive_v1(seen.append)
        .build()
    )
    mention = events.bot_mention()
    payload = events.message_event(
        "@_user_1 /referral show 1",
        token=VTOKEN,
        chat_type="group",
        chat_id="oc_g",
        mentions=[mention],
        message_id="om_abc",
    )
    resp = handler.do(raw_request(payload))
    assert resp.status_code == 200, resp.content
    (event,) = seen
    assert event.header.event_type == "im.message.receive_v1"
    assert event.header.event_id == payload["header"]["event_id"]
    msg = event.event.message
    assert (msg.message_id, msg.chat_id, msg.chat_type) == ("om_abc", "oc_g", "group")
    assert json.loads(msg.content) == {"text": "@_user_1 /referral show 1"}
    assert msg.mentions[0].key == "@_user_1" and msg.mentions[0].id.open_id == "ou_bot"
    assert event.event.sender.sender_id.open_id == "ou_admin"


def test_dispatcher_rejects_bad_signature_and_token():
    seen = []
    handler = (
        lark.EventDispatcherHandler.builder(KEY, VTOKEN)
        .register_p2_im_message_receive_v1(seen.append)
        .build()
    )
    req = raw_request(events.message_event("hi", token=VTOKEN))
    req.headers["X-Lark-Signature"] = "0" * 64
    assert handler.do(req).status_code == 500
    wrong_token = raw_request(events.message_event("hi", token="other"))
    assert handler.do(wrong_token).status_code == 500
    assert seen == []


def test_card_action_and_url_verification_via_dispatcher():
    got = []

    def on_card(data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
        got.append(data)
        return P2CardActionTriggerResponse({"toast": {"type": "success", "content": "done"}})

    handler = (
        lark.EventDispatcherHandler.builder(KEY, VTOKEN)
        .register_p2_card_action_trigger(on_card)
        .build()
    )
    payload = events.card_action(
        {"op": "enable", "account_id": "1"},
        open_id="ou_admin",
        message_id="om_card",
        chat_id="oc_c",
        token=VTOKEN,
        card_token="c-tok",
    )
    resp = handler.do(raw_request(payload))
    assert resp.status_code == 200
    assert json.loads(resp.content)["toast"]["content"] == "done"
    ev = got[0].event
    assert ev.action.value == {"op": "enable", "account_id": "1"} and ev.token == "c-tok"
    assert ev.context.open_message_id == "om_card" and ev.operator.open_id == "ou_admin"

    challenge = handler.do(raw_request(events.url_verification(VTOKEN, "xyz")))
    assert json.loads(challenge.content) == {"challenge": "xyz"}


def test_assets_update_event_via_dispatcher():
    got = []
    handler = (
        lark.EventDispatcherHandler.builder("", VTOKEN)
        .register_p2_hire_referral_account_assets_update_v1(got.append)
        .build()
    )
    payload = events.assets_update_event(
        "6942778198054125570", 5, {"CNY": Decimal("1.5")}, token=VTOKEN
    )
    assert handler.do(raw_request(payload, encrypt_key="")).status_code == 200
    ev = got[0].event
    assert ev.account_id == "6942778198054125570"
    assert ev.assets.confirmed_bonus.point_bonus == 5
    assert ev.assets.confirmed_bonus.cash_bonus[0].amount == 1.5


@pytest.fixture
def bot_stub() -> Iterator[tuple[str, list]]:
    """A tiny HTTP endpoint that runs the SDK dispatcher, standing in for the bot."""
    received: list = []
    dispatcher = (
        lark.EventDispatcherHandler.builder(KEY, VTOKEN)
        .register_p2_im_message_receive_v1(received.append)
        .build()
    )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            req = lark.RawRequest()
            req.uri = self.path
            req.headers = dict(self.headers.items())
            req.body = self.rfile.read(int(self.headers["Content-Length"]))
            resp = dispatcher.do(req)
            self.send_response(resp.status_code)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(resp.content)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhook/event", received
    server.shutdown()
    server.server_close()


def test_deliver_encrypted_and_signed(bot_stub):
    url, received = bot_stub
    result = events.deliver(url, events.message_event("hi", token=VTOKEN), encrypt_key=KEY)
    assert result.status == 200 and result.body == {"msg": "success"}
    assert result.elapsed >= 0
    assert len(received) == 1
    bad = events.deliver(url, events.message_event("hi", token=VTOKEN), encrypt_key="wrong")
    assert bad.status == 500 and len(received) == 1
