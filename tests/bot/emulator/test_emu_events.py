"""Feishu -> bot: envelopes, encryption and signatures checked by the SDK's own dispatcher,
and delivery over HTTP."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import lark_oapi as lark
import pytest
from lark_oapi.api.application.v6 import P2ApplicationBotMenuV6
from lark_oapi.api.contact.v3 import P2ContactUserDeletedV3
from lark_oapi.api.im.v1 import P2ImChatAccessEventBotP2pChatEnteredV1, P2ImMessageReceiveV1
from lark_oapi.core.utils import AESCipher
from lark_oapi.event.callback.model.p2_card_action_trigger import (
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)

from bot.emulator import Employee, events, scopes

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


def test_user_mention_parses_in_the_sdk():
    mention = events.user_mention("@_user_1", "ou_x", "Zhang San")
    assert mention["id"] == {"open_id": "ou_x", "union_id": "on_x", "user_id": "u_x"}
    payload = events.message_event(
        "/referral register @_user_1",
        token=VTOKEN,
        mentions=[mention],
        union_id="on_custom",
        user_id="",
    )
    parsed = lark.JSON.unmarshal(json.dumps(payload), P2ImMessageReceiveV1)
    (only,) = parsed.event.message.mentions
    assert only.key == "@_user_1" and only.name == "Zhang San"
    assert only.id.open_id == "ou_x" and only.tenant_key == events.DEFAULT_TENANT
    assert parsed.event.sender.sender_id.union_id == "on_custom"
    assert parsed.event.sender.sender_id.user_id == ""

    seen = []
    handler = (
        lark.EventDispatcherHandler.builder(KEY, VTOKEN)
        .register_p2_im_message_receive_v1(seen.append)
        .build()
    )
    assert handler.do(raw_request(payload)).status_code == 200
    assert seen[0].event.message.mentions[0].id.open_id == "ou_x"


def test_p2p_chat_entered_event_via_dispatcher():
    got = []
    handler = (
        lark.EventDispatcherHandler.builder(KEY, VTOKEN)
        .register_p2_im_chat_access_event_bot_p2p_chat_entered_v1(got.append)
        .build()
    )
    payload = events.p2p_chat_entered_event(
        "ou_x",
        "oc_p2p_x",
        token=VTOKEN,
        last_message_id="om_last",
        last_message_create_time=1700000000000,
        event_id="ev-entered",
    )
    assert payload["header"]["event_type"] == "im.chat.access_event.bot_p2p_chat_entered_v1"
    assert handler.do(raw_request(payload)).status_code == 200
    (event,) = got
    assert isinstance(event, P2ImChatAccessEventBotP2pChatEnteredV1)
    assert event.header.event_id == "ev-entered"
    ev = event.event
    assert ev.chat_id == "oc_p2p_x" and ev.operator_id.open_id == "ou_x"
    assert (ev.operator_id.union_id, ev.operator_id.user_id) == ("on_x", "u_x")
    assert (ev.last_message_id, ev.last_message_create_time) == ("om_last", "1700000000000")
    bare = events.p2p_chat_entered_event("ou_x", "oc_p2p_x", token=VTOKEN)
    assert set(bare["event"]) == {"chat_id", "operator_id"}


def test_bot_menu_event_via_dispatcher():
    got = []
    handler = (
        lark.EventDispatcherHandler.builder(KEY, VTOKEN)
        .register_p2_application_bot_menu_v6(got.append)
        .build()
    )
    payload = events.bot_menu_event(
        "ou_x", "referral_balance", token=VTOKEN, operator_name="Zhang San", timestamp=1700000000
    )
    assert payload["header"]["event_type"] == "application.bot.menu_v6"
    assert handler.do(raw_request(payload)).status_code == 200
    (event,) = got
    assert isinstance(event, P2ApplicationBotMenuV6)
    assert event.event.event_key == "referral_balance"
    assert event.event.timestamp == 1700000000
    assert event.event.operator.operator_id.open_id == "ou_x"
    assert event.event.operator.operator_name == "Zhang San"
    unnamed = events.bot_menu_event("ou_x", "k", token=VTOKEN)
    assert "operator_name" not in unnamed["event"]["operator"]
    assert isinstance(unnamed["event"]["timestamp"], int)
    for bad in ("", "k" * 31):
        with pytest.raises(ValueError):
            events.bot_menu_event("ou_x", bad, token=VTOKEN)


def test_user_deleted_event_via_dispatcher_with_field_scopes():
    got = []
    handler = (
        lark.EventDispatcherHandler.builder(KEY, VTOKEN)
        .register_p2_contact_user_deleted_v3(got.append)
        .build()
    )
    emp = Employee(
        open_id="ou_x",
        email="x@open.com",
        mobile=("86", "13000000000"),
        name_zh="张三",
        name_en="Zhang San",
        enterprise_email="x@corp.open.com",
        department_ids=["od_a", "od_b"],
    )
    payload = events.user_deleted_event(emp, token=VTOKEN)
    assert handler.do(raw_request(payload)).status_code == 200
    (event,) = got
    assert isinstance(event, P2ContactUserDeletedV3)
    obj = event.event.object
    assert (obj.open_id, obj.union_id, obj.user_id) == ("ou_x", "on_x", "u_x")
    assert (obj.name, obj.en_name, obj.email) == ("张三", "Zhang San", "x@open.com")
    assert (obj.enterprise_email, obj.mobile) == ("x@corp.open.com", "+8613000000000")
    assert obj.status.is_resigned is True and emp.resigned is False  # the Employee is unchanged
    assert event.event.old_object.open_id == "ou_x"
    assert event.event.old_object.department_ids == ["od_a", "od_b"]

    fewer = scopes.DEFAULT_SCOPES - {"contact:user.email:readonly", "contact:user.base:readonly"}
    limited = events.user_deleted_event(emp, token=VTOKEN, granted_scopes=fewer)
    obj = lark.JSON.unmarshal(json.dumps(limited), P2ContactUserDeletedV3).event.object
    assert obj.email is None and obj.enterprise_email is None
    assert obj.name is None and obj.en_name is None and obj.mobile == "+8613000000000"
    from_fields = events.user_deleted_event(
        {"open_id": "ou_y", "name": "李四", "email": "y@open.com"},
        token=VTOKEN,
        granted_scopes=["contact:user.base:readonly"],
    )
    assert from_fields["event"]["object"] == {"open_id": "ou_y", "name": "李四"}
    assert from_fields["event"]["old_object"] == {"open_id": "ou_y", "department_ids": []}
    with pytest.raises(ValueError):
        events.user_deleted_event({"name": "nobody"}, token=VTOKEN)


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


@contextmanager
def dispatching_endpoint(dispatcher: lark.EventDispatcherHandler) -> Iterator[str]:
    """A tiny HTTP endpoint that hands every POST to the SDK's dispatcher (which decrypts and
    checks the signature and the verification token), standing in for the bot; its URL."""

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
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhook/event"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def bot_stub() -> Iterator[tuple[str, list]]:
    """A tiny HTTP endpoint that runs the SDK dispatcher, standing in for the bot."""
    received: list = []
    dispatcher = (
        lark.EventDispatcherHandler.builder(KEY, VTOKEN)
        .register_p2_im_message_receive_v1(received.append)
        .build()
    )
    with dispatching_endpoint(dispatcher) as url:
        yield url, received


def test_deliver_encrypted_and_signed(bot_stub):
    url, received = bot_stub
    result = events.deliver(url, events.message_event("hi", token=VTOKEN), encrypt_key=KEY)
    assert result.status == 200 and result.body == {"msg": "success"}
    assert result.elapsed >= 0
    assert len(received) == 1
    bad = events.deliver(url, events.message_event("hi", token=VTOKEN), encrypt_key="wrong")
    assert bad.status == 500 and len(received) == 1
