"""Every command of the contract, end to end: chat message in, Open API call, card out."""

import json
from decimal import Decimal

import pytest

from bot.emulator import Employee
from bot.emulator import events as feishu
from handlers.registry import loaded
from tests.conftest import ADMIN, OUTSIDER, Feishu, buttons, card_text, card_text_zh, wait_for


def account_of(card: dict) -> str:
    return buttons(card)[0]["account_id"]


def test_register_by_email(lark: Feishu, emulator, bot):
    card = lark.ask("/referral register hire@open.com").content
    (call,) = emulator.calls_for("create")
    assert call.body == {"email": "hire@open.com"}
    account_id = account_of(card)
    assert emulator.account(account_id)["open_id"] == "ou_hire"
    text = card_text(card)
    assert "Account registered" in text and f"`{account_id}`" in text
    assert "hire@open.com" in text
    assert "账户已注册" in card_text_zh(card)
    assert buttons(card) == [
        {"action": "disable", "account_id": account_id},
        {"action": "refresh", "account_id": account_id},
    ]
    record = bot.services.accounts.get(account_id)
    assert (record.contact, record.registered_by) == ("hire@open.com", ADMIN)


@pytest.mark.parametrize(
    ("text", "mobile"),
    [
        ("/referral register +86 18900001111", {"code": "86", "number": "18900001111"}),
        ("/referral register 18900001111", {"code": "86", "number": "18900001111"}),
    ],
)
def test_register_by_mobile(lark: Feishu, emulator, text, mobile):
    card = lark.ask(text).content
    (call,) = emulator.calls_for("create")
    assert call.body == {"mobile": mobile}
    assert emulator.account(account_of(card))["open_id"] == "ou_hire"


def test_show_renders_points_cash_and_referrer(lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    emulator.add_bonus(
        account_id, points=1200, cash={"CNY": Decimal("1234.5"), "USD": Decimal("10")}
    )
    card = lark.ask(f"/referral show {account_id}").content
    (call,) = emulator.calls_for("get_account_assets")
    assert call.query["referral_account_id"] == account_id
    text = card_text(card)
    for shown in ("1,200", "CNY 1,234.50", "USD 10.00", "Zhang San", f"`{account_id}`"):
        assert shown in text, shown
    assert "张三" in card_text_zh(card)


def test_enable_and_disable(lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    card = lark.ask(f"/referral disable {account_id}").content
    assert emulator.account(account_id)["status"] == 2
    assert "Account disabled" in card_text(card)
    assert buttons(card)[0] == {"action": "enable", "account_id": account_id}
    card = lark.ask(f"/referral enable {account_id}").content
    assert emulator.account(account_id)["status"] == 1
    assert buttons(card)[0] == {"action": "disable", "account_id": account_id}
    assert len(emulator.calls_for("deactivate")) == len(emulator.calls_for("enable")) == 1


def test_list_shows_known_accounts_without_calling_the_api(lark: Feishu, emulator):
    assert "register" in card_text(lark.ask("/referral list").content)
    account_id = account_of(lark.ask("/referral register hire@open.com").content)
    emulator.clear_calls()
    card = lark.ask("/referral list").content
    assert account_id in card_text(card)
    assert {"action": "show", "account_id": account_id} in buttons(card)
    assert [c for c in emulator.calls if c.operation not in ("message_reply",)] == []


@pytest.mark.parametrize("text", ["/referral help", "/referral", "@_user_1 /referral help"])
def test_help_lists_every_command(lark: Feishu, text):
    card = lark.ask(text).content
    shown = card_text(card)
    for sub in loaded().commands.values():
        assert sub.usage in shown
    assert len(shown.splitlines()) <= 21  # fits on one phone screen (with the 3 of issue 20)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("/referral register not-an-email@", "not a valid email"),
        ("/referral show abc", "names no account"),
        ("/referral enable", "Say which account"),
        ("/referral frobnicate", "Unknown command"),
        ("hello bot", "only understand /referral"),
    ],
)
def test_bad_input_gets_usage_and_no_api_call(lark: Feishu, emulator, text, says):
    card = lark.ask(text).content
    assert says in card_text(card)
    assert "/referral" in card_text(card)  # the usage
    assert card["header"]["template"] == "red"
    assert [c.operation for c in emulator.calls if c.operation != "tenant_token"] == [
        "message_reply"
    ]


