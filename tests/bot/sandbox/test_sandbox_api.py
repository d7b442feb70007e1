"""The sandbox page's JSON API over real HTTP: chats, @-mentions, buttons, the bot menu, the
welcome, the emulated tenant, the digest, a withdrawal asked for by one admin and approved
by another, and the notices: a bonus landing, someone leaving."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import openpyxl

from tests.bot.sandbox.conftest import ADMIN, APPROVER, OUTSIDER, Page
from tests.cards.card_checks import walk
from tests.conftest import buttons, card_text, card_text_zh, wait_for


def mention(open_id: str, key: str = "@_user_1") -> dict:
    return {"key": key, "open_id": open_id}


def no_buttons(card: dict) -> bool:
    return not any(node.get("tag") == "button" for node in walk(card))


def test_page_and_its_assets_are_served(page: Page) -> None:
    index = page.get("/")
    assert index.status_code == 200
    assert '<script src="/static/app.js">' in index.text
    for name, kind in (("app.js", "javascript"), ("app.css", "css")):
        asset = page.get(f"/static/{name}")
        assert asset.status_code == 200 and kind in asset.headers["Content-Type"]
    config = page.get("/api/config").json()
    assert config["bot"]["open_id"] == "ou_bot"
    assert {p["open_id"]: p["admin"] for p in config["people"]} == {
        ADMIN: True,
        OUTSIDER: False,
        APPROVER: True,
    }
    assert config["group"]["chat_id"] == page.group
    emulator = page.sandbox.world.emulator
    # Where the emulator files what the bot sends to a person's open_id: their chat on the page.
    assert {p["p2p_chat"] for p in config["people"]} == {
        emulator.p2p_chat_id(ADMIN),
        emulator.p2p_chat_id(OUTSIDER),
        emulator.p2p_chat_id(APPROVER),
    }
    assert [item["event_key"] for item in config["menu"]] == [
        "me",
        "list",
        "digest",
        "withdrawals",
        "help",
    ]
    settings = page.sandbox.world.bot.settings
    assert settings.digest_chats == (page.group,)
    # Both admins are the bot's admins; any admin but the requester approves a withdrawal.
    assert settings.admins == {ADMIN, APPROVER}
    assert not settings.withdraw_approvers and not settings.withdraw_self_approve
    # Balance changes and leavers are told in the HR group, referrers one-to-one; the notice
    # window is seconds, not Feishu-facing production's minute, so a demo sees the card land.
    assert settings.notice_chats == (page.group,)
    assert settings.notify_referrers and settings.offboarding == "ask"
    assert page.sandbox.world.bot.services.notices.window == timedelta(seconds=5)
    assert config["notice_window"] == 5
    # The names a card's <at id=…></at> shows: everyone in the directory, and the bot.
    assert config["names"][APPROVER] == {"name_en": "Li Na", "name_zh": "李娜"}
    assert config["names"][ADMIN] == {"name_en": "Li Hua", "name_zh": "李华"}
    assert config["names"]["ou_bot"]["name_en"] == "referral-bot"
    assert set(config["names"]) == {e.open_id for e in page.sandbox.world.directory} | {"ou_bot"}


def test_command_in_direct_chat_gets_the_bots_card_in_the_feed(page: Page) -> None:
    said = page.say("/referral register hire@open.com")
    assert said["status"] == 200

    reply = page.reply(said, page.p2p())

    feed = page.feed(page.p2p())
    assert [item["kind"] for item in feed] == ["user", "bot"]
    assert feed[0]["text"] == "/referral register hire@open.com"
    assert reply["msg_type"] == "interactive"
    text = card_text(reply["content"])
    assert "Referral account" in text and "hire@open.com" in text
    assert "内推账户" in card_text_zh(reply["content"])
    (account,) = [a for a in page.tenant()["accounts"] if a["open_id"] == "ou_hire"]
    assert account["account_id"] in text
    assert page.sandbox.world.emulator.calls_for("create")
    # The other person's direct chat and the group stay empty.
    assert page.feed(page.p2p(OUTSIDER)) == [] and page.feed(page.group) == []


def test_group_message_mentions_the_bot_and_is_answered_in_the_group(page: Page) -> None:
    said = page.say("/referral list", chat_id=page.group)

    reply = page.reply(said, page.group)

    user = next(item for item in page.feed(page.group) if item["id"] == said["message_id"])
    assert user["text"] == "@referral-bot /referral list"
    # The bot only answers group messages that @-mention it: seeded accounts prove it read them.
    text = card_text(reply["content"])
    seeded = [a["account_id"] for a in page.tenant()["accounts"]]
    assert len(seeded) == 3 and all(account_id in text for account_id in seeded)


def test_pressing_disable_answers_with_a_toast_and_the_card_changes_in_place(page: Page) -> None:
    card = page.ask("/referral register hire@open.com")
    disable = next(v for v in buttons(card["content"]) if v["action"] == "disable")

    answer = page.press(card["id"], disable)

    assert answer["status"] == 200
    assert answer["toast"]["type"] == "success"
    assert answer["toast"]["i18n"]["en_us"] == "Account disabled"
    assert "Disabled" in card_text(answer["card"])
    shown = next(item for item in page.feed(page.p2p()) if item["id"] == card["id"])
    assert "Disabled" in card_text(shown["content"])
    assert [v["action"] for v in buttons(shown["content"])] == ["enable", "refresh"]
    account_id = disable["account_id"]
    assert page.sandbox.world.emulator.account(account_id)["status"] == 2
    calls = page.tenant()["calls"]
    assert calls[0]["operation"] in ("deactivate", "get_account_assets", "message_patch")
    assert any(c["operation"] == "deactivate" and c["status"] == 200 for c in calls)


def test_someone_not_an_admin_is_refused_and_no_account_is_made(page: Page) -> None:
    reply = page.ask("/referral register hire@open.com", open_id=OUTSIDER)

    assert "not allowed" in card_text(reply["content"])
    assert not page.sandbox.world.emulator.calls_for("create")
    card = page.ask("/referral list")
    some_button = buttons(card["content"])[0]
    answer = page.press(card["id"], some_button, open_id=OUTSIDER)
    assert answer["toast"]["type"] == "error"
    assert answer["card"] is None


def test_bonus_added_in_the_emulator_shows_after_refresh(page: Page) -> None:
    card = page.ask("/referral register hire@open.com")
    account_id = next(v["account_id"] for v in buttons(card["content"]))

    added = page.post(
        f"/api/accounts/{account_id}/bonus", {"points": "250", "amount": "99.5", "currency": "usd"}
    )

    assert added.status_code == 200, added.text
    assert added.json()["points"] == 250 and added.json()["cash"] == {"USD": "99.50"}
    assert added.json()["event"]["status"] == 200  # Feishu told the bot, too
    assert page.sandbox.world.emulator.account(account_id)["cash"] == {"USD": Decimal("99.50")}
    shown = next(a for a in page.tenant()["accounts"] if a["account_id"] == account_id)
    assert shown["points"] == 250
    assert shown["cash_shown"] == {"en_us": "USD 99.50", "zh_cn": "USD 99.50"}
    answer = page.press(card["id"], {"action": "refresh", "account_id": account_id})
    assert "250" in card_text(answer["card"]) and "99.50" in card_text(answer["card"])
    wait_for(
        lambda: (
            "99.50"
            in card_text(next(i for i in page.feed(page.p2p()) if i["id"] == card["id"])["content"])
        ),
        5,
        "the refreshed card in the feed",
    )


def test_bad_bonus_and_unknown_accounts_are_refused(page: Page) -> None:
    account_id = page.tenant()["accounts"][0]["account_id"]
    before = page.sandbox.world.emulator.account(account_id)

    for body in ({"points": "lots"}, {"amount": "abc"}, {}, {"amount": "1", "currency": "$$"}):
        response = page.post(f"/api/accounts/{account_id}/bonus", body)
        assert response.status_code == 400 and response.json()["error"], body
    assert page.post("/api/accounts/123/bonus", {"points": 1}).status_code == 404
    assert page.sandbox.world.emulator.account(account_id) == before


def test_status_changed_in_the_emulator(page: Page) -> None:
    account = next(a for a in page.tenant()["accounts"] if a["enabled"])

    response = page.post(f"/api/accounts/{account['account_id']}/status", {"enabled": False})

    assert response.status_code == 200 and response.json()["enabled"] is False
    assert page.sandbox.world.emulator.account(account["account_id"])["status"] == 2


def test_requests_the_page_cannot_make_are_refused(page: Page) -> None:
    assert page.post("/api/say", {"chat_id": page.group, "open_id": ADMIN}).status_code == 400
    assert (
        page.post("/api/say", {"chat_id": page.group, "open_id": "ou_x", "text": "hi"}).status_code
        == 400
    )
    assert (
        page.post("/api/say", {"chat_id": "oc_nope", "open_id": ADMIN, "text": "hi"}).status_code
        == 404
    )
    assert page.get("/api/feed/oc_nope").status_code == 404
    missing = page.post("/api/press", {"message_id": "om_x", "open_id": ADMIN, "value": {}})
    assert missing.status_code == 404


def test_post_digest_lands_in_the_group_or_says_why_not(page: Page) -> None:
    response = page.post("/api/digest", {})

    if response.status_code == 200:
        message_id = response.json()["message_id"]
        wait_for(lambda: any(i["id"] == message_id for i in page.feed(page.group)), 5, "digest")
        assert page.sandbox.world.emulator.message(message_id).chat_id == page.group
    else:
        # The digest is still being built: the page gets a short error to show as a toast.
        assert response.status_code == 501, response.text
        assert "digest" in response.json()["error"].lower()
        assert "Traceback" not in response.text


def test_people_lists_the_emulators_directory_for_the_mention_picker(page: Page) -> None:
    response = page.get("/api/people")

    assert response.status_code == 200
    people = {p["open_id"]: p for p in response.json()}
    assert people["ou_hire"] == {
        "open_id": "ou_hire",
        "name": "张三",
        "name_en": "Zhang San",
        "name_zh": "张三",
        "email": "hire@open.com",
    }
    # Everyone the page acts as can be found by `/referral me`: they have an email.
    assert people[ADMIN]["email"] and people[OUTSIDER]["email"] == "wang.wei@open.com"
    assert people[APPROVER]["email"] == "li.na@open.com"
    assert people[APPROVER]["name_en"] == "Li Na" and people[APPROVER]["name_zh"] == "李娜"
    page.sandbox.world.emulator.resign_employee("ou_sun")
    assert "ou_sun" not in {p["open_id"] for p in page.get("/api/people").json()}


def test_register_by_mention_registers_the_person_mentioned(page: Page) -> None:
    said = page.say("/referral register @_user_1", mentions=[mention("ou_hire")])

    reply = page.reply(said, page.p2p())

    text = card_text(reply["content"])
    assert "Account registered" in text and "hire@open.com" in text
    (account,) = [a for a in page.tenant()["accounts"] if a["open_id"] == "ou_hire"]
    assert account["account_id"] in text and buttons(reply["content"])
    emulator = page.sandbox.world.emulator
    # The bot learned the email from the contact API, from the mention's open_id.
    assert any(c.path.endswith("/ou_hire") for c in emulator.calls_for("contact_user_get"))
    user = next(item for item in page.feed(page.p2p()) if item["id"] == said["message_id"])
    assert user["text"] == "/referral register @张三"
    assert user["parts"] == [
        {"text": "/referral register "},
        {"at": "ou_hire", "name": "张三", "name_en": "Zhang San", "name_zh": "张三"},
    ]


def test_a_mention_in_the_group_comes_after_the_bots_own(page: Page) -> None:
    chen = next(a for a in page.tenant()["accounts"] if a["open_id"] == "ou_chen")

    said = page.say("/referral show @_user_1", chat_id=page.group, mentions=[mention("ou_chen")])
    reply = page.reply(said, page.group)

    assert chen["account_id"] in card_text(reply["content"])
    user = next(item for item in page.feed(page.group) if item["id"] == said["message_id"])
    assert user["text"] == "@referral-bot /referral show @陈静"
    assert [part.get("at") for part in user["parts"]] == ["ou_bot", None, "ou_chen"]


def test_mentions_that_do_not_fit_the_text_are_refused(page: Page) -> None:
    def say(text: str, mentions: object, chat_id: str | None = None, open_id: str = ADMIN):
        body = {"chat_id": chat_id or page.p2p(open_id), "open_id": open_id, "text": text}
        return page.post("/api/say", {**body, "mentions": mentions})

    refused = [
        say("/referral show @_user_1", [mention("ou_nobody")]),  # not in the directory
        say("/referral show Zhang", [mention("ou_hire")]),  # the text does not hold its key
        say("/referral show @_user_2", [mention("ou_hire")]),  # a placeholder nobody explains
        say("/referral show @_user_1", [mention("ou_hire"), mention("ou_chen")]),  # a key twice
        say("/referral show @_user_1", [mention("ou_hire", "@hire")]),  # not a placeholder
        say("/referral show @_user_1", {"@_user_1": "ou_hire"}),  # not a list
    ]

    assert [r.status_code for r in refused] == [400] * len(refused)
    assert all(r.json()["error"] for r in refused)
    # A one-to-one chat takes messages from its own person only.
    assert say("/referral list", None, chat_id=page.p2p(OUTSIDER)).status_code == 403
    assert page.feed(page.p2p()) == [] and page.feed(page.p2p(OUTSIDER)) == []


def test_my_account_from_the_bot_menu_answers_a_non_admin_in_their_chat(page: Page) -> None:
    registered = page.ask("/referral register @_user_1", mentions=[mention(OUTSIDER)])
    account_id = next(v["account_id"] for v in buttons(registered["content"]))

    chose = page.choose("me", open_id=OUTSIDER)

    assert chose["status"] == 200
    chat = page.p2p(OUTSIDER)
    (card,) = wait_for(lambda: page.bot_cards(chat), 10, "the answer to the menu")
    assert page.sandbox.world.emulator.message(card["id"]).receive_id_type == "open_id"
    assert account_id in card_text(card["content"])
    assert no_buttons(card["content"])  # their own card is read-only
    kinds = [item["kind"] for item in page.feed(chat)]
    assert kinds == ["menu", "bot"]
    assert page.feed(chat)[0]["item_en"] == "My account"


def test_the_bot_menu_keeps_the_admin_rule_and_knows_only_its_items(page: Page) -> None:
    page.choose("list", open_id=OUTSIDER)

    (card,) = wait_for(lambda: page.bot_cards(page.p2p(OUTSIDER)), 10, "the answer")
    assert "not allowed" in card_text(card["content"])
    unknown = page.post("/api/menu", {"open_id": OUTSIDER, "event_key": "register"})
    assert unknown.status_code == 400
    stranger = page.post("/api/menu", {"open_id": "ou_x", "event_key": "me"})
    assert stranger.status_code == 400


def test_the_welcome_comes_once_per_person(page: Page) -> None:
    bot = page.sandbox.world.bot
    chat = page.p2p(OUTSIDER)

    assert page.enter(OUTSIDER)["chat_id"] == chat
    (welcome,) = wait_for(lambda: page.bot_cards(chat), 10, "the welcome")
    page.enter(OUTSIDER)
    wait_for(lambda: bot.inbox.counts() == {"done": 2}, 10, "both entries worked off")

    assert "referral-bot help" in card_text(welcome["content"])
    assert len(page.bot_cards(chat)) == 1
    assert page.bot_cards(page.p2p(ADMIN)) == []
    page.enter(ADMIN)
    wait_for(lambda: page.bot_cards(page.p2p(ADMIN)), 10, "the admin's own welcome")


# --- paying out: one admin asks, another approves -------------------------------------------


def with_a_balance(page: Page, chat_id: str | None = None) -> tuple[dict, str]:
    """Register Zhang San and pay a bonus into his account in the tenant panel: the account
    card, and the account id."""
    card = page.ask("/referral register hire@open.com", chat_id=chat_id)
    account_id = next(v["account_id"] for v in buttons(card["content"]))
    added = page.post(
        f"/api/accounts/{account_id}/bonus", {"points": "500", "amount": "120.5", "currency": "CNY"}
    )
    assert added.status_code == 200, added.text
    return card, account_id


def shown_card(page: Page, chat_id: str, message_id: str) -> dict:
    return next(item for item in page.feed(chat_id) if item["id"] == message_id)["content"]


def test_a_withdrawal_asked_by_one_admin_is_approved_by_another_and_becomes_the_receipt(
    page: Page,
) -> None:
    _, account_id = with_a_balance(page)
    emulator = page.sandbox.world.emulator
    # The bonus landed: the HR group hears of it first (so the card count below stays put).
    wait_for(lambda: notices(page), 15, "the balance notice in the group")

    # In the HR group, where both admins see the request card.
    request = page.ask(f"/referral withdraw {account_id}", chat_id=page.group)

    asked = request["content"]
    assert asked["header"]["template"] == "orange"
    text = card_text(asked)
    assert "Withdrawal request" in text and account_id in text
    assert "500 points · CNY 120.50" in text and "Expires" in text
    assert f"**Requested by**: <at id={ADMIN}></at>" in text
    approve, cancel = buttons(asked)
    assert approve == {"action": "approve", "withdrawal": approve["withdrawal"]}
    assert cancel == {"action": "cancel", "withdrawal": approve["withdrawal"]}
    assert not emulator.calls_for("withdraw")
    cards_in_group = len(page.bot_cards(page.group))

    # The requester cannot approve their own request: a toast, the card as it was, no withdraw.
    own = page.press(request["id"], approve, open_id=ADMIN)

    assert own["status"] == 200 and own["toast"]["type"] == "error"
    assert own["toast"]["i18n"]["en_us"] == "Someone other than the requester must approve"
    assert "Withdrawal request" in card_text(own["card"]) and buttons(own["card"])
    assert not emulator.calls_for("withdraw")
    assert emulator.account(account_id)["points"] == 500

    # The second admin approves: the card becomes the receipt in place.
    approved = page.press(request["id"], approve, open_id=APPROVER)

    assert approved["status"] == 200 and approved["toast"]["type"] == "success", approved
    receipt = wait_for(
        lambda: (
            (shown := shown_card(page, page.group, request["id"]))
            and "Withdrawal receipt" in card_text(shown)
            and shown
        ),
        15,
        "the receipt in the request's place",
    )
    assert receipt["header"]["template"] == "green"
    text = card_text(receipt)
    assert "**Withdrawn**: 500 points · CNY 120.50" in text
    assert "**Recorded by Feishu**: " in text
    assert f"**Requested by**: <at id={ADMIN}></at>" in text
    assert f"**Approved by**: <at id={APPROVER}></at>" in text
    assert no_buttons(receipt)
    # Exactly one withdraw call, with the order id the receipt shows.
    (withdraw,) = emulator.calls_for("withdraw")
    assert withdraw.status == 200 and withdraw.response["code"] == 0
    order_id = withdraw.body["external_order_id"]
    assert f"**Order ID**: `{order_id}`" in text
    assert f"/{account_id}/withdraw" in withdraw.path
    # The same bubble: no new card in the group, and the request message itself was changed.
    assert len(page.bot_cards(page.group)) == cards_in_group
    assert emulator.message(request["id"]).chat_id == page.group

    # The tenant panel: the balance is gone and the API log holds the one withdraw call.
    account = next(a for a in page.tenant()["accounts"] if a["account_id"] == account_id)
    assert account["points"] == 0
    assert all(amount == "0.00" for amount in account["cash"].values())
    # Written as the cards write it: an emptied account says "no cash", as one that never had.
    assert account["cash_shown"] == {"en_us": "no cash", "zh_cn": "无现金"}
    logged = [c for c in page.tenant()["calls"] if c["operation"] == "withdraw"]
    assert len(logged) == 1 and logged[0]["status"] == 200 and logged[0]["code"] == 0

    # Approving again (a double click) withdraws nothing more.
    again = page.press(request["id"], approve, open_id=APPROVER)
    assert again["toast"]["type"] != "success"
    assert "Withdrawal receipt" in card_text(again["card"])
    assert len(emulator.calls_for("withdraw")) == 1

    # The approver's "Withdrawals" from the bot menu lists it, withdrawn.
    page.choose("withdrawals", open_id=APPROVER)
    (history,) = wait_for(lambda: page.bot_cards(page.p2p(APPROVER)), 10, "the history card")
    listed = card_text(history["content"])
    assert "withdrawn" in listed and order_id in listed and account_id in listed


def test_the_account_cards_withdraw_button_asks_and_the_requester_may_cancel(page: Page) -> None:
    card, account_id = with_a_balance(page, chat_id=page.group)
    emulator = page.sandbox.world.emulator
    # The card shows the balance (and so its Withdraw button) after Refresh.
    refreshed = page.press(card["id"], {"action": "refresh", "account_id": account_id})
    withdraw = next(v for v in buttons(refreshed["card"]) if v["action"] == "withdraw")

    pressed = page.press(card["id"], withdraw)

    assert pressed["toast"]["type"] == "success"
    request = wait_for(
        lambda: next(
            (
                c
                for c in page.bot_cards(page.group)
                if "Withdrawal request" in card_text(c["content"])
            ),
            None,
        ),
        10,
        "the request card in the group",
    )
    approve, cancel = buttons(request["content"])
    # Someone who is not an admin can neither approve nor cancel.
    refused = page.press(request["id"], approve, open_id=OUTSIDER)
    assert refused["toast"]["type"] == "error" and refused["card"] is None
    cancelled = page.press(request["id"], cancel, open_id=ADMIN)

    assert cancelled["toast"]["i18n"]["en_us"] == "Withdrawal request cancelled"
    assert "Withdrawal cancelled" in card_text(cancelled["card"])
    assert no_buttons(cancelled["card"])
    assert "Withdrawal cancelled" in card_text(shown_card(page, page.group, request["id"]))
    # Approving a cancelled request withdraws nothing.
    late = page.press(request["id"], approve, open_id=APPROVER)
    assert late["toast"]["type"] != "success"
    assert not emulator.calls_for("withdraw")
    assert emulator.account(account_id)["points"] == 500


# --- notices: a bonus lands, someone leaves --------------------------------------------------

BALANCE_EVENT = "hire.referral_account.assets_update_v1"
LEAVER_EVENT = "contact.user.deleted_v3"


def notices(page: Page) -> list[dict]:
    """The balance notices in the HR group."""
    return [
        c
        for c in page.bot_cards(page.group)
        if "Referral balances changed" in card_text(c["content"])
    ]


def leaver_cards(page: Page) -> list[dict]:
    return [
        c for c in page.bot_cards(page.group) if "A referrer has left" in card_text(c["content"])
    ]


def account_of(page: Page, open_id: str) -> dict:
    return next(a for a in page.tenant()["accounts"] if a["open_id"] == open_id)


def leave(page: Page, open_id: str) -> dict:
    response = page.post(f"/api/directory/{open_id}/leave", {})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_bonus_lands_as_a_notice_in_the_group_and_a_card_to_the_referrer(page: Page) -> None:
    chen = account_of(page, "ou_chen")
    sun = account_of(page, "ou_sun")  # seeded disabled
    assert not sun["enabled"]
    bot = page.sandbox.world.bot

    # A disabled account's bonus: Feishu sends no balance event for it.
    untold = page.post(f"/api/accounts/{sun['account_id']}/bonus", {"points": "70"})
    assert untold.status_code == 200 and untold.json()["event"] is None
    added = page.post(
        f"/api/accounts/{chen['account_id']}/bonus",
        {"points": "500", "amount": "300", "currency": "CNY"},
    )

    assert added.status_code == 200, added.text
    event = added.json()["event"]
    assert event["type"] == BALANCE_EVENT and event["status"] == 200 and event["event_id"]
    assert added.json()["points"] == 1700
    # The panel writes money as the cards do: thousands separators, two decimals.
    panel = account_of(page, "ou_chen")
    assert panel["points_shown"] == "1,700"
    assert panel["cash_shown"]["en_us"] == "CNY 3,300.00"
    # The notice gathers the window's changes (5 seconds here) and comes at its end.
    (notice,) = wait_for(lambda: notices(page), 15, "the balance notice in the HR group")
    assert page.sandbox.world.emulator.message(notice["id"]).chat_id == page.group
    assert notice["content"]["header"]["template"] == "turquoise"
    text = card_text(notice["content"])
    assert "**Chen Jing**" in text and chen["account_id"] in text
    assert "Change: +500 points · +CNY 300.00" in text
    assert "Now: 1,700 points · CNY 3,300.00" in text
    assert "Sun Mei" not in text and sun["account_id"] not in text
    assert "内推余额变动" in card_text_zh(notice["content"])
    assert no_buttons(notice["content"])

    # The referrer (Chen Jing, not one of the page's people) hears it in her own chat with the
    # bot: the feed of any directory person's one-to-one chat can be read over the API.
    chat = page.sandbox.world.p2p_chat("ou_chen")
    (told,) = wait_for(lambda: page.bot_cards(chat), 10, "the referrer's card")
    assert page.sandbox.world.emulator.message(told["id"]).receive_id_type == "open_id"
    text = card_text(told["content"])
    assert "Your referral bonus grew" in text
    assert "Added: +500 points · +CNY 300.00" in text
    assert "Your balance now: 1,700 points · CNY 3,300.00" in text
    assert page.bot_cards(page.sandbox.world.p2p_chat("ou_sun")) == []
    # Her chat is read-only on the page: nobody types into it.
    refused = page.post("/api/say", {"chat_id": chat, "open_id": ADMIN, "text": "hi"})
    assert refused.status_code in (403, 404)
    # The bot's records hold the new balance, from the event alone.
    wait_for(lambda: bot.inbox.counts().keys() == {"done"}, 10, "every event worked off")
    assert bot.services.accounts.get(chen["account_id"]).account.points == 1700
    assert len(notices(page)) == 1 and len(page.bot_cards(chat)) == 1


def test_someone_leaving_asks_the_group_and_keep_decides_in_place(page: Page) -> None:
    zhao = account_of(page, "ou_zhao")
    emulator = page.sandbox.world.emulator

    left = leave(page, "ou_zhao")

    assert left["left"] is True and left["open_id"] == "ou_zhao"
    assert left["event"]["type"] == LEAVER_EVENT and left["event"]["status"] == 200
    assert emulator.employee("ou_zhao").resigned
    row = next(e for e in page.tenant()["directory"] if e["open_id"] == "ou_zhao")
    assert row["left"] is True
    assert not any(e["left"] for e in page.tenant()["directory"] if e["open_id"] != "ou_zhao")
    # No longer offered by the @-mention picker; the name still shows in cards.
    assert "ou_zhao" not in {p["open_id"] for p in page.get("/api/people").json()}
    assert page.get("/api/config").json()["names"]["ou_zhao"]["name_en"] == "Zhao Lei"
    # Feishu tells an app once; nobody leaves twice, and strangers cannot leave.
    assert page.post("/api/directory/ou_zhao/leave", {}).status_code == 409
    assert page.post("/api/directory/ou_nobody/leave", {}).status_code == 404

    (card,) = wait_for(lambda: leaver_cards(page), 10, "the leaver card in the HR group")
    assert emulator.message(card["id"]).chat_id == page.group
    assert card["content"]["header"]["template"] == "orange"
    text = card_text(card["content"])
    assert "赵磊" in text or "Zhao Lei" in text
    assert zhao["account_id"] in text and "Enabled" in text
    assert "300 points · CNY 800.50 · USD 120.00" in text
    actions = {v["action"]: v for v in buttons(card["content"])}
    assert list(actions) == ["withdraw", "disable", "keep"]
    assert all(v["account_id"] == zhao["account_id"] for v in actions.values())

    # Admins only: someone else's press changes nothing.
    refused = page.press(card["id"], actions["keep"], open_id=OUTSIDER)
    assert refused["toast"]["type"] == "error" and refused["card"] is None

    kept = page.press(card["id"], actions["keep"])

    assert kept["status"] == 200 and kept["toast"]["type"] == "success"
    assert kept["toast"]["i18n"]["en_us"] == "Account kept as it is"
    text = card_text(kept["card"])
    assert "A referrer has left" in text and f"Kept by <at id={ADMIN}></at>" in text
    assert no_buttons(kept["card"])
    shown = shown_card(page, page.group, card["id"])
    assert f"Kept by <at id={ADMIN}></at>" in card_text(shown)
    # Kept means kept: nothing was disabled or withdrawn, and no other card came.
    assert emulator.account(zhao["account_id"])["status"] == 1
    assert not emulator.calls_for("deactivate") and not emulator.calls_for("withdraw")
    assert len(page.bot_cards(page.group)) == 1


def test_a_leavers_withdraw_asks_for_approval_and_disable_disables(page: Page) -> None:
    chen = account_of(page, "ou_chen")
    emulator = page.sandbox.world.emulator
    leave(page, "ou_chen")
    (card,) = wait_for(lambda: leaver_cards(page), 10, "the leaver card in the HR group")
    actions = {v["action"]: v for v in buttons(card["content"])}

    asked = page.press(card["id"], actions["withdraw"])

    assert asked["toast"]["type"] == "success", asked
    request = wait_for(
        lambda: next(
            (
                c
                for c in page.bot_cards(page.group)
                if "Withdrawal request" in card_text(c["content"])
            ),
            None,
        ),
        10,
        "the withdrawal request card in the group",
    )
    text = card_text(request["content"])
    assert chen["account_id"] in text and "1,200 points · CNY 3,000.00" in text
    assert [v["action"] for v in buttons(request["content"])] == ["approve", "cancel"]
    assert not emulator.calls_for("withdraw")  # another admin must approve first

    disabled = page.press(card["id"], actions["disable"])

    assert disabled["toast"]["i18n"]["en_us"] == "Account disabled"
    assert emulator.account(chen["account_id"])["status"] == 2
    assert not account_of(page, "ou_chen")["enabled"]


def test_someone_without_an_account_leaves_and_the_group_hears_nothing(page: Page) -> None:
    bot = page.sandbox.world.bot

    left = leave(page, "ou_hire")  # hire@open.com has no referral account

    assert left["event"]["status"] == 200
    wait_for(lambda: bot.inbox.counts() == {"done": 1}, 10, "the leaver event worked off")
    assert page.bot_cards(page.group) == []


# --- files: an export lands in the chat as a workbook -------------------------------------


def test_an_export_lands_in_the_group_as_a_file_that_downloads(page: Page) -> None:
    said = page.say("/referral export accounts", chat_id=page.group)

    receipt = page.reply(said, page.group)  # the card saying what was exported
    item = wait_for(
        lambda: next(
            (i for i in page.feed(page.group) if i["kind"] == "bot" and i["msg_type"] == "file"),
            None,
        ),
        10,
        "no file message in the group",
    )
    file_key = item["content"]["file_key"]
    name, data = page.sandbox.world.emulator.file(file_key)
    assert name.startswith("referral-accounts-") and name.endswith(".xlsx")
    assert item["file"] == {
        "file_key": file_key,
        "name": name,
        "size": len(data),
        "url": f"/api/files/{file_key}",
    }

    download = page.get(item["file"]["url"])

    assert download.status_code == 200
    assert download.content == data
    sheet = openpyxl.load_workbook(io.BytesIO(download.content)).active
    header, *rows = sheet.iter_rows(values_only=True)
    assert header[:4] == ("account_id", "status", "referrer_name_zh", "referrer_name_en")
    # The demo's three accounts, one in two currencies; Li Hua registered them.
    assert len(rows) == 4 and {r[header.index("registered_by")] for r in rows} == {"李华"}
    assert "3 accounts, 4 rows: one per currency" in card_text(receipt["content"])
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and f"filename={name}" in disposition
    assert "spreadsheetml" in download.headers["Content-Type"]
    missing = page.get("/api/files/file_v3_nothing_here")
    assert missing.status_code == 404 and "unknown file" in missing.json()["error"]
