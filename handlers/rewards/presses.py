"""The reward buttons: a hired card's Reward (opens the form in place), the form's submit (a
request card for a second admin), and a request card's Approve and Cancel. Every value a press
carries is checked here or by `handlers.presses.refuse_invalid`; a forged one changes
nothing."""

from __future__ import annotations

from bot.domain.rewards import BadAmount
from cards.text import Text
from handlers.audit_trail import Act, refused
from handlers.presses import REWARD_ACTIONS, Outcome, Press
from handlers.referrals.telling import hired_card_of
from handlers.rewards import requests
from handlers.services import Services

ACTIONS = REWARD_ACTIONS


def run(services: Services, press: Press) -> Outcome:
    if press.action in ("reward_approve", "reward_cancel"):
        if press.message_id:  # the pressed card is the request's: it becomes the receipt
            current = services.rewards.get(press.reward)
            if current is not None and current.message_id is None:
                services.rewards.note_message(current.id, press.message_id)
        decide = requests.approve if press.action == "reward_approve" else requests.cancel
        answer = decide(services, press.reward, press.open_id)
        return Outcome(answer.text, answer.kind, answer.card, answer.act)
    referral = services.referrals.get(press.application_id or "")
    if referral is None:
        text = Text("This referral is not known to the bot.", "机器人不知道这条内推。")
        return Outcome(text, "error", act=refused("no_referral"))
    if press.action == "reward_form":
        card = hired_card_of(services, referral, form=True)
        return Outcome(Text("Fill in the reward", "请填写奖励"), "info", card)
    return _submit(services, press, referral)


def _submit(services: Services, press: Press, referral) -> Outcome:
    form = press.form or {}
    try:
        amount, reason = requests.parse(
            str(form.get("amount") or ""), str(form.get("unit") or ""), str(form.get("reason") or "")
        )
    except BadAmount as exc:
        text = Text(exc.en, exc.zh)
        act = Act("usage error", exc.en, {"reason": {"en": exc.en, "zh": exc.zh}})
        return Outcome(text, "error", act=act)
    answer = requests.for_application(
        services,
        referral.application_id,
        amount,
        reason,
        requested_by=press.open_id or "",
        chat_id=press.chat_id,
    )
    if answer.reward is not None and answer.new and press.chat_id:
        sent = services.messenger.send_card(
            press.chat_id, answer.card, uuid=f"reward-{press.event_id}"
        )
        services.rewards.note_message(answer.reward.id, sent)
    notice = answer.text
    card = hired_card_of(services, referral, form=answer.reward is None, notice=notice)
    if answer.reward is not None:
        card = hired_card_of(services, referral, notice=notice)
    return Outcome(answer.text, answer.kind, card, answer.act)
