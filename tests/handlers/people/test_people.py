"""People, not IDs, over real HTTP: <who>, register @person, find, me, welcome and menu."""

from __future__ import annotations

import pytest

from bot.emulator import Employee
from tests.conftest import (
    ADMIN,
    OUTSIDER,
    VERIFICATION_TOKEN,
    Feishu,
    buttons,
    card_text,
    exported_rows,
    wait_for,
)

HIRE = "ou_hire"  # Zhang San, hire@open.com, +86 18900001111 (tests/conftest.py)


def mention(emulator, open_id: str, key: str = "@_user_1") -> dict:
    return emulator.user_mention(open_id, key)


def ask_mentioning(lark: Feishu, emulator, text: str, *people: str, **kw):
    mentions = [mention(emulator, p, f"@_user_{n}") for n, p in enumerate(people, start=1)]
    return lark.ask(text, mentions=mentions, **kw).content


def registered(lark: Feishu, emulator, *, shown: bool = True) -> str:
    """Zhang San's account, registered by email through the bot (and `shown` once, so the
    records know its referrer: name, mobile, open_id)."""
    card = lark.ask("/referral register hire@open.com").content
    (account_id,) = [a["account_id"] for a in emulator.accounts()]
    assert account_id in card_text(card)
    if shown:
        lark.ask(f"/referral show {account_id}")
    return account_id


@pytest.mark.parametrize(
    "who", ["hire@open.com", "HIRE@open.com", "+86 18900001111", "18900001111"]
)
def test_show_finds_the_account_by_the_contact_it_was_registered_with(lark, emulator, who):
    account_id = registered(lark, emulator)
    assert account_id in card_text(lark.ask(f"/referral show {who}").content)


def test_show_finds_an_account_by_its_referrers_email_from_feishu(lark, emulator, bot):
    emulator.add_employee(
        Employee(open_id="ou_li", email="li@open.com", mobile=("86", "13700000000"))
    )
    account_id = emulator.create_account("ou_li")
    lark.ask(f"/referral show {account_id}")  # the records learn the referrer's contacts
    assert account_id in card_text(lark.ask("/referral disable li@open.com").content)
    assert emulator.account(account_id)["status"] == 2


def test_a_mention_is_looked_up_once_then_found_in_the_records(lark, emulator):
    account_id = registered(lark, emulator, shown=False)
    emulator.clear_calls()
    card = ask_mentioning(lark, emulator, "/referral show @_user_1", HIRE)
    assert account_id in card_text(card)
    assert len(emulator.calls_for("contact_user_get")) == 1
    card = ask_mentioning(lark, emulator, "/referral show @_user_1", HIRE)
    assert account_id in card_text(card)
    assert len(emulator.calls_for("contact_user_get")) == 1  # linked: no second lookup


def test_a_mention_whose_email_is_hidden_falls_back_to_the_mobile(lark, emulator):
    lark.ask("/referral register +86 18900001111")
    (account_id,) = [a["account_id"] for a in emulator.accounts()]
    emulator.revoke_scopes("contact:user.email:readonly")
    card = ask_mentioning(lark, emulator, "/referral show @_user_1", HIRE)
    assert account_id in card_text(card)
    (lookup,) = emulator.calls_for("contact_user_get")
    assert "email" not in lookup.response["data"]["user"]


def test_nobody_found_names_what_was_looked_for_and_offers_to_register(lark, emulator, bot):
    card = lark.ask("/referral show hire@open.com").content
    text = card_text(card)
    assert "hire@open.com" in text and "/referral register hire@open.com" in text
    (register,) = buttons(card)
    assert register == {"action": "register", "contact": "hire@open.com"}
    assert emulator.calls_for("create") == [] and emulator.calls_for("get_account_assets") == []

    message = [m for m in emulator.messages if m.content == card][-1]
    result, _ = lark.press(message, register)
    assert result.body["toast"]["type"] == "success"
    (account,) = emulator.accounts()
    assert account["account_id"] in card_text(result.body["card"]["data"])
    assert bot.services.accounts.get(account["account_id"]).contact == "hire@open.com"


def test_a_mention_of_someone_unknown_offers_their_email(lark, emulator):
    card = ask_mentioning(lark, emulator, "/referral show @_user_1", HIRE)
    assert "张三" in card_text(card)  # the name Feishu gives
    assert buttons(card) == [{"action": "register", "contact": "hire@open.com"}]


def test_several_matches_get_the_list_of_them(lark, emulator, bot):
    emulator.add_employee(Employee(open_id="ou_a", email="twin@open.com"))
    emulator.add_employee(Employee(open_id="ou_b", mobile=("86", "13900000000")))
    first = emulator.create_account("ou_a")
    second = emulator.create_account("ou_b")
    for account_id in (first, second):
        lark.ask(f"/referral show {account_id}")
    bot.services.accounts.link(second, "email", "twin@open.com")  # both known by one email
    text = card_text(lark.ask("/referral show twin@open.com").content)
    assert "Accounts of twin@open.com" in text and first in text and second in text


