"""No silence while a command waits: when the referral API keeps failing while messages go
through, the person is told soon (once, across restarts) and that message later shows the
result, or the truth after the retry window. A command chosen from the bot menu is told so in
the person's one-to-one chat, the same way."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.feishu.openapi import RetryPolicy
from bot.records.store import from_iso, to_iso, utcnow
from bot.worker import MAX_AGE
from cards.when import stamp
from handlers.waiting import INTERIM
from tests.conftest import VERIFICATION_TOKEN, Feishu, card_text, card_text_zh, wait_for

SOON = timedelta(seconds=0.5)  # the interim delay, shortened from 25 s
FEW = RetryPolicy(attempts=1)  # one try per call: the event's own retries are the point


def replies_to(emulator, message_id: str) -> list:
    return [m for m in emulator.messages if m.reply_to == message_id]


def held_up(lark: Feishu, emulator, text: str):
    """Send a command while the referral API fails, and wait for its interim answer."""
    emulator.fail_until_stopped("hire", kind="server_error_code")  # 1002001; IM works
    _, message_id = lark.say(text)
    interim = lark.reply_to(message_id, timeout=10)
    assert "Feishu is failing, still trying" in card_text(interim.content)
    return message_id, interim


def back(emulator, bot) -> None:
    """The referral API answers again; the event's next try comes now, not after its backoff."""
    emulator.stop_failing()
    bot.inbox.wake_waiting()


def restarted(first, make_bot, emulator, *, noted: bool):
    """Stop `first` with its command waiting and its interim sent (`noted`: and noted, as a
    process killed in between would not have), start a second bot on the same records, and
    wait until it has tried the command again and put it back to wait."""
    first.stop()
    if not noted:  # as a process killed between sending the interim and noting it leaves it
        db = first.database.db
        db.execute("UPDATE events SET answer_message_id = NULL")
        db.execute(
            "UPDATE events SET status = 'queued', not_before = NULL WHERE event_type = ?",
            [INTERIM],
        )
    second = make_bot(interim_after=SOON, retry=FEW)
    tries = len(hire_calls(emulator))
    wait_for(
        lambda: len(hire_calls(emulator)) > tries,
        timeout=15,
        what="the command tried again after the restart",
    )
    wait_for(lambda: second.inbox.counts(internal=True).get("queued") == 1, what="settled")
    return second


def hire_calls(emulator) -> list:
    return [c for c in emulator.calls if c.operation in ("deactivate", "get_account_assets")]


def latest_says(emulator, message_id: str, text: str) -> bool:
    return text in card_text(emulator.latest_card(message_id))


def test_a_held_up_command_is_told_so_and_that_message_then_shows_the_result(make_bot, emulator):
    bot = make_bot(interim_after=SOON, retry=FEW)
    lark = Feishu(bot, emulator)
    account_id = emulator.create_account("ou_hire")
    message_id, interim = held_up(lark, emulator, f"/referral show {account_id}")
    event = bot.inbox.event(_message_event_id(bot))
    until = stamp(from_iso(event["received_at"]) + MAX_AGE, "Asia/Shanghai")
    assert until in card_text(interim.content) and until in card_text_zh(interim.content)
    assert "正在重试" in card_text_zh(interim.content)
    assert emulator.latest_card(interim.message_id) == interim.content  # not yet updated
    failed = len(emulator.calls_for("get_account_assets"))
    back(emulator, bot)
    wait_for(lambda: latest_says(emulator, interim.message_id, account_id), what="the result")
    assert "Enabled" in card_text(emulator.latest_card(interim.message_id))
    assert replies_to(emulator, message_id) == [emulator.message(interim.message_id)]
    assert failed >= 1 and emulator.calls_for("get_account_assets")[-1].response["code"] == 0
    wait_for(lambda: bot.inbox.counts() == {"done": 1}, what="the event done")
    # The card now shows the account: later changes update it, as any account card.
    assert bot.services.accounts.cards_showing(account_id) == [interim.message_id]


def _message_event_id(bot) -> str:
    (row,) = bot.database.db["events"].rows_where("event_type = ?", ["im.message.receive_v1"])
    return row["event_id"]


def test_a_command_answered_before_the_delay_gets_no_interim(make_bot, emulator):
    bot = make_bot(interim_after=timedelta(minutes=1), retry=FEW)
    lark = Feishu(bot, emulator)
    account_id = emulator.create_account("ou_hire")
    emulator.fail_next("get_account_assets", n=1, kind="server_error_code")
    _, message_id = lark.say(f"/referral show {account_id}")
    reply = lark.reply_to(message_id, timeout=10)
    assert account_id in card_text(reply.content)
    # The interim was queued at the first failure; its time comes now.
    bot.database.db.execute("UPDATE events SET not_before = NULL WHERE event_type = ?", [INTERIM])
    bot.inbox.notify()
    wait_for(lambda: bot.inbox.counts(internal=True) == {"done": 2}, what="the interim looked at")
    assert replies_to(emulator, message_id) == [reply]
    assert emulator.calls_for("message_patch") == []


