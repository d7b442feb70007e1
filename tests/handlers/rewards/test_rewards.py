"""Rewards over real HTTP: a request (typed or from a hired card's form), a second admin's
approval, exactly one import with one external_id, the receipt with the balance read back."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.feishu.openapi import RetryPolicy
from tests.conftest import (
    ADMIN,
    OUTSIDER,
    VERIFICATION_TOKEN,
    Feishu,
    buttons,
    card_text,
    card_text_zh,
    wait_for,
)

APPROVER = "ou_approver"
ADMINS = frozenset({ADMIN, APPROVER})
NOTICE_CHAT = "oc_notices"


@pytest.fixture
def reward_bot(make_bot):
    return make_bot(
        admins=ADMINS,
        notice_chats=(NOTICE_CHAT,),
        referral_window=timedelta(seconds=0.2),
        default_reward="2000 points",
    )


@pytest.fixture
def hr(reward_bot, emulator) -> Feishu:
    return Feishu(reward_bot, emulator)


def known_account(hr: Feishu, points: int = 500, *, referral: bool = True) -> str:
    """Zhang San's account, read into the records (so its referrer is known), and (unless
    `referral` is False) a referral of his the bot has followed."""
    account_id = hr.emulator.create_account("ou_hire")
    hr.emulator.add_bonus(account_id, points=points)
    hr.ask(f"/referral show {account_id}")
    if referral:
        application_id = hr.emulator.add_referred_application("ou_hire", talent_name="王五")
        event = hr.emulator.move_application(
            application_id, hr.emulator.stage_id(4), token=VERIFICATION_TOKEN
        )
        hr.push(event)
        wait_for(lambda: hr.bot.services.referrals.get(application_id) is not None)
    return account_id


def press(hr: Feishu, message_id: str, action: str, who: str = APPROVER, form=None):
    card = hr.emulator.latest_card(message_id)
    (value,) = [b for b in buttons(card) if b["action"] == action]
    callback = hr.emulator.card_action(
        value, open_id=who, message_id=message_id, token=VERIFICATION_TOKEN
    )
    if form is not None:
        callback["event"]["action"]["form_value"] = form
    result = hr.push(callback, "/webhook/card")
    assert result.status == 200
    return result.body


def press_value(hr: Feishu, message_id: str, value: dict, who: str = APPROVER) -> dict:
    callback = hr.emulator.card_action(
        value, open_id=who, message_id=message_id, token=VERIFICATION_TOKEN
    )
    return hr.push(callback, "/webhook/card").body


def test_a_typed_reward_asks_another_admin_then_imports_once_and_shows_the_balance(
    hr, emulator, reward_bot
):
    emulator.set_reward_effect("credit_confirmed", token=VERIFICATION_TOKEN)
    account_id = known_account(hr)
    request = hr.ask(f"/referral reward {account_id} 2000 points Spring referral campaign")
    text = card_text(request.content)
    assert (
        "Reward request" in text and "2,000 points" in text and "Spring referral campaign" in text
    )
    assert [b["action"] for b in buttons(request.content)] == ["reward_approve", "reward_cancel"]
    assert emulator.calls_for("external_reward_create") == []

    body = press(hr, request.message_id, "reward_approve", ADMIN)  # the requester: refused
    assert "other than the requester" in body["toast"]["content"]
    body = press(hr, request.message_id, "reward_approve")
    wait_for(lambda: emulator.external_rewards())
    (reward,) = emulator.external_rewards()
    assert (reward["stage"], reward["rule_type"], reward["points"]) == (2, 5, 2000)
    (referral,) = reward_bot.services.referrals.of_referrer("ou_hire")[0]
    assert reward["referrer_open_id"] == "ou_hire"
    assert reward["application_id"] == referral.application_id  # Feishu needs one
    stored = reward_bot.services.rewards.get(1)
    assert stored.external_id == reward["external_id"] and stored.state == "rewarded"
    # The receipt, on the request card, with the balance as read back after the import.
    wait_for(lambda: "Reward receipt" in card_text(emulator.latest_card(request.message_id)))
    receipt = card_text(emulator.latest_card(request.message_id))
    assert reward["external_id"] in receipt and "**Balance now**: 2,500 points" in receipt
    assert "奖励回执" in card_text_zh(emulator.latest_card(request.message_id))
    acts = [(e["action"], e["outcome"]) for e in reward_bot.services.audit.entries()]
    assert [a for a in acts if a[0].startswith("reward")] == [
        ("reward", "requested"),
        ("reward_approve", "refused"),
        ("reward_approve", "approved"),
        ("rewarded", "ok"),
    ]
    history = card_text(hr.ask("/referral rewards").content)
    assert "#1 · 2,000 points · rewarded" in history and "Spring referral campaign" in history


def test_a_hire_is_rewarded_from_its_card_through_the_form(hr, emulator, reward_bot):
    account_id = known_account(hr, referral=False)
    application_id = emulator.add_referred_application(
        "ou_hire", talent_name="李四", job_name="Backend engineer"
    )
    event = emulator.move_application(
        application_id, emulator.stage_id(7), token=VERIFICATION_TOKEN
    )
    hr.push(event)
    (hired,) = wait_for(lambda: emulator.messages_in(NOTICE_CHAT))
    body = press(hr, hired.message_id, "reward_form", ADMIN)
    form = next(n for n in body["card"]["data"]["body"]["elements"] if n.get("tag") == "form")
    fields = {e["name"]: e for e in form["elements"]}
    assert fields["amount"]["default_value"] == "2000"
    assert fields["unit"]["initial_option"] == "points"
    assert fields["reason"]["default_value"] == "Referral hired: 李四, Backend engineer"
    submit = {"action": "reward_submit", "application_id": application_id}
    callback = emulator.card_action(
        submit, open_id=ADMIN, message_id=hired.message_id, token=VERIFICATION_TOKEN
    )
    callback["event"]["action"]["form_value"] = {
        "amount": "3000",
        "unit": "CNY",
        "reason": "Referral hired: 李四",
    }
    answered = hr.push(callback, "/webhook/card").body
    assert "another admin must approve" in answered["toast"]["content"]
    request = wait_for(
        lambda: [
            m for m in emulator.messages_in(NOTICE_CHAT) if "Reward request" in card_text(m.content)
        ]
    )[0]
    text = card_text(request.content)
    assert "CNY 3,000.00" in text and "**李四**, Backend engineer" in text
    # A second submit of the same hire is answered with the first request.
    callback = emulator.card_action(
        submit, open_id=APPROVER, message_id=hired.message_id, token=VERIFICATION_TOKEN
    )
    callback["event"]["action"]["form_value"] = {"amount": "1", "unit": "points", "reason": "x"}
    again = hr.push(callback, "/webhook/card").body
    assert "already has reward #1" in again["toast"]["content"]
    press(hr, request.message_id, "reward_approve")
    wait_for(lambda: emulator.external_rewards())
    (reward,) = emulator.external_rewards()
    assert (reward["rule_type"], reward["application_id"], reward["stage"]) == (
        1,
        application_id,
        2,
    )
    assert reward["cash"] == {"CNY": Decimal("3000.00")} and reward["job_id"]
    assert reward_bot.services.rewards.history()[1] == 1
    assert account_id


def test_two_admins_approving_at_once_import_once_with_one_id(make_bot, emulator):
    bot = make_bot(admins=frozenset({ADMIN, APPROVER, "ou_third"}))
    hr = Feishu(bot, emulator)
    account_id = known_account(hr)
    request = hr.ask(f"/referral reward {account_id} 100 points thanks")
    emulator.set_latency("external_reward_create", 0.5)
    bodies: list[dict] = []

    def approve(who: str) -> None:
        bodies.append(press(hr, request.message_id, "reward_approve", who))

    threads = [threading.Thread(target=approve, args=(w,)) for w in (APPROVER, "ou_third")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_for(lambda: bot.services.rewards.get(1).state == "rewarded")
    calls = emulator.calls_for("external_reward_create")
    assert len(calls) == 1 and len(emulator.external_rewards()) == 1
    # One approval went through; the other was told the request had been decided.
    assert [b["toast"]["type"] for b in bodies].count("success") == 1
    assert any("already been decided" in b["toast"]["content"] for b in bodies)


def test_a_lost_answer_is_retried_with_the_same_id(make_bot, emulator):
    bot = make_bot(admins=ADMINS)
    hr = Feishu(bot, emulator)
    account_id = known_account(hr)
    request = hr.ask(f"/referral reward {account_id} 100 USD thanks")
    emulator.fail_next("external_reward_create", 2, "5xx")
    press(hr, request.message_id, "reward_approve")
    wait_for(lambda: bot.services.rewards.get(1).state == "rewarded", 20)
    calls = emulator.calls_for("external_reward_create")
    assert len(calls) >= 2 and len({c.body["external_id"] for c in calls}) == 1
    assert len(emulator.external_rewards()) == 1


@pytest.mark.parametrize(
    ("value", "who"),
    [
        ({"action": "reward_approve", "reward": 1}, OUTSIDER),  # a stranger forging a press
        ({"action": "reward_approve", "reward": 1}, "ou_admin2"),  # an admin, not an approver
        ({"action": "reward_approve", "reward": "1; drop"}, APPROVER),
        ({"action": "reward_submit", "application_id": "../../x"}, APPROVER),
        ({"action": "reward_submit", "application_id": "6900"}, APPROVER),
    ],
)
def test_a_forged_press_changes_nothing(make_bot, emulator, value, who):
    bot = make_bot(
        admins=frozenset({ADMIN, APPROVER, "ou_admin2"}), withdraw_approvers=frozenset({APPROVER})
    )
    hr = Feishu(bot, emulator)
    account_id = known_account(hr)
    request = hr.ask(f"/referral reward {account_id} 100 points thanks")
    callback = emulator.card_action(
        value, open_id=who, message_id=request.message_id, token=VERIFICATION_TOKEN
    )
    callback["event"]["action"]["form_value"] = {"amount": "99999", "unit": "points", "reason": "x"}
    body = hr.push(callback, "/webhook/card").body
    assert body["toast"]["type"] == "error"
    assert bot.services.rewards.get(1).state == "requested"
    assert bot.services.rewards.history()[1] == 1
    assert emulator.calls_for("external_reward_create") == []


@pytest.mark.parametrize(
    ("setup", "says"),
    [
        ("disabled", "is disabled"),
        ("unknown", "does not know who holds"),
        ("no referral", "knows no referral"),
    ],
)
def test_an_account_that_cannot_be_rewarded_gets_plain_words(hr, emulator, reward_bot, setup, says):
    if setup == "disabled":
        account_id = known_account(hr)
        emulator.set_status(account_id, 2)
        hr.ask(f"/referral show {account_id}")
    elif setup == "no referral":
        account_id = known_account(hr, referral=False)
    else:
        account_id = "6900000000000000001"
    answer = card_text(hr.ask(f"/referral reward {account_id} 100 points thanks").content)
    assert says in answer
    assert reward_bot.services.rewards.history()[1] == 0
    assert emulator.calls_for("external_reward_create") == []


def test_cancel_by_the_requester(hr, emulator, reward_bot):
    account_id = known_account(hr)
    request = hr.ask(f"/referral reward {account_id} 100 points thanks")
    body = press(hr, request.message_id, "reward_cancel", ADMIN)
    assert "cancelled" in body["toast"]["content"]
    assert "Reward cancelled" in card_text(body["card"]["data"])
    body = press_value(hr, request.message_id, {"action": "reward_approve", "reward": 1})
    assert "already been decided" in body["toast"]["content"]
    assert emulator.calls_for("external_reward_create") == []


def test_an_import_feishu_never_confirms_is_uncertain_then_imported_with_its_id_at_start(
    make_bot, emulator
):
    bot = make_bot(admins=ADMINS, payout_window=timedelta(0), retry=RetryPolicy(attempts=1))
    hr = Feishu(bot, emulator)
    account_id = known_account(hr)
    request = hr.ask(f"/referral reward {account_id} 100 points thanks")
    emulator.fail_until_stopped("external_reward_create", "5xx")
    press(hr, request.message_id, "reward_approve")
    wait_for(lambda: bot.services.rewards.get(1).state == "uncertain")
    wait_for(lambda: "not confirmed" in card_text(emulator.latest_card(request.message_id)))
    assert emulator.external_rewards() == []
    emulator.stop_failing("external_reward_create")
    bot.stop()
    again = make_bot(admins=ADMINS)  # the next start, on the same records
    wait_for(lambda: again.services.rewards.get(1).state == "rewarded")
    calls = emulator.calls_for("external_reward_create")
    assert (
        len({c.body["external_id"] for c in calls}) == 1 and len(emulator.external_rewards()) == 1
    )
    acts = [(e["action"], e["outcome"]) for e in again.services.audit.entries()]
    assert ("rewarded", "uncertain") in acts and ("rewarded", "ok") in acts


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({"amount": "-5", "unit": "points", "reason": "x"}, "not an amount"),
        ({"amount": "10", "unit": "DOGE", "reason": "x"}, "not a currency"),
        ({"amount": "10", "unit": "points", "reason": "  "}, "reason is needed"),
        ({}, "not an amount"),
    ],
)
def test_a_bad_form_asks_nothing(hr, emulator, reward_bot, form, says):
    known_account(hr, referral=False)
    application_id = emulator.add_referred_application("ou_hire")
    hr.push(
        emulator.move_application(application_id, emulator.stage_id(7), token=VERIFICATION_TOKEN)
    )
    (hired,) = wait_for(lambda: emulator.messages_in(NOTICE_CHAT))
    callback = emulator.card_action(
        {"action": "reward_submit", "application_id": application_id},
        open_id=ADMIN,
        message_id=hired.message_id,
        token=VERIFICATION_TOKEN,
    )
    callback["event"]["action"]["form_value"] = form
    body = hr.push(callback, "/webhook/card").body
    assert body["toast"]["type"] == "error" and says in body["toast"]["content"]
    assert reward_bot.services.rewards.history()[1] == 0


def test_a_hire_whose_referrer_has_no_account_is_asked_to_register_first(hr, emulator, reward_bot):
    application_id = emulator.add_referred_application("ou_hire", talent_name="李四")
    hr.push(
        emulator.move_application(application_id, emulator.stage_id(7), token=VERIFICATION_TOKEN)
    )
    (hired,) = wait_for(lambda: emulator.messages_in(NOTICE_CHAT))
    assert "none registered yet" in card_text(hired.content)
    callback = emulator.card_action(
        {"action": "reward_submit", "application_id": application_id},
        open_id=ADMIN,
        message_id=hired.message_id,
        token=VERIFICATION_TOKEN,
    )
    callback["event"]["action"]["form_value"] = {"amount": "1", "unit": "points", "reason": "x"}
    body = hr.push(callback, "/webhook/card").body
    assert "register them" in body["toast"]["content"]
    assert reward_bot.services.rewards.history()[1] == 0


def test_an_undecided_request_expires_and_its_card_says_so(hr, emulator, reward_bot):
    from handlers.rewards import requests

    account_id = known_account(hr)
    request = hr.ask(f"/referral reward {account_id} 100 points thanks")
    reward_bot.database.db.execute("UPDATE rewards SET expires_at = '2000-01-01T00:00:00+00:00'")
    reward_bot.services.rewards.note_message(1, request.message_id)
    requests.expire(reward_bot.services, "test", {"id": 1})
    assert reward_bot.services.rewards.get(1).state == "expired"
    assert "Reward request expired" in card_text(emulator.latest_card(request.message_id))
    assert buttons(emulator.latest_card(request.message_id)) == []  # nothing left to press
    # A press of the old Approve (a forged or late one) is refused: the request has expired.
    late = press_value(hr, request.message_id, {"action": "reward_approve", "reward": 1})
    assert late["toast"]["type"] == "error"
    assert emulator.calls_for("external_reward_create") == []


def test_the_rewards_of_one_referrer(hr, emulator, reward_bot):
    account_id = known_account(hr)
    hr.ask(f"/referral reward {account_id} 100 points thanks")
    mine = card_text(hr.ask(f"/referral rewards {account_id}").content)
    assert "#1 · 100 points · waiting for approval" in mine
    nobody = card_text(hr.ask("/referral rewards 6900000000000000009").content)
    assert "No rewards yet" in nobody
