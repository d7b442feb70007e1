"""People: contact v3 user get and batch_get_id through the real lark-oapi client, field
scopes, the contact range, the referrer in get_account_assets, p2p chats, and the people
events built by the facade."""

from __future__ import annotations

import json

import lark_oapi as lark
import pytest
from lark_oapi.api.application.v6 import P2ApplicationBotMenuV6
from lark_oapi.api.contact.v3 import (
    BatchGetIdUserRequest,
    BatchGetIdUserRequestBody,
    GetUserRequest,
    P2ContactUserDeletedV3,
)
from lark_oapi.api.hire.v1 import GetAccountAssetsReferralAccountRequest
from lark_oapi.api.im.v1 import (
    CreateMessageRequest,
    CreateMessageRequestBody,
    P2ImChatAccessEventBotP2pChatEnteredV1,
    P2ImMessageReceiveV1,
)

from bot.emulator import Employee, Emulator, scopes
from bot.emulator.ratelimit import DEFAULT_LIMITS

from .conftest import Api

VTOKEN = "verification-token"
BOT_NEEDS = {
    "hire:referral_account",
    "hire:referral_account:readonly",
    "im:message",
    "im:message:send_as_bot",
    "im:resource",
    "contact:user.base:readonly",
    "contact:user.email:readonly",
    "contact:user.phone:readonly",
    "contact:user.id:readonly",
    "contact:contact.base:readonly",
    "hire:employee.email:readonly",
    "hire:employee.mobile:readonly",
}


@pytest.fixture
def li(emu: Emulator) -> Employee:
    return emu.add_employee(
        Employee(
            open_id="ou_li",
            email="li.hua@open.com",
            mobile=("852", "61234567"),
            name_zh="李华",
            name_en="Li Hua",
            user_id="lihua",
            union_id="on_lihua",
            enterprise_email="li.hua@corp.open.com",
            department_ids=["od_hr"],
        )
    )


def get_user(client: lark.Client, user_id: str, id_type: str | None = "open_id"):
    builder = GetUserRequest.builder().user_id(user_id)
    if id_type is not None:
        builder = builder.user_id_type(id_type)
    return client.contact.v3.user.get(builder.build())


def batch_get_id(
    client: lark.Client,
    *,
    emails: list[str] | None = None,
    mobiles: list[str] | None = None,
    include_resigned: bool | None = None,
    id_type: str = "open_id",
):
    body = BatchGetIdUserRequestBody.builder()
    if emails is not None:
        body = body.emails(emails)
    if mobiles is not None:
        body = body.mobiles(mobiles)
    if include_resigned is not None:
        body = body.include_resigned(include_resigned)
    req = BatchGetIdUserRequest.builder().user_id_type(id_type).request_body(body.build()).build()
    return client.contact.v3.user.batch_get_id(req)


def send_text(client: lark.Client, receive_id: str, id_type: str, text: str = "hi"):
    body = (
        CreateMessageRequestBody.builder()
        .receive_id(receive_id)
        .msg_type("text")
        .content(json.dumps({"text": text}))
        .build()
    )
    req = CreateMessageRequest.builder().receive_id_type(id_type).request_body(body).build()
    return client.im.v1.message.create(req)