def test_find_matches_id_contact_name_email_and_mobile_case_insensitively(lark, emulator):
    emulator.add_employee(
        Employee(open_id="ou_li", email="li.si@open.com", name_zh="李四", name_en="Li Si")
    )
    hire = registered(lark, emulator)
    li = emulator.create_account("ou_li")
    lark.ask(f"/referral show {li}")
    both = card_text(lark.ask("/referral find OPEN.COM").content)
    assert hire in both and li in both and "2 accounts" in both
    assert li in card_text(lark.ask("/referral find 李四").content)
    only = card_text(lark.ask("/referral find zhang").content)
    assert hire in only and li not in only
    assert "No known account matches" in card_text(lark.ask("/referral find nobody").content)


def test_register_by_mention_uses_the_persons_email(lark, emulator, bot):
    card = ask_mentioning(lark, emulator, "/referral register @_user_1", HIRE)
    assert "Account registered" in card_text(card)
    (create,) = emulator.calls_for("create")
    assert create.body == {"email": "hire@open.com"}
    (account,) = emulator.accounts()
    assert bot.services.accounts.find_by("open_id", HIRE) == [account["account_id"]]


def test_register_by_mention_says_which_permission_is_missing(lark, emulator):
    emulator.revoke_scopes("contact:user.email:readonly", "contact:user.phone:readonly")
    text = card_text(ask_mentioning(lark, emulator, "/referral register @_user_1", HIRE))
    assert "contact:user.email:readonly" in text
    assert emulator.calls_for("create") == []


def test_a_person_outside_the_contact_range_gets_plain_words(lark, emulator):
    emulator.set_contact_range([ADMIN])
    text = card_text(ask_mentioning(lark, emulator, "/referral register @_user_1", HIRE))
    assert "contact range" in text
    assert emulator.calls_for("create") == []


def test_in_a_group_the_bots_own_mention_names_no_account(lark, emulator):
    account_id = registered(lark, emulator)
    event = emulator.message_event(
        "@_user_1 /referral show @_user_2",
        open_id=ADMIN,
        token=VERIFICATION_TOKEN,
        chat_id="oc_hr",
        chat_type="group",
        mentions=[emulator.bot_mention("@_user_1"), mention(emulator, HIRE, "@_user_2")],
    )
    lark.push(event)
    reply = lark.reply_to(event["event"]["message"]["message_id"])
    assert account_id in card_text(reply.content)


def test_me_shows_a_non_admin_their_own_account_read_only(lark, emulator, bot):
    account_id = registered(lark, emulator)
    card = lark.ask("/referral me", open_id=HIRE).content
    assert account_id in card_text(card)
    assert buttons(card) == []
    assert bot.services.audit.entries()[-1]["action"] == "me"


def test_me_for_someone_with_no_account_says_hr_can_register_them(lark, emulator, bot):
    registered(lark, emulator)
    emulator.add_employee(Employee(open_id=OUTSIDER, email="outsider@open.com"))
    emulator.clear_calls()
    text = card_text(lark.ask("/referral me", open_id=OUTSIDER).content)
    assert "Ask HR to register you" in text
    assert emulator.calls_for("get_account_assets") == []


def test_me_about_someone_else_is_a_usage_error(lark, emulator):
    registered(lark, emulator)
    text = card_text(
        ask_mentioning(lark, emulator, "/referral me @_user_1", HIRE, open_id=OUTSIDER)
    )
    assert "/referral me" in text and "takes no arguments" in text


def test_the_welcome_is_sent_once_per_person_across_a_restart(make_bot, emulator):
    bot = make_bot()
    lark = Feishu(bot, emulator)
    chat = emulator.p2p_chat_id(OUTSIDER)
    lark.push(emulator.p2p_chat_entered_event(OUTSIDER, token=VERIFICATION_TOKEN, chat_id=chat))
    wait_for(lambda: emulator.messages_in(chat), what="the welcome")
    assert "referral-bot help" in card_text(emulator.messages_in(chat)[0].content)
    bot.stop()
    restarted = make_bot()
    again = Feishu(restarted, emulator)
    again.push(emulator.p2p_chat_entered_event(OUTSIDER, token=VERIFICATION_TOKEN, chat_id=chat))
    wait_for(lambda: restarted.inbox.counts() == {"done": 2}, what="the second entry worked off")
    assert len(emulator.messages_in(chat)) == 1


def test_a_menu_item_runs_its_command_for_the_person_in_their_chat(lark, emulator, bot):
    account_id = registered(lark, emulator)
    lark.push(emulator.bot_menu_event(HIRE, "me", token=VERIFICATION_TOKEN))
    chat = emulator.p2p_chat_id(HIRE)
    (answer,) = wait_for(lambda: emulator.messages_in(chat), what="the answer")
    assert account_id in card_text(answer.content) and buttons(answer.content) == []