@pytest.mark.parametrize(
    ("setup", "text", "says"),
    [
        (None, "/referral register nobody@open.com", "No employee has this email"),
        ("twins", "/referral register twin@open.com", "More than one employee matches"),
        (None, "/referral show 123456", "no referral account with this ID"),
        (None, "/referral disable 123456", "no referral account with this ID"),
        (None, "/referral enable 123456", "no referral account with this ID"),
    ],
)
def test_open_api_errors_get_plain_words(lark: Feishu, emulator, bot, setup, text, says):
    account_id = emulator.create_account("ou_hire")
    if setup == "twins":
        for n in (1, 2):
            emulator.add_employee(Employee(open_id=f"ou_twin{n}", email="twin@open.com"))
    card = lark.ask(text.format(account=account_id), timeout=30).content
    assert says in card_text(card), card_text(card)
    assert "Traceback" not in json.dumps(card)
    assert bot.services.audit.entries()[-1]["outcome"].startswith("error")


def test_outsider_is_refused_and_nothing_is_called(lark: Feishu, emulator, bot):
    account_id = emulator.create_account("ou_hire")
    card = lark.ask(f"/referral disable {account_id}", open_id=OUTSIDER).content
    assert "not allowed" in card_text(card)
    assert emulator.calls_for("deactivate") == []
    assert emulator.account(account_id)["status"] == 1
    (entry,) = bot.services.audit.entries()
    assert (entry["actor"], entry["action"], entry["account_id"], entry["outcome"]) == (
        OUTSIDER,
        "disable",
        account_id,
        "refused",
    )


def test_nobody_may_act_when_no_admins_are_set(make_bot, emulator):
    lark = Feishu(make_bot(admins=frozenset()), emulator)
    card = lark.ask("/referral register hire@open.com").content
    assert "not allowed" in card_text(card)
    assert emulator.calls_for("create") == []


def test_every_action_is_audited(lark: Feishu, emulator, bot):
    account_id = account_of(lark.ask("/referral register hire@open.com").content)
    lark.ask(f"/referral show {account_id}")
    entries = bot.services.audit.entries()
    assert [(e["action"], e["outcome"], e["actor"]) for e in entries] == [
        ("register", "ok", ADMIN),
        ("show", "ok", ADMIN),
    ]
    assert entries[1]["account_id"] == account_id and entries[1]["at"]


def test_in_a_group_the_bot_acts_only_when_mentioned(lark: Feishu, emulator):
    plain, plain_id = lark.say("/referral help", chat_type="group", chat_id="oc_group")
    other = feishu.bot_mention(name="Alice", open_id="ou_alice")
    _, other_id = lark.say("@_user_1 /referral help", chat_type="group", mentions=[other])
    mentioned = lark.ask(
        "@_user_1 /referral help",
        chat_type="group",
        chat_id="oc_group",
        mentions=[feishu.bot_mention(open_id="ou_bot")],
    )
    assert mentioned.chat_id == "oc_group"
    assert not [m for m in emulator.messages if m.reply_to in (plain_id, other_id)]


def test_messages_from_other_apps_are_ignored(lark: Feishu, emulator, bot):
    event = lark.message("/referral register hire@open.com")
    event["event"]["sender"]["sender_type"] = "app"
    assert lark.push(event).status == 200
    wait_for(lambda: bot.inbox.counts() == {"done": 1}, what="the event worked off")
    assert emulator.calls_for("create") == []
