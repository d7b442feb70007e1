"""IM: send, reply, patch (update_multi rule), uuid de-duplication, per-chat limits,
and delayed card updates with callback tokens."""

from __future__ import annotations

import json
from typing import Any

from bot.emulator import Emulator

from .conftest import Api

MESSAGES = "/open-apis/im/v1/messages"


def card(title: str, *, shared: bool = True, schema: str | None = "2.0") -> dict[str, Any]:
    out: dict[str, Any] = {
        "config": {"update_multi": shared},
        "body": {"elements": [{"tag": "markdown", "content": title}]},
    }
    if schema:
        out["schema"] = schema
    return out


def send(
    api: Api,
    receive_id: str,
    content: dict,
    *,
    id_type="chat_id",
    msg_type="interactive",
    uuid: str | None = None,
):
    body = {"receive_id": receive_id, "msg_type": msg_type, "content": json.dumps(content)}
    if uuid:
        body["uuid"] = uuid
    return api.post(MESSAGES, params={"receive_id_type": id_type}, json=body)


def test_send_card_to_chat_and_text_to_user(emu: Emulator, api: Api):
    resp = send(api, "oc_group", card("hello"))
    assert resp.status_code == 200
    data = resp.json()["data"]
    assert data["message_id"].startswith("om_") and data["chat_id"] == "oc_group"
    assert data["msg_type"] == "interactive"
    assert data["sender"] == {
        "id": emu.app_id,
        "id_type": "app_id",
        "sender_type": "app",
        "tenant_key": emu.tenant_key,
    }
    assert data["create_time"].isdigit()
    assert json.loads(data["body"]["content"]) == card("hello")

    text = send(api, "ou_1", {"text": "hi"}, id_type="open_id", msg_type="text").json()["data"]
    assert text["chat_id"] == "oc_p2p_ou_1"
    again = send(api, "ou_1", {"text": "hi"}, id_type="open_id", msg_type="text").json()["data"]
    assert again["chat_id"] == "oc_p2p_ou_1" and again["message_id"] != text["message_id"]

    msgs = emu.messages
    assert [m.message_id for m in msgs] == [
        data["message_id"],
        text["message_id"],
        again["message_id"],
    ]
    assert msgs[0].content == card("hello") and msgs[0].reply_to is None
    assert msgs[1].content == {"text": "hi"} and msgs[1].msg_type == "text"


def test_send_validation(emu: Emulator, api: Api):
    assert send(api, "oc_x", card("x"), id_type="bogus").json()["code"] == 230001
    bad = api.post(
        MESSAGES,
        params={"receive_id_type": "chat_id"},
        json={"receive_id": "oc_x", "msg_type": "interactive", "content": "{oops"},
    )
    assert (bad.status_code, bad.json()["code"]) == (400, 230001)
    huge = card("x" * 31 * 1024)
    assert send(api, "oc_x", huge).json()["code"] == 230025
    assert emu.messages == []


def test_uuid_dedup(emu: Emulator, api: Api):
    first = send(api, "oc_a", card("one"), uuid="u-1").json()["data"]
    second = send(api, "oc_a", card("two"), uuid="u-1").json()["data"]
    third = send(api, "oc_a", card("three"), uuid="u-2").json()["data"]
    assert second["message_id"] == first["message_id"]
    assert third["message_id"] != first["message_id"]
    assert len(emu.messages) == 2
    assert emu.message(first["message_id"]).content == card("one")


def test_reply_lands_in_noted_chat(emu: Emulator, api: Api):
    emu.note_user_message("om_user1", "oc_room")
    resp = api.post(
        f"{MESSAGES}/om_user1/reply",
        json={"msg_type": "text", "content": json.dumps({"text": "ok"})},
    )
    data = resp.json()["data"]
    assert resp.status_code == 200 and data["chat_id"] == "oc_room"
    assert data["parent_id"] == "om_user1"
    msg = emu.message(data["message_id"])
    assert msg.reply_to == "om_user1" and msg.chat_id == "oc_room"
    unknown = api.post(
        f"{MESSAGES}/om_never_seen/reply",
        json={"msg_type": "text", "content": json.dumps({"text": "?"})},
    )
    assert unknown.json()["data"]["chat_id"] == "oc_unknown"
    bad = api.post(
        f"{MESSAGES}/xyz/reply", json={"msg_type": "text", "content": json.dumps({"text": "?"})}
    )
    assert bad.json()["code"] == 230001
    assert [c.operation for c in emu.calls[1:]] == ["message_reply"] * 3


