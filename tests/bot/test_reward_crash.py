"""A reward's import survives a SIGKILL between its record and Feishu's answer: the restart
imports it with the same external_id, and Feishu holds one reward."""

from __future__ import annotations

import time

from bot.emulator import Emulator
from tests.bot.test_crash_recovery import (  # noqa: F401 (the fixture)
    APPROVER,
    RECOVERY_CEILING,
    Children,
    children,
)
from tests.conftest import VERIFICATION_TOKEN, card_text


def test_killed_while_the_import_is_in_flight_the_restart_imports_with_the_same_id(
    children: Children, emulator: Emulator
):
    account_id = emulator.create_account("ou_hire")
    application_id = emulator.add_referred_application("ou_hire", talent_name="李四")
    first = children.start()
    event = emulator.move_application(
        application_id, emulator.stage_id(4), token=VERIFICATION_TOKEN
    )
    assert first.push(event) == 200
    children.wait_for(
        lambda: children._rows("SELECT application_id FROM referrals"), 10, "the referral"
    )
    show, _, shown = children.message(f"/referral show {account_id}")
    assert first.push(show) == 200
    children.wait_for(lambda: children.replies_to(shown), 10, "the account card")
    ask, _, message_id = children.message(f"/referral reward {account_id} 500 points thanks")
    assert first.push(ask) == 200
    (request,) = children.wait_for(lambda: children.replies_to(message_id), 10, "the request")
    emulator.set_latency("external_reward_create", 3)
    callback = emulator.card_action(
        {"action": "reward_approve", "reward": 1},
        open_id=APPROVER,
        message_id=request.message_id,
        token=VERIFICATION_TOKEN,
    )
    first.push(callback, "/webhook/card")
    children.wait_for(
        lambda: children._rows("SELECT state FROM rewards")[0]["state"] == "approved",
        5,
        "the approval to be recorded",
    )
    time.sleep(0.5)  # the import is now inside the emulator's 3 s
    first.kill()  # between the record and the answer
    emulator.set_latency("external_reward_create", 0)
    restarted = time.monotonic()
    children.start()

    children.wait_for(
        lambda: children._rows("SELECT state FROM rewards")[0]["state"] == "rewarded",
        RECOVERY_CEILING - (time.monotonic() - restarted),
        "the restart to import the reward",
    )
    (row,) = children._rows("SELECT external_id FROM rewards")
    (reward,) = emulator.external_rewards()  # one reward ...
    calls = emulator.calls_for("external_reward_create")
    assert len(calls) == 2 and {c.body["external_id"] for c in calls} == {row["external_id"]}
    assert reward["external_id"] == row["external_id"] and reward["points"] == 500
    children.wait_for(
        lambda: "Reward receipt" in card_text(emulator.latest_card(request.message_id)),
        10,
        "the receipt on the request card",
    )
    children.assert_clean()