@pytest.mark.parametrize("noted", [True, False], ids=["noted", "cut-off-before-noted"])
def test_a_restart_sends_no_second_interim_and_the_result_replaces_it(make_bot, emulator, noted):
    first = make_bot(interim_after=SOON, retry=FEW)
    account_id = emulator.create_account("ou_hire")
    message_id, interim = held_up(
        Feishu(first, emulator), emulator, f"/referral disable {account_id}"
    )
    wait_for(lambda: first.inbox.counts(internal=True).get("done") == 1, what="interim done")
    second = restarted(first, make_bot, emulator, noted=noted)
    event = wait_for(
        lambda: second.inbox.event(_message_event_id(second))["answer_message_id"],
        what="the interim noted again",
    )
    assert event == interim.message_id  # its resend landed on the same message
    assert replies_to(emulator, message_id) == [emulator.message(interim.message_id)]
    back(emulator, second)
    wait_for(lambda: latest_says(emulator, interim.message_id, "Disabled"), what="the result")
    assert emulator.account(account_id)["status"] == 2
    assert len([c for c in emulator.calls_for("deactivate") if c.response["code"] == 0]) == 1
    assert len(replies_to(emulator, message_id)) == 1


def test_after_the_retry_window_the_interim_shows_what_was_not_done(make_bot, emulator):
    bot = make_bot(interim_after=SOON, retry=FEW)
    lark = Feishu(bot, emulator)
    account_id = emulator.create_account("ou_hire")
    message_id, interim = held_up(lark, emulator, f"/referral show {account_id}")
    bot.pool.stop()
    # As after six hours of failures: the next failure is the last.
    bot.database.db.execute(
        "UPDATE events SET received_at = ? WHERE event_type = 'im.message.receive_v1'",
        [to_iso(utcnow() - MAX_AGE - timedelta(minutes=1))],
    )
    bot.pool.start()
    bot.inbox.wake_waiting()
    wait_for(lambda: latest_says(emulator, interim.message_id, "Not done"), what="the truth")
    shown = card_text(emulator.latest_card(interim.message_id))
    assert "kept failing" in shown and "send it again" in shown
    assert replies_to(emulator, message_id) == [emulator.message(interim.message_id)]
    assert bot.inbox.counts() == {"failed": 1}


def test_an_interim_that_cannot_be_updated_is_followed_by_the_result(make_bot, emulator):
    bot = make_bot(interim_after=SOON, retry=FEW)
    lark = Feishu(bot, emulator)
    account_id = emulator.create_account("ou_hire")
    message_id, interim = held_up(lark, emulator, f"/referral show {account_id}")
    emulator.recall(interim.message_id)  # a chat admin recalled it
    back(emulator, bot)
    wait_for(lambda: len(replies_to(emulator, message_id)) == 2, what="the result, anew")
    result = replies_to(emulator, message_id)[1]
    assert account_id in card_text(result.content)
    wait_for(lambda: bot.inbox.counts() == {"done": 1}, what="the event done")


def test_when_messages_fail_too_the_answer_waits_for_them_and_comes_once(make_bot, emulator):
    bot = make_bot(interim_after=SOON, retry=FEW)
    lark = Feishu(bot, emulator)
    account_id = emulator.create_account("ou_hire")
    emulator.outage(None, "5xx")  # nothing can be said
    _, message_id = lark.say(f"/referral show {account_id}")
    wait_for(
        lambda: any(
            row["attempts"]
            for row in bot.database.db["events"].rows_where("event_type = ?", [INTERIM])
        ),
        timeout=15,
        what="the interim tried",
    )
    assert emulator.messages == []
    emulator.end_outage()
    bot.inbox.wake_waiting()
    reply = lark.reply_to(message_id, timeout=15)
    wait_for(lambda: latest_says(emulator, reply.message_id, account_id), what="the result")
    wait_for(lambda: bot.inbox.counts(internal=True) == {"done": 2}, what="all settled")
    assert replies_to(emulator, message_id) == [emulator.message(reply.message_id)]


# --- a command chosen from the bot menu: answered in the person's one-to-one chat ----------
HIRE = "ou_hire"  # Zhang San, hire@open.com (tests/conftest.py)


def menu_held_up(lark: Feishu, emulator, key: str = "me"):
    """Zhang San chooses a menu item while the referral API fails; wait for the interim in
    his one-to-one chat. Returns that chat and the interim."""
    emulator.fail_until_stopped("hire", kind="server_error_code")  # 1002001; IM works
    lark.push(emulator.bot_menu_event(HIRE, key, token=VERIFICATION_TOKEN))
    chat = emulator.p2p_chat_id(HIRE)
    (interim,) = wait_for(lambda: emulator.messages_in(chat), timeout=10, what="the interim")
    assert "Feishu is failing, still trying" in card_text(interim.content)
    assert "正在重试" in card_text_zh(interim.content)
    return chat, interim