def test_per_chat_limit(emu: Emulator, api: Api):
    codes = [send(api, "oc_busy", {"text": str(i)}, msg_type="text") for i in range(6)]
    assert [r.status_code for r in codes] == [200] * 5 + [429]
    assert codes[-1].json()["code"] == 230020
    assert int(codes[-1].headers["x-ogw-ratelimit-reset"]) >= 1
    assert send(api, "oc_quiet", {"text": "x"}, msg_type="text").status_code == 200
    assert len(emu.messages) == 6


def patch(api: Api, message_id: str, content: dict):
    return api.patch(f"{MESSAGES}/{message_id}", json={"content": json.dumps(content)})


def test_patch_requires_shared_cards(emu: Emulator, api: Api):
    shared = send(api, "oc_a", card("v1")).json()["data"]["message_id"]
    resp = patch(api, shared, card("v2"))
    assert resp.status_code == 200 and resp.json()["code"] == 0
    assert emu.message(shared).updates == [card("v2")]
    assert emu.latest_card(shared) == card("v2")

    # the new card must also be shared
    resp = patch(api, shared, card("v3", shared=False))
    assert resp.status_code == 400 and "update_multi" in resp.json()["msg"]
    # a 2.0 card cannot become a 1.0 card
    assert patch(api, shared, card("v1 schema", schema=None)).json()["code"] == 200830

    unshared = send(api, "oc_a", card("v1", shared=False)).json()["data"]["message_id"]
    assert patch(api, unshared, card("v2")).status_code == 400
    assert emu.message(unshared).updates == []

    text = send(api, "oc_a", {"text": "t"}, msg_type="text").json()["data"]["message_id"]
    assert patch(api, text, card("v2")).json()["code"] == 230001
    assert patch(api, "om_not_ours", card("v2")).json()["code"] == 230001
    assert patch(api, shared, card("x" * 31 * 1024)).json()["code"] == 230025
    assert emu.latest_card(shared) == card("v2")


def test_a_recalled_message_cannot_be_updated(emu: Emulator, api: Api):
    mid = send(api, "oc_a", card("v1")).json()["data"]["message_id"]
    emu.recall(mid)
    resp = patch(api, mid, card("v2"))
    assert (resp.status_code, resp.json()["code"]) == (400, 230011)
    assert emu.latest_card(mid) == card("v1")
    assert emu.message(mid).recalled


def test_patch_limit_per_message(emu: Emulator, api: Api):
    mid = send(api, "oc_a", card("v0")).json()["data"]["message_id"]
    statuses = [patch(api, mid, card(f"v{i}")).status_code for i in range(1, 7)]
    assert statuses == [200] * 5 + [429]
    assert len(emu.message(mid).updates) == 5


def test_delayed_card_update_token_uses(emu: Emulator, api: Api):
    mid = send(api, "oc_a", card("v0")).json()["data"]["message_id"]
    token = emu.issue_card_token(mid)
    assert token.startswith("c-")
    url = "/open-apis/interactive/v1/card/update"
    first = api.post(url, json={"token": token, "card": card("v1")})
    assert (first.status_code, first.json()) == (200, {"code": 0, "msg": "success"})
    assert api.post(url, json={"token": token, "card": card("v2")}).json()["code"] == 0
    third = api.post(url, json={"token": token, "card": card("v3")})
    assert third.status_code == 400 and third.json()["code"] != 0
    assert emu.message(mid).updates == [card("v1"), card("v2")]
    assert emu.card_update_tokens[token].uses == 2
    forged = api.post(url, json={"token": "c-forged", "card": card("x")})
    assert forged.status_code == 400
    assert api.post(url, json={"card": card("x")}).status_code == 400


def test_card_action_helper_issues_token_for_message(emu: Emulator, api: Api):
    mid = send(api, "oc_room", card("v0")).json()["data"]["message_id"]
    payload = emu.card_action(
        {"action": "refresh"}, open_id="ou_admin", message_id=mid, token="vtoken"
    )
    event = payload["event"]
    assert payload["header"]["event_type"] == "card.action.trigger"
    assert event["context"] == {"open_message_id": mid, "open_chat_id": "oc_room"}
    assert event["action"] == {"value": {"action": "refresh"}, "tag": "button"}
    assert event["token"] in emu.card_update_tokens
    resp = api.post(
        "/open-apis/interactive/v1/card/update", json={"token": event["token"], "card": card("v1")}
    )
    assert resp.json()["code"] == 0
    assert emu.latest_card(mid) == card("v1")


def test_card_token_view_issues_and_reports(emu: Emulator, api: Api):
    mid = send(api, "oc_a", card("v0")).json()["data"]["message_id"]
    tokens = emu.card_update_tokens
    token = tokens.issue_card_token(mid)
    assert token in tokens and len(tokens) == 1
    assert tokens[token].message_id == mid and tokens[token].uses == 0
    assert tokens.get("c-none") is None
