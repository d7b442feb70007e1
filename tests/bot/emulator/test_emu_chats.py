"""Chats: get chat information through the real lark-oapi client, the bot's membership, and
sending to a chat the bot is not in."""

from __future__ import annotations

import json

from lark_oapi.api.im.v1 import (
    CreateMessageRequest,
    CreateMessageRequestBody,
    GetChatRequest,
    GetChatResponse,
)

from bot.emulator import Emulator, scopes


def get_chat(client, chat_id: str) -> GetChatResponse:
    return client.im.v1.chat.get(GetChatRequest.builder().chat_id(chat_id).build())


def send_text(client, chat_id: str, text: str = "hi"):
    body = (
        CreateMessageRequestBody.builder()
        .receive_id(chat_id)
        .msg_type("text")
        .content(json.dumps({"text": text}))
        .build()
    )
    req = CreateMessageRequest.builder().receive_id_type("chat_id").request_body(body).build()
    return client.im.v1.message.create(req)


def test_the_bot_is_in_every_chat_by_default(emu: Emulator, client):
    resp = get_chat(client, "oc_hr")

    assert resp.success(), (resp.code, resp.msg)
    assert resp.data.name == "Group oc_hr"
    assert resp.data.chat_mode == "group"
    assert resp.data.tenant_key == emu.tenant_key
    assert emu.bot_in_chat("oc_hr")
    (call,) = emu.calls_for("chat_get")
    assert call.method == "GET" and call.path == "/open-apis/im/v1/chats/oc_hr"


def test_a_named_chat_and_a_one_to_one_chat(emu: Emulator, client):
    emu.add_bot_to_chat("oc_hr", name="HR 招聘")
    assert get_chat(client, "oc_hr").data.name == "HR 招聘"

    p2p = get_chat(client, emu.p2p_chat_id("ou_1")).data
    assert p2p.chat_mode == "p2p"


def test_a_chat_the_bot_is_not_in(emu: Emulator, client):
    emu.remove_bot_from_chat("oc_hr")

    resp = get_chat(client, "oc_hr")
    assert not resp.success()
    assert (resp.code, resp.msg) == (232011, "Operator can NOT be out of the chat.")
    assert resp.raw.status_code == 400
    assert not emu.bot_in_chat("oc_hr")
    # other chats are not affected
    assert get_chat(client, "oc_other").success()

    sent = send_text(client, "oc_hr")
    assert (sent.code, sent.msg) == (230002, "Bot/User can NOT be out of the chat.")
    assert sent.raw.status_code == 400
    assert emu.messages_in("oc_hr") == []

    emu.add_bot_to_chat("oc_hr")
    assert get_chat(client, "oc_hr").success()
    assert send_text(client, "oc_hr").success()
    assert len(emu.messages_in("oc_hr")) == 1


def test_an_invalid_chat_id(client):
    resp = get_chat(client, "0")
    assert resp.code == 232006
    assert resp.raw.status_code == 400


def test_the_chat_scope(emu: Emulator, client):
    assert "im:chat:readonly" in scopes.DEFAULT_SCOPES
    emu.revoke_scopes("im:chat:readonly")

    resp = get_chat(client, "oc_hr")
    assert resp.code == 99991672
    assert "im:chat:readonly" in resp.msg

    emu.grant_scopes("im:chat")
    assert get_chat(client, "oc_hr").success()


def test_reset_puts_the_bot_back(emu: Emulator, client):
    emu.remove_bot_from_chat("oc_hr")
    emu.reset()

    assert emu.bot_in_chat("oc_hr")
    assert get_chat(client, "oc_hr").success()
