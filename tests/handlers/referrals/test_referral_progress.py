"""Following referrals over real HTTP: the stage-change event, the calls it costs, the records it
leaves, what the referrer is told (batched per referrer) and the hired card for the notice
chats."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.emulator import Employee, hire_apps
from tests.conftest import (
    ADMIN,
    VERIFICATION_TOKEN,
    Feishu,
    buttons,
    card_text,
    card_text_zh,
    wait_for,
)

NOTICE_CHAT = "oc_notices"
REFERRER = "ou_hire"  # Zhang San, in the emulator's directory


@pytest.fixture
def follow_bot(make_bot):
    return make_bot(referral_window=timedelta(seconds=0.5), notice_chats=(NOTICE_CHAT,))


@pytest.fixture
def hr(follow_bot, emulator) -> Feishu:
    return Feishu(follow_bot, emulator)


def move(hr: Feishu, application_id: str, stage_type: int, **kw) -> dict:
    """Someone in Hire moves the application; Feishu pushes the event to the bot."""
    event = hr.emulator.move_application(
        application_id, hr.emulator.stage_id(stage_type), token=VERIFICATION_TOKEN, **kw
    )
    assert hr.push(event).status == 200
    return event


def done(bot) -> bool:
    counts = bot.inbox.counts()
    return not counts.get("queued") and not counts.get("working")


def to_person(emulator, open_id: str):
    return [m for m in emulator.messages if m.receive_id == open_id]


def test_an_application_that_is_no_referral_costs_one_call_and_then_none(hr, emulator, follow_bot):
    application_id = emulator.add_application(emulator.add_job("QA"), emulator.add_talent("王五"))
    move(hr, application_id, 2)
    wait_for(lambda: follow_bot.services.referrals.checks() == 1 and done(follow_bot))
    move(hr, application_id, 4)
    move(hr, application_id, 5)
    wait_for(lambda: done(follow_bot))
    assert len(emulator.calls_for("referral_get_by_application")) == 1
    assert emulator.calls_for("application_get_detail") == []
    assert follow_bot.services.referrals.of_referrer()[1] == 0


def test_a_referral_is_recorded_with_its_stage_history_and_the_referrer_told(
    hr, emulator, follow_bot
):
    application_id = emulator.add_referred_application(
        REFERRER, talent_name="李四", job_name="Backend engineer"
    )
    move(hr, application_id, 2)
    book = follow_bot.services.referrals
    wait_for(lambda: book.get(application_id) is not None)
    move(hr, application_id, 4)
    wait_for(lambda: book.get(application_id).stage.type == 4)
    # First change: the referral and the detail (job and talent in the same call); then one.
    assert len(emulator.calls_for("referral_get_by_application")) == 1
    details = emulator.calls_for("application_get_detail")
    assert len(details) == 2
    referral = book.get(application_id)
    assert (referral.talent_name, referral.job_name, referral.referrer_open_id) == (
        "李四",
        "Backend engineer",
        REFERRER,
    )
    assert [stage.type for stage, _, _ in book.history(application_id)] == [2, 4]
    # The referrer hears, once, in both languages, the two changes in one message.
    (told,) = wait_for(lambda: to_person(emulator, REFERRER))
    text = card_text(told.content)
    assert "**李四**, Backend engineer: now at **Interview**" in text
    assert "当前阶段 **面试**" in card_text_zh(told.content)


def test_a_redelivery_or_an_older_change_changes_nothing(hr, emulator, follow_bot):
    application_id = emulator.add_referred_application(REFERRER)
    event = move(hr, application_id, 4, at_ms=2_000_000_000_000)
    book = follow_bot.services.referrals
    wait_for(lambda: book.get(application_id) is not None and done(follow_bot))
    assert hr.push(event).status == 200  # the same event again
    # An older change arriving late, as Feishu would send it.
    older = hire_apps.stage_changed_event(
        application_id,
        emulator.stage_id(1),
        emulator.stage_id(2),
        1_900_000_000_000,
        token=VERIFICATION_TOKEN,
        app_id=emulator.app_id,
        tenant_key=emulator.tenant_key,
    )
    assert hr.push(older).status == 200
    wait_for(lambda: done(follow_bot))
    assert book.get(application_id).stage.type == 4
    assert len(book.history(application_id)) == 1
    assert len(emulator.calls_for("application_get_detail")) == 1


def test_thirty_changes_for_ten_referrers_in_a_window_are_ten_messages(make_bot, emulator):
    bot = make_bot(referral_window=timedelta(seconds=8), workers=4)
    hr = Feishu(bot, emulator)
    referrers = [f"ou_ref{n}" for n in range(10)]  # none of them has a referral account
    applications = [emulator.add_referred_application(r) for r in referrers for _ in range(3)]
    for application_id in applications:
        move(hr, application_id, 2)
    wait_for(lambda: bot.services.referrals.of_referrer()[1] == 30, 20, "30 referrals")
    wait_for(lambda: bot.services.referrals.untold() == 0 and done(bot), 30, "the batches")
    sent = [m for m in emulator.messages if m.receive_id in referrers]
    assert len(sent) == 10 and {m.receive_id for m in sent} == set(referrers)
    assert all(card_text(m.content).count("now at **Evaluation**") == 3 for m in sent)
    # The calls: 30 get_by_application and 30 get_detail, within get_detail's 10/s.
    assert len(emulator.calls_for("referral_get_by_application")) == 30
    assert len(emulator.calls_for("application_get_detail")) == 30


@pytest.mark.parametrize(("updates", "told"), [("outcomes", ["hired"]), ("off", [])])
def test_what_the_referrer_is_told_follows_the_setting(make_bot, emulator, updates, told):
    bot = make_bot(referral_window=timedelta(seconds=0.2), referral_updates=updates)
    hr = Feishu(bot, emulator)
    application_id = emulator.add_referred_application(REFERRER, talent_name="李四")
    move(hr, application_id, 4)
    wait_for(lambda: bot.services.referrals.get(application_id) is not None and done(bot))
    move(hr, application_id, 7)
    wait_for(lambda: bot.services.referrals.get(application_id).hired and done(bot))
    wait_for(lambda: bot.services.referrals.untold() == 0 and done(bot))
    messages = to_person(emulator, REFERRER)
    assert ["hired" if "hired" in card_text(m.content) else "stage" for m in messages] == told


def test_the_end_of_an_application_is_told_without_a_reason(hr, emulator, follow_bot):
    application_id = emulator.add_referred_application(REFERRER, talent_name="李四")
    move(hr, application_id, 4)
    wait_for(lambda: to_person(emulator, REFERRER))
    emulator.end_application(application_id)
    move_ms = emulator.application(application_id)["update_time"] + 1
    # Feishu sends no event for the end: the bot reads it with the next change it hears of.
    from handlers.referrals.progress import follow

    follow(follow_bot.services, application_id, move_ms, tell=True)
    wait_for(lambda: len(to_person(emulator, REFERRER)) == 2)
    ended = card_text(to_person(emulator, REFERRER)[-1].content)
    assert "no longer in process" in ended and "reason" not in ended.lower()


def test_a_hire_posts_one_card_to_the_notice_chats(hr, emulator, follow_bot):
    emulator.add_employee(
        Employee(open_id="ou_ref", email="ref@open.com", name_zh="王芳", name_en="Wang Fang")
    )
    account_id = emulator.create_account("ou_ref")
    emulator.add_bonus(account_id, points=300)
    hr.ask(f"/referral show {account_id}")  # the records link the referrer to the account
    application_id = emulator.add_referred_application(
        "ou_ref", talent_name="李四", job_name="Backend engineer"
    )
    move(hr, application_id, 6)
    event = move(hr, application_id, 7)
    wait_for(lambda: emulator.messages_in(NOTICE_CHAT))
    hr.push(event)  # a redelivery
    wait_for(lambda: done(follow_bot))
    (card,) = emulator.messages_in(NOTICE_CHAT)
    text = card_text(card.content)
    assert "Referral hired" in text and "李四" in text and "Backend engineer" in text
    assert "<at id=ou_ref></at>" in text and f"`{account_id}`" in text
    assert "300 points" in text
    assert buttons(card.content) == [{"action": "reward_form", "application_id": application_id}]


def test_referrals_command_and_the_me_card(hr, emulator, follow_bot):
    application_id = emulator.add_referred_application(
        REFERRER, talent_name="李四", job_name="Backend engineer"
    )
    move(hr, application_id, 4)
    wait_for(lambda: follow_bot.services.referrals.get(application_id) is not None)
    everyone = card_text(hr.ask("/referral referrals").content)
    assert (
        "**李四**, Backend engineer · Interview" in everyone and f"<at id={REFERRER}>" in everyone
    )
    # The referrer asks for their own (they are no admin and have no account).
    own = card_text(hr.ask("/referral referrals", open_id=REFERRER).content)
    assert "**李四**, Backend engineer · Interview" in own
    me = card_text(hr.ask("/referral me", open_id=REFERRER).content)
    assert "Your referrals" in me and "**李四**, Backend engineer · Interview" in me
    # Someone else's are not theirs to see.
    other = hr.ask(
        "/referral referrals @_user_1",
        open_id="ou_outsider",
        mentions=[emulator.user_mention(ADMIN)],
    )
    assert "not allowed" in card_text(other.content)