def test_a_menu_item_keeps_the_admin_rule(lark, emulator, bot):
    lark.push(emulator.bot_menu_event(OUTSIDER, "list", token=VERIFICATION_TOKEN))
    chat = emulator.p2p_chat_id(OUTSIDER)
    (answer,) = wait_for(lambda: emulator.messages_in(chat), what="the answer")
    assert "not allowed" in card_text(answer.content)
    wait_for(lambda: bot.inbox.counts() == {"done": 1}, what="worked off")
    assert len(emulator.messages_in(chat)) == 1


HONG_KONG = "ou_hk"  # 陈大文, +852 61234567, no email


def hong_kong_employee(emulator) -> None:
    emulator.add_employee(
        Employee(open_id=HONG_KONG, mobile=("852", "61234567"), name_zh="陈大文", name_en="Chan")
    )


def exported_accounts(lark: Feishu, emulator) -> list[dict]:
    """The rows of `/referral export accounts`, as the file the bot posts in the chat."""
    lark.ask("/referral export accounts")
    return exported_rows(emulator, "oc_hr")


@pytest.mark.parametrize("who", ["+852 61234567", "+85261234567"])
def test_a_hong_kong_employee_is_registered_and_found_by_either_spelling(lark, emulator, who):
    hong_kong_employee(emulator)
    assert "Account registered" in card_text(lark.ask(f"/referral register {who}").content)
    (create,) = emulator.calls_for("create")
    assert create.body == {"mobile": {"code": "852", "number": "61234567"}}
    (account,) = emulator.accounts()
    for spelling in ("+852 61234567", "+85261234567"):
        text = card_text(lark.ask(f"/referral show {spelling}").content)
        assert account["account_id"] in text
        # Feishu gives the referrer's mobile without its code; the card shows it with it.
        assert (
            emulator.calls_for("get_account_assets")[-1].response["data"]["account"]["referrer"][
                "mobile"
            ]
            == "61234567"
        )
        # The contact is the referrer's mobile: shown once, under Mobile.
        assert "**Mobile**: +852 61234567" in text and text.count("+852 61234567") == 1
    (row,) = exported_accounts(lark, emulator)
    # A cell starting with "+" is written behind a ' so a spreadsheet never runs it.
    assert row["registered_with"] == row["referrer_mobile"] == "'+852 61234567"


def test_an_account_known_by_a_mobile_without_its_code_is_found_with_it(lark, emulator, bot):
    hong_kong_employee(emulator)
    account_id = emulator.create_account(HONG_KONG)
    emulator.add_bonus(account_id, points=300)
    lark.ask(f"/referral show {account_id}")  # the records learn the referrer: "61234567"
    text = card_text(lark.ask("/referral show +85261234567").content)
    assert account_id in text and "300" in text
    assert "**Mobile**: +852 61234567" in text  # the code now known from the question
    assert bot.services.accounts.find_by("mobile", "85261234567") == [account_id]
    (row,) = exported_accounts(lark, emulator)
    assert row["referrer_mobile"] == "'+852 61234567"


def test_registering_an_account_the_records_hold_says_it_was_already_registered(
    lark, emulator, bot
):
    hong_kong_employee(emulator)
    account_id = emulator.create_account(HONG_KONG)
    emulator.add_bonus(account_id, points=300)
    lark.ask(f"/referral show {account_id}")
    text = card_text(lark.ask("/referral register +852 61234567").content)
    assert "Account already registered" in text and "Account registered" not in text
    assert account_id in text and "**Balance**: 300 points · no cash" in text
    assert "**Mobile**: +852 61234567" in text
    assert [a["account_id"] for a in emulator.accounts()] == [account_id]
    assert bot.services.accounts.get(account_id).contact == "+852 61234567"


def test_the_register_button_on_an_account_the_records_hold_says_so_too(lark, emulator):
    account_id = registered(lark, emulator)
    emulator.add_employee(Employee(open_id="ou_other", email="other@open.com"))
    card = lark.ask("/referral show other@open.com").content
    message = [m for m in emulator.messages if m.content == card][-1]
    # The button names hire@open.com's account: create answers the one the records hold.
    result, _ = lark.press(message, {"action": "register", "contact": "hire@open.com"})
    assert result.body["toast"]["content"] == "Account already registered"
    assert account_id in card_text(result.body["card"]["data"])


def test_register_by_mention_of_a_hong_kong_employee_sends_the_code_apart(lark, emulator):
    hong_kong_employee(emulator)
    card = ask_mentioning(lark, emulator, "/referral register @_user_1", HONG_KONG)
    assert "Account registered" in card_text(card)
    (create,) = emulator.calls_for("create")
    assert create.body == {"mobile": {"code": "852", "number": "61234567"}}
    assert "+852 61234567" in card_text(card)


def test_a_mention_of_an_unknown_hong_kong_employee_offers_their_mobile(lark, emulator):
    hong_kong_employee(emulator)
    card = ask_mentioning(lark, emulator, "/referral show @_user_1", HONG_KONG)
    assert buttons(card) == [{"action": "register", "contact": "+852 61234567"}]
    assert "/referral register +852 61234567" in card_text(card)