# --- contact_user_get ------------------------------------------------------------------------
def test_user_get_by_each_id_type(emu: Emulator, client, li: Employee):
    for id_type, ident in (("open_id", "ou_li"), ("user_id", "lihua"), ("union_id", "on_lihua")):
        resp = get_user(client, ident, id_type)
        assert resp.success(), (id_type, resp.code, resp.msg)
        user = resp.data.user
        assert (user.open_id, user.user_id, user.union_id) == ("ou_li", "lihua", "on_lihua")
        assert (user.name, user.en_name) == ("李华", "Li Hua")
        assert user.email == "li.hua@open.com"
        assert user.enterprise_email == "li.hua@corp.open.com"
        assert user.mobile == "+85261234567"
        assert user.department_ids == ["od_hr"]
        assert user.status.is_resigned is False and user.status.is_activated is True
    calls = emu.calls_for("contact_user_get")
    assert [c.path for c in calls] == [
        "/open-apis/contact/v3/users/ou_li",
        "/open-apis/contact/v3/users/lihua",
        "/open-apis/contact/v3/users/on_lihua",
    ]
    assert calls[1].query == {"user_id_type": "user_id"} and calls[1].status == 200
    # user_id_type defaults to open_id; a mainland number reads "+86..."
    default = get_user(client, "ou_1", None)
    assert default.success() and default.data.user.mobile == "+8618900001111"
    assert default.data.user.enterprise_email is None  # ou_1 has none


def test_field_scopes_leave_fields_out(emu: Emulator, client, li: Employee):
    assert emu.granted_scopes >= BOT_NEEDS
    assert emu.granted_scopes == scopes.DEFAULT_SCOPES
    emu.revoke_scopes("contact:user.email:readonly")
    user = get_user(client, "ou_li").data.user
    assert user.email is None and user.enterprise_email is None
    assert user.mobile == "+85261234567" and user.name == "李华"
    emu.revoke_scopes("contact:user.phone:readonly", "contact:user.base:readonly")
    resp = get_user(client, "ou_li")
    assert resp.success()
    raw = json.loads(resp.raw.content)["data"]["user"]
    assert not {"email", "enterprise_email", "mobile", "name", "en_name"} & set(raw)
    assert raw["open_id"] == "ou_li" and raw["user_id"] == "lihua"
    emu.revoke_scopes("contact:user.employee_id:readonly")
    assert get_user(client, "ou_li").data.user.user_id is None
    emu.grant_scopes("contact:user.email:readonly", "contact:user.phone:readonly")
    user = get_user(client, "ou_li").data.user
    assert user.email == "li.hua@open.com" and user.mobile == "+85261234567"
    assert user.name is None
    assert "contact:user.email:readonly" in emu.granted_scopes
    with pytest.raises(ValueError):
        emu.grant_scopes("")


def test_user_get_errors(emu: Emulator, client, li: Employee):
    unknown = get_user(client, "ou_nobody")
    assert (unknown.code, unknown.msg) == (41012, "user id invalid error")
    assert get_user(client, "ou_li", "user_id").code == 41012  # an open_id is no user_id
    bad_type = get_user(client, "ou_li", "email")
    assert bad_type.code == 40001 and "user_id_type" in bad_type.msg
    emu.set_contact_range(["ou_1"])
    assert emu.contact_range == frozenset({"ou_1"})
    outside = get_user(client, "ou_li")
    assert (outside.code, outside.msg) == (41050, "no user authority error")
    assert get_user(client, "ou_1").success()
    emu.set_contact_range(None)
    assert get_user(client, "ou_li").success()
    assert [c.status for c in emu.calls_for("contact_user_get")] == [400] * 4 + [200] * 2


def test_user_get_needs_a_contact_scope(emu: Emulator, client):
    emu.revoke_scopes("contact:contact.base:readonly")
    resp = get_user(client, "ou_1")
    assert resp.code == 99991672
    assert "contact:contact.base:readonly" in resp.msg and "Access denied" in resp.msg
    assert emu.calls_for("contact_user_get")[-1].status == 400
    # the SDK leaves `error` as a plain dict (BaseResponse has no type for it)
    assert resp.error["permission_violations"][0]["subject"] == "contact:contact.base:readonly"
    emu.grant_scopes("contact:contact:readonly_as_app")  # any of the contact read scopes
    assert get_user(client, "ou_1").success()


