"""Card buttons through real HTTP: Enable, Disable, Refresh, Show, refusals, slow path, races."""

import json
import threading
from decimal import Decimal

import lark_oapi
import pytest
from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTriggerResponse

from bot.feishu.openapi import RetryPolicy
from bot.records.store import to_iso, utcnow
from handlers.accounts import cards as account_cards
from handlers.buttons import KeyedLocks
from tests.conftest import (
    ADMIN,
    OUTSIDER,
    VERIFICATION_TOKEN,
    Feishu,
    buttons,
    card_text,
    card_text_zh,
    wait_for,
    walk,
)


def account_card_message(lark_: Feishu, emulator, account_id: str):
    return lark_.ask(f"/referral show {account_id}")


def test_disable_button_deactivates_and_answers_with_the_updated_card(lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    message = account_card_message(lark, emulator, account_id)
    result, _ = lark.press(message, {"action": "disable", "account_id": account_id})
    assert result.status == 200
    assert result.elapsed < 3
    assert emulator.account(account_id)["status"] == 2
    answer = result.body
    assert answer["toast"]["type"] == "success"
    assert answer["toast"]["i18n"] == {"zh_cn": "账户已停用", "en_us": "Account disabled"}
    card = answer["card"]["data"]
    assert answer["card"]["type"] == "raw"
    assert "Disabled" in card_text(card)
    assert buttons(card)[0] == {"action": "enable", "account_id": account_id}


OPEN_API = ("enable", "deactivate", "get_account_assets")


@pytest.mark.parametrize(
    ("action", "status", "operation", "shows"),
    [
        ("enable", 2, "enable", "Enabled"),
        ("disable", 1, "deactivate", "Disabled"),
        ("refresh", 1, "get_account_assets", "Enabled"),
    ],
)
def test_the_emulators_call_log_shows_one_call_per_press(
    lark: Feishu, emulator, action, status, operation, shows
):
    account_id = emulator.create_account("ou_hire")
    emulator.set_status(account_id, status)
    message = account_card_message(lark, emulator, account_id)
    emulator.clear_calls()
    result, _ = lark.press(message, {"action": action, "account_id": account_id})
    assert [c.operation for c in emulator.calls if c.operation in OPEN_API] == [operation]
    card = result.body["card"]["data"]
    assert shows in card_text(card)
    # enable's and deactivate's answers carry no referrer: the card keeps the one it had.
    assert "Zhang San" in card_text(card)


@pytest.mark.parametrize(
    ("command", "operation"), [("enable", "enable"), ("disable", "deactivate")]
)
def test_commands_make_one_call_and_keep_the_referrer(lark: Feishu, emulator, command, operation):
    account_id = emulator.create_account("ou_hire")
    lark.ask(f"/referral show {account_id}")
    emulator.clear_calls()
    reply = lark.ask(f"/referral {command} {account_id}")
    assert [c.operation for c in emulator.calls if c.operation in OPEN_API] == [operation]
    assert "Zhang San" in card_text(reply.content)


def test_answer_has_the_shape_the_sdk_models(lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    message = account_card_message(lark, emulator, account_id)
    result, _ = lark.press(message, {"action": "refresh", "account_id": account_id})
    assert set(result.body) == {"toast", "card"}
    model = P2CardActionTriggerResponse(result.body)
    assert model.toast.type == "success" and model.toast.content == "Refreshed"
    assert model.card.type == "raw" and model.card.data["schema"] == "2.0"
    assert json.loads(lark_oapi.JSON.marshal(model)) == result.body


def test_enable_button(lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    emulator.set_status(account_id, 2)
    message = account_card_message(lark, emulator, account_id)
    assert buttons(message.content)[0]["action"] == "enable"
    result, _ = lark.press(message, {"action": "enable", "account_id": account_id})
    assert emulator.account(account_id)["status"] == 1
    assert "Enabled" in card_text(result.body["card"]["data"])


def test_refresh_shows_a_new_bonus(lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    message = account_card_message(lark, emulator, account_id)
    emulator.add_bonus(account_id, points=50, cash={"CNY": Decimal("88.8")})
    result, _ = lark.press(message, {"action": "refresh", "account_id": account_id})
    text = card_text(result.body["card"]["data"])
    assert "CNY 88.80" in text and "50" in text


def test_disable_asks_for_confirmation_in_both_languages(lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    card = account_card_message(lark, emulator, account_id).content
    (disable,) = [
        node
        for node in walk(card)
        if node.get("tag") == "button" and node["behaviors"][0]["value"]["action"] == "disable"
    ]
    confirm = disable["confirm"]
    assert "withdraw" in confirm["text"]["content"]
    assert "提现" in confirm["text"]["i18n_content"]["zh_cn"]
    assert confirm["title"]["i18n_content"]["en_us"] and confirm["title"]["i18n_content"]["zh_cn"]
    assert card["config"]["update_multi"] is True


def test_outsider_press_is_refused_audited_and_changes_nothing(lark: Feishu, emulator, bot):
    account_id = emulator.create_account("ou_hire")
    message = account_card_message(lark, emulator, account_id)
    emulator.clear_calls()
    result, _ = lark.press(
        message, {"action": "disable", "account_id": account_id}, open_id=OUTSIDER
    )
    assert result.status == 200
    assert result.body["toast"]["type"] == "error"
    assert "card" not in result.body
    assert emulator.account(account_id)["status"] == 1
    assert [c.operation for c in emulator.calls] == []
    entry = bot.services.audit.entries()[-1]
    assert (entry["actor"], entry["via"], entry["outcome"]) == (OUTSIDER, "button", "refused")


def test_button_values_are_checked(lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    message = account_card_message(lark, emulator, account_id)
    emulator.clear_calls()
    for value in (
        {"action": "explode", "account_id": account_id},
        {"action": "disable", "account_id": "1 OR 1=1"},
        {"action": "disable"},
    ):
        result, _ = lark.press(message, value)
        assert result.status == 200 and result.body["toast"]["type"] == "error"
    assert emulator.calls == []


def test_redelivered_callback_does_not_call_the_api_twice(lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    message = account_card_message(lark, emulator, account_id)
    first, callback = lark.press(message, {"action": "disable", "account_id": account_id})
    again = lark.push(callback, "/webhook/card")
    assert again.status == 200
    assert len(emulator.calls_for("deactivate")) == 1
    assert "Disabled" in card_text(again.body["card"]["data"])


def test_slow_api_gets_a_working_toast_then_a_late_update(lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    message = account_card_message(lark, emulator, account_id)
    emulator.set_latency("deactivate", 2.5)
    result, callback = lark.press(message, {"action": "disable", "account_id": account_id})
    assert result.status == 200 and result.elapsed < 3
    assert result.body["toast"]["type"] == "info"
    assert "card" not in result.body
    updated = wait_for(lambda: emulator.message(message.message_id).updates, timeout=10)
    assert "Disabled" in card_text(updated[-1])
    (update_call,) = emulator.calls_for("card_update")
    assert update_call.body["token"] == callback["event"]["token"]
    assert update_call.at >= emulator.calls_for("deactivate")[-1].at


def test_stale_card_ends_showing_the_real_status(lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    old = account_card_message(lark, emulator, account_id)  # shows Enabled, offers Disable
    emulator.set_status(account_id, 2)  # disabled elsewhere
    result, _ = lark.press(old, {"action": "refresh", "account_id": account_id})
    assert buttons(result.body["card"]["data"])[0]["action"] == "enable"
    result, _ = lark.press(old, {"action": "disable", "account_id": account_id})
    assert emulator.account(account_id)["status"] == 2
    assert "Disabled" in card_text(result.body["card"]["data"])


def _settled(bot) -> bool:
    """Nothing left to do: no event, press or card patch queued or under way."""
    return set(bot.inbox.counts(internal=True)) <= {"done", "failed"}


def test_two_admins_racing_leave_every_card_true(make_bot, emulator):
    bot = make_bot(admins=frozenset({"ou_admin", "ou_admin2"}))
    lark_ = Feishu(bot, emulator)
    account_id = emulator.create_account("ou_hire")
    cards = {
        "ou_admin": account_card_message(lark_, emulator, account_id),
        "ou_admin2": lark_.ask(f"/referral show {account_id}", open_id="ou_admin2"),
    }
    answers = {}

    def press(who: str, action: str) -> None:
        value = {"action": action, "account_id": account_id}
        answers[who], _ = lark_.press(cards[who], value, open_id=who)

    def shown(who: str) -> dict:
        """What Feishu shows: the last PATCH of the message, else the callback's answer card
        (patches wait until an answer has landed), else the card as sent."""
        message = cards[who]
        updates = emulator.message(message.message_id).updates
        answer = answers[who].body.get("card")
        return updates[-1] if updates else answer["data"] if answer else message.content

    threads = [
        threading.Thread(target=press, args=("ou_admin", "disable")),
        threading.Thread(target=press, args=("ou_admin2", "enable")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    real = "Enabled" if emulator.account(account_id)["status"] == 1 else "Disabled"
    # Each press patches the other card a moment after its own answer; the second show
    # command's card may be noted only after a press, and is then patched too. Once nothing
    # is left to do, every card tells the truth.
    wait_for(lambda: _settled(bot), what="every patch sent")
    for who in cards:
        assert real in card_text(shown(who)), (who, real)


def test_a_card_on_its_way_while_its_account_changes_is_patched_once_it_lands(make_bot, emulator):
    bot = make_bot(admins=frozenset({ADMIN, "ou_admin2"}))
    lark_ = Feishu(bot, emulator)
    account_id = emulator.create_account("ou_hire")
    first = account_card_message(lark_, emulator, account_id)
    emulator.clear_calls()
    # The second admin's answer is rendered, then its sending fails once and is retried slowly.
    emulator.fail_next("message_reply", kind="5xx")
    emulator.set_latency("message_reply", 1.5)
    _, asked = lark_.say(f"/referral show {account_id}", open_id="ou_admin2")
    wait_for(lambda: emulator.calls_for("message_reply"), what="the failed first try")
    result, _ = lark_.press(first, {"action": "disable", "account_id": account_id})
    assert "Disabled" in card_text(result.body["card"]["data"])
    second = lark_.reply_to(asked)
    emulator.set_latency("message_reply", 0)
    assert "Enabled" in card_text(second.content)  # as the records were when it was made
    wait_for(
        lambda: _latest_says(emulator, second.message_id, "Disabled"),
        what="the late card patched to the truth",
    )


def test_a_patch_overtaken_by_a_newer_one_is_sent_again(bot, lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    card = account_card_message(lark, emulator, account_id)  # Enabled
    wait_for(lambda: _settled(bot), what="the show worked off")
    services = bot.services
    emulator.set_latency("message_patch", 1.5)
    slow = threading.Thread(
        target=account_cards.refresh,
        args=(services, "slow", {"account_id": account_id, "only": [card.message_id]}),
    )
    slow.start()  # renders Enabled, then waits in the emulator
    wait_for(lambda: emulator.in_flight("message_patch") == 1, what="the slow patch under way")
    emulator.set_latency("message_patch", 0)
    emulator.set_status(account_id, 2)
    services.accounts.remember(services.gateway.get_assets(account_id))
    account_cards.refresh(services, "fast", {"account_id": account_id, "only": [card.message_id]})
    assert _latest_says(emulator, card.message_id, "Disabled")
    slow.join()  # its Enabled landed last, and it saw the account had changed meanwhile
    assert _latest_says(emulator, card.message_id, "Disabled")
    assert len(emulator.calls_for("message_patch")) == 3


def test_show_button_on_the_list_card_answers_with_the_account_card(lark: Feishu, emulator):
    account_id = buttons(lark.ask("/referral register hire@open.com").content)[0]["account_id"]
    listing = lark.ask("/referral list")
    result, _ = lark.press(listing, {"action": "show", "account_id": account_id})
    assert result.body["toast"]["type"] == "success"
    sent = wait_for(
        lambda: [
            m
            for m in emulator.messages
            if m.reply_to is None and account_id in json.dumps(m.content)
        ]
    )
    assert sent[-1].chat_id == listing.chat_id
    assert "账户" in card_text_zh(sent[-1].content)


def _latest_says(emulator, message_id: str, text: str) -> bool:
    return text in card_text(emulator.latest_card(message_id))


def test_a_press_updates_other_cards_of_the_account(lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    first = account_card_message(lark, emulator, account_id)
    second = account_card_message(lark, emulator, account_id)
    lark.press(second, {"action": "disable", "account_id": account_id})
    wait_for(lambda: _latest_says(emulator, first.message_id, "Disabled"), what="first updated")


def test_changes_by_command_update_other_cards_of_the_account(lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    first = account_card_message(lark, emulator, account_id)
    second = account_card_message(lark, emulator, account_id)
    steps = (("disable", "Disabled", "enable"), ("enable", "Enabled", "disable"))
    for command, shows, button in steps:
        reply = lark.ask(f"/referral {command} {account_id}")
        assert shows in card_text(reply.content)
        for older in (first, second):
            wait_for(lambda m=older, s=shows: _latest_says(emulator, m.message_id, s), what=command)
            # ... with the button that now applies.
            assert {"action": button, "account_id": account_id} in buttons(
                emulator.latest_card(older.message_id)
            )
    assert len(emulator.calls_for("deactivate")) == len(emulator.calls_for("enable")) == 1


def test_work_that_fails_after_the_answer_shows_the_error_on_the_card(make_bot, emulator):
    bot = make_bot(retry=RetryPolicy(attempts=1))
    lark = Feishu(bot, emulator)
    account_id = emulator.create_account("ou_hire")
    message = account_card_message(lark, emulator, account_id)
    emulator.set_latency("deactivate", 2.5)
    emulator.fail_next("deactivate", kind="5xx")
    result, callback = lark.press(message, {"action": "disable", "account_id": account_id})
    assert result.body["toast"]["type"] == "info"  # working on it
    (update,) = wait_for(lambda: emulator.calls_for("card_update"), what="late update")
    assert update.body["token"] == callback["event"]["token"]
    shown = card_text(emulator.latest_card(message.message_id))
    assert "server error" in shown and "Enabled" in shown  # the truth: nothing changed
    assert emulator.account(account_id)["status"] == 1
    assert bot.inbox.counts() == {"done": 1, "failed": 1}  # the show, and the press


def pending_press(lark: Feishu, emulator, bot, owner: str) -> tuple[dict, str]:
    """A Disable press recorded as pending by `owner` (as a process mid-press leaves it)."""
    account_id = emulator.create_account("ou_hire")
    message = account_card_message(lark, emulator, account_id)
    callback = emulator.card_action(
        {"action": "disable", "account_id": account_id},
        open_id=ADMIN,
        message_id=message.message_id,
        token=VERIFICATION_TOKEN,
    )
    bot.database.db["events"].insert(
        {
            "event_id": callback["header"]["event_id"],
            "event_type": "card.action.trigger",
            "status": "pending",
            "owner": owner,
            "attempts": 1,
        }
    )
    return callback, account_id


def test_a_press_left_pending_by_a_dead_process_is_carried_out_on_redelivery(
    lark: Feishu, emulator, bot
):
    callback, _ = pending_press(lark, emulator, bot, "dead")  # its owner never beats again
    result = lark.push(callback, "/webhook/card")
    assert result.body["toast"]["type"] == "success"
    assert "Disabled" in card_text(result.body["card"]["data"])
    assert len(emulator.calls_for("deactivate")) == 1
    again = lark.push(callback, "/webhook/card")  # and once done, it is done
    assert "Already done" in again.body["toast"]["content"]
    assert len(emulator.calls_for("deactivate")) == 1


def test_a_press_being_carried_out_by_a_live_process_is_not_run_again(lark: Feishu, emulator, bot):
    bot.database.db["owners"].insert({"owner": "sibling", "beat_at": to_iso(utcnow())})
    callback, _ = pending_press(lark, emulator, bot, "sibling")
    result = lark.push(callback, "/webhook/card")
    assert result.body["toast"]["type"] == "info"
    assert emulator.calls_for("deactivate") == []


def test_per_account_locks_are_forgotten_when_nobody_holds_them():
    locks = KeyedLocks()
    with locks.hold("a"), locks.hold("b"):
        assert len(locks) == 2
    assert len(locks) == 0