def own_account(lark: Feishu, emulator) -> str:
    """Zhang San's account, registered through the bot (by an admin, in the HR group)."""
    lark.ask("/referral register hire@open.com")
    (account_id,) = [a["account_id"] for a in emulator.accounts()]
    return account_id


def _menu_event_id(bot) -> str:
    (row,) = bot.database.db["events"].rows_where("event_type = ?", ["application.bot.menu_v6"])
    return row["event_id"]


def test_a_held_up_menu_item_is_told_so_in_the_chat_and_that_message_shows_the_result(
    make_bot, emulator
):
    bot = make_bot(interim_after=SOON, retry=FEW)
    lark = Feishu(bot, emulator)
    account_id = own_account(lark, emulator)
    chat, interim = menu_held_up(lark, emulator)
    event = bot.inbox.event(_menu_event_id(bot))
    until = stamp(from_iso(event["received_at"]) + MAX_AGE, "Asia/Shanghai")
    assert until in card_text(interim.content)
    assert emulator.latest_card(interim.message_id) == interim.content  # not yet updated
    assert emulator.calls_for("get_account_assets")[-1].response["code"] != 0
    back(emulator, bot)
    wait_for(lambda: latest_says(emulator, interim.message_id, account_id), what="the result")
    assert "Enabled" in card_text(emulator.latest_card(interim.message_id))
    wait_for(lambda: bot.inbox.counts() == {"done": 2}, what="the events done")
    assert emulator.messages_in(chat) == [emulator.message(interim.message_id)]
    assert len(emulator.calls_for("message_patch")) == 1


@pytest.mark.parametrize("noted", [True, False], ids=["noted", "cut-off-before-noted"])
def test_a_restart_sends_no_second_interim_for_a_menu_item(make_bot, emulator, noted):
    first = make_bot(interim_after=SOON, retry=FEW)
    lark = Feishu(first, emulator)
    account_id = own_account(lark, emulator)
    chat, interim = menu_held_up(lark, emulator)
    # The registration and the interim done; the menu item waits.
    wait_for(lambda: first.inbox.counts(internal=True).get("done") == 2, what="interim done")
    second = restarted(first, make_bot, emulator, noted=noted)
    noted_id = wait_for(
        lambda: second.inbox.event(_menu_event_id(second))["answer_message_id"],
        what="the interim noted again",
    )
    assert noted_id == interim.message_id  # its resend landed on the same message
    assert emulator.messages_in(chat) == [emulator.message(interim.message_id)]
    back(emulator, second)
    wait_for(lambda: latest_says(emulator, interim.message_id, account_id), what="the result")
    wait_for(lambda: second.inbox.counts() == {"done": 2}, what="the events done")
    assert emulator.messages_in(chat) == [emulator.message(interim.message_id)]


def test_after_the_retry_window_a_menu_items_interim_shows_what_was_not_done(make_bot, emulator):
    bot = make_bot(interim_after=SOON, retry=FEW)
    lark = Feishu(bot, emulator)
    own_account(lark, emulator)
    chat, interim = menu_held_up(lark, emulator)
    bot.pool.stop()
    # As after six hours of failures: the next failure is the last.
    bot.database.db.execute(
        "UPDATE events SET received_at = ? WHERE event_type = 'application.bot.menu_v6'",
        [to_iso(utcnow() - MAX_AGE - timedelta(minutes=1))],
    )
    bot.pool.start()
    bot.inbox.wake_waiting()
    wait_for(lambda: latest_says(emulator, interim.message_id, "Not done"), what="the truth")
    shown = card_text(emulator.latest_card(interim.message_id))
    assert "'/referral me'" in shown and "kept failing" in shown
    assert emulator.messages_in(chat) == [emulator.message(interim.message_id)]
    assert bot.inbox.counts() == {"done": 1, "failed": 1}


def test_a_menu_item_failed_before_its_interim_is_told_the_truth_in_the_chat(make_bot, emulator):
    bot = make_bot(interim_after=timedelta(hours=1), retry=FEW)
    lark = Feishu(bot, emulator)
    own_account(lark, emulator)
    emulator.fail_until_stopped("hire", kind="server_error_code")
    bot.pool.stop()
    lark.push(emulator.bot_menu_event(HIRE, "me", token=VERIFICATION_TOKEN))
    # Received six hours ago: its first failure is its last, before any interim is due.
    bot.database.db.execute(
        "UPDATE events SET received_at = ? WHERE event_type = 'application.bot.menu_v6'",
        [to_iso(utcnow() - MAX_AGE - timedelta(minutes=1))],
    )
    bot.pool.start()
    chat = emulator.p2p_chat_id(HIRE)
    (told,) = wait_for(lambda: emulator.messages_in(chat), timeout=10, what="the truth")
    assert "Not done" in card_text(told.content) and "'/referral me'" in card_text(told.content)