def test_user_get_rate_limit(emu: Emulator, api: Api):
    assert DEFAULT_LIMITS["contact_user_get"] == (50, 1.0)
    emu.rate_limits["contact_user_get"] = (2, 60.0)
    answers = [api.get("/open-apis/contact/v3/users/ou_1") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[-1].json()["code"] == 99991400


# --- contact_batch_get_id --------------------------------------------------------------------
def test_batch_get_id_found_and_unknown(emu: Emulator, client, li: Employee):
    resp = batch_get_id(
        client,
        emails=["HIRE@open.com", "nobody@open.com", "li.hua@corp.open.com"],
        mobiles=["18900001111", "+8618900001111", "+85261234567", "61234567", "13000000000"],
    )
    assert resp.success(), (resp.code, resp.msg)
    got = [(u.email or u.mobile, u.user_id) for u in resp.data.user_list]
    assert got == [
        ("HIRE@open.com", "ou_1"),
        ("nobody@open.com", None),
        ("li.hua@corp.open.com", "ou_li"),
        ("18900001111", "ou_1"),
        ("+8618900001111", "ou_1"),
        ("+85261234567", "ou_li"),
        ("61234567", None),  # outside mainland China the number needs its +code
        ("13000000000", None),
    ]
    assert resp.data.user_list[0].status.is_resigned is False
    raw = json.loads(resp.raw.content)["data"]["user_list"]
    assert "user_id" not in raw[1] and raw[1] == {"email": "nobody@open.com"}
    call = emu.calls_for("contact_batch_get_id")[-1]
    assert call.method == "POST" and call.query == {"user_id_type": "open_id"}
    by_user_id = batch_get_id(client, emails=["li.hua@open.com"], id_type="union_id")
    assert by_user_id.data.user_list[0].user_id == "on_lihua"
    assert batch_get_id(client).data.user_list == []


def test_batch_get_id_contact_range_and_resigned(emu: Emulator, client, li: Employee):
    emu.set_contact_range({"ou_1"})
    resp = batch_get_id(client, emails=["li.hua@open.com", "hire@open.com"])
    assert [u.user_id for u in resp.data.user_list] == [None, "ou_1"]
    emu.set_contact_range(None)
    emu.resign_employee("ou_li")
    assert batch_get_id(client, mobiles=["+85261234567"]).data.user_list[0].user_id is None
    found = batch_get_id(client, mobiles=["+85261234567"], include_resigned=True)
    entry = found.data.user_list[0]
    assert entry.user_id == "ou_li" and entry.status.is_resigned is True
    user = get_user(client, "ou_li").data.user
    assert user.status.is_resigned is True and user.status.is_activated is False


def test_batch_get_id_refuses_more_than_50(emu: Emulator, client):
    fifty = [f"p{i}@open.com" for i in range(50)]
    assert batch_get_id(client, emails=fifty, mobiles=[str(i) for i in range(50)]).success()
    too_many = batch_get_id(client, emails=[*fifty, "one.more@open.com"])
    assert too_many.code == 40001 and "emails" in too_many.msg
    mobiles = batch_get_id(client, mobiles=[str(13000000000 + i) for i in range(51)])
    assert mobiles.code == 40001 and "mobiles" in mobiles.msg
    assert batch_get_id(client, emails=["x@open.com"], id_type="email").code == 40001
    assert [c.status for c in emu.calls_for("contact_batch_get_id")] == [200] + [400] * 3


def test_batch_get_id_needs_its_scope(emu: Emulator, client, api: Api):
    emu.revoke_scopes("contact:user.id:readonly")
    resp = batch_get_id(client, emails=["hire@open.com"])
    assert resp.code == 99991672 and "contact:user.id:readonly" in resp.msg
    raw = api.post(
        "/open-apis/contact/v3/users/batch_get_id",
        params={"user_id_type": "open_id"},
        json={"emails": ["hire@open.com"]},
    )
    assert raw.status_code == 400
    assert raw.json()["error"]["permission_violations"] == [
        {"type": "action_scope_required", "subject": "contact:user.id:readonly"}
    ]
    emu.grant_scopes("contact:user.id:readonly")
    assert batch_get_id(client, emails=["hire@open.com"]).success()


# --- get_account_assets' referrer --------------------------------------------------------------
def assets(client: lark.Client, account_id: str, id_type: str):
    req = (
        GetAccountAssetsReferralAccountRequest.builder()
        .referral_account_id(account_id)
        .user_id_type(id_type)
        .build()
    )
    return client.hire.v1.referral_account.get_account_assets(req)


def test_referrer_follows_user_id_type_and_field_scopes(emu: Emulator, client, li: Employee):
    account_id = emu.create_account("ou_li")
    for id_type, expected in (("open_id", "ou_li"), ("union_id", "on_lihua"), ("user_id", "lihua")):
        resp = assets(client, account_id, id_type)
        assert resp.success() and resp.data.account.referrer.id == expected
    referrer = assets(client, account_id, "open_id").data.account.referrer
    assert (referrer.email, referrer.mobile) == ("li.hua@open.com", "61234567")
    emu.revoke_scopes("hire:employee.email:readonly")
    referrer = assets(client, account_id, "open_id").data.account.referrer
    assert referrer.email is None and referrer.mobile == "61234567"
    assert referrer.name.zh_cn == "李华"
    emu.revoke_scopes("hire:employee.mobile:readonly")
    referrer = assets(client, account_id, "open_id").data.account.referrer
    assert referrer.email is None and referrer.mobile is None
    emu.revoke_scopes("hire:referral_account", "hire:referral_account:readonly")
    assert assets(client, account_id, "open_id").code == 99991672


# --- p2p chats ---------------------------------------------------------------------------------
def test_messages_to_a_person_land_in_their_p2p_chat(emu: Emulator, client, li: Employee):
    event = emu.p2p_chat_entered_event("ou_li", token=VTOKEN, chat_id="oc_li_bot")
    assert event["event"]["chat_id"] == "oc_li_bot" == emu.p2p_chat_id("ou_li")
    for receive_id, id_type in (
        ("ou_li", "open_id"),
        ("on_lihua", "union_id"),
        ("lihua", "user_id"),
        ("li.hua@open.com", "email"),
        ("oc_li_bot", "chat_id"),
    ):
        resp = send_text(client, receive_id, id_type)
        assert resp.success(), (id_type, resp.code, resp.msg)
        assert resp.data.chat_id == "oc_li_bot"
    assert len(emu.messages_in("oc_li_bot")) == 5
    # someone who never opened the chat still gets one, made on first use
    resp = send_text(client, "ou_1", "open_id")
    assert resp.data.chat_id == "oc_p2p_ou_1" == emu.p2p_chat_id("ou_1")
    assert emu.message(resp.data.message_id).receive_id_type == "open_id"


def test_message_event_is_noted_so_replies_land_in_the_chat(emu: Emulator, api: Api):
    event = emu.message_event("/referral show", open_id="ou_1", token=VTOKEN)
    message = event["event"]["message"]
    assert message["chat_id"] == emu.p2p_chat_id("ou_1") and message["chat_type"] == "p2p"
    assert event["event"]["sender"]["sender_id"] == {
        "open_id": "ou_1",
        "union_id": "on_1",
        "user_id": "u_1",
    }
    reply = api.post(
        f"/open-apis/im/v1/messages/{message['message_id']}/reply",
        json={"msg_type": "text", "content": json.dumps({"text": "ok"})},
    )
    assert reply.json()["data"]["chat_id"] == "oc_p2p_ou_1"
    with pytest.raises(ValueError):
        emu.message_event("hi", open_id="ou_1", token=VTOKEN, chat_type="group")


def test_sending_needs_an_im_scope(emu: Emulator, client):
    emu.revoke_scopes("im:message:send_as_bot")
    assert send_text(client, "ou_1", "open_id").success()  # im:message is enough
    emu.revoke_scopes("im:message")
    resp = send_text(client, "ou_1", "open_id")
    assert resp.code == 99991672 and "im:message:send_as_bot" in resp.msg
    assert len(emu.messages) == 1
    emu.reset()
    assert emu.granted_scopes == scopes.DEFAULT_SCOPES and emu.contact_range is None


# --- people events built by the facade -----------------------------------------------------
def test_facade_mentions_use_the_directory(emu: Emulator, li: Employee):
    mention = emu.user_mention("ou_li", "@_user_2")
    event = emu.message_event(
        "@_user_1 /referral register @_user_2",
        open_id="ou_1",
        token=VTOKEN,
        chat_id="oc_hr",
        chat_type="group",
        mentions=[emu.bot_mention(), mention],
    )
    parsed = lark.JSON.unmarshal(json.dumps(event), P2ImMessageReceiveV1)
    bot, person = parsed.event.message.mentions
    assert (bot.key, bot.id.open_id, bot.name) == ("@_user_1", "ou_bot", "referral-bot")
    assert (person.key, person.name) == ("@_user_2", "李华")
    assert (person.id.open_id, person.id.union_id, person.id.user_id) == (
        "ou_li",
        "on_lihua",
        "lihua",
    )
    assert emu.p2p_chat_id("ou_1") == "oc_p2p_ou_1"  # a group message is no p2p chat
    emu.revoke_scopes("contact:user.employee_id:readonly")
    assert emu.user_mention("ou_li")["id"]["user_id"] == ""


def test_facade_p2p_entered_and_menu_events(emu: Emulator, li: Employee):
    entered = emu.p2p_chat_entered_event("ou_li", token=VTOKEN, last_message_id="om_last")
    parsed = lark.JSON.unmarshal(json.dumps(entered), P2ImChatAccessEventBotP2pChatEnteredV1)
    assert parsed.header.app_id == emu.app_id and parsed.header.tenant_key == emu.tenant_key
    assert parsed.event.chat_id == "oc_p2p_ou_li"
    assert parsed.event.operator_id.user_id == "lihua"
    assert parsed.event.last_message_id == "om_last"

    menu = emu.bot_menu_event("ou_li", "my_balance", token=VTOKEN, timestamp=1700000000)
    parsed_menu = lark.JSON.unmarshal(json.dumps(menu), P2ApplicationBotMenuV6)
    assert parsed_menu.event.event_key == "my_balance"
    assert parsed_menu.event.timestamp == 1700000000
    assert parsed_menu.event.operator.operator_id.union_id == "on_lihua"
    assert parsed_menu.event.operator.operator_name is None  # needs its own scope
    emu.grant_scopes(scopes.MENU_OPERATOR_NAME_SCOPE)
    named = emu.bot_menu_event("ou_li", "my_balance", token=VTOKEN)
    assert named["event"]["operator"]["operator_name"] == "李华"


def test_facade_user_deleted_event(emu: Emulator, client, li: Employee):
    emu.revoke_scopes("contact:user.phone:readonly")
    event = emu.user_deleted_event("ou_li", token=VTOKEN, event_id="ev-1")
    parsed = lark.JSON.unmarshal(json.dumps(event), P2ContactUserDeletedV3)
    assert parsed.header.event_type == "contact.user.deleted_v3"
    assert parsed.header.event_id == "ev-1"
    obj = parsed.event.object
    assert (obj.open_id, obj.name, obj.email) == ("ou_li", "李华", "li.hua@open.com")
    assert obj.mobile is None  # the phone field scope was revoked
    assert obj.status.is_resigned is True
    assert parsed.event.old_object.open_id == "ou_li"
    assert parsed.event.old_object.department_ids == ["od_hr"]
    assert emu.employee("ou_li").resigned is True
    assert batch_get_id(client, emails=["li.hua@open.com"]).data.user_list[0].user_id is None
    with pytest.raises(KeyError):
        emu.user_deleted_event("ou_nobody", token=VTOKEN)
