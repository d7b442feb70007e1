"""The ways in to rewards: `reward` (typed) and a hired card's Reward button and form open a
request for a second admin, Approve and Cancel decide it, `rewards` shows what was granted.
No command calls Feishu; the approval queues the one import."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.rewards import BadAmount
from cards.error import error_card
from cards.rewards import rewards_card
from cards.text import Text
from handlers import parser
from handlers.asker import Answer, Asker
from handlers.audit_trail import Act, refused
from handlers.people import lookup
from handlers.presses import Value
from handlers.referrals.commands import referrer_named
from handlers.referrals.telling import hired_card_of
from handlers.registry import button, command
from handlers.rewards import requests
from handlers.rewards.trail import card_of
from handlers.services import Services

PAGE = 20


@dataclass(frozen=True)
class Reward:
    """Ask to reward an account's referrer: `amount` of `unit` (points or a currency)."""

    who: parser.Who
    amount: str
    unit: str
    reason: str


@dataclass(frozen=True)
class Rewards:
    who: parser.Who | None = None


def parse_reward(args: list[str], usage: str) -> Reward:
    spaced = len(args) >= 5 and args[0].startswith("+") and parser.NUMBER.match(args[1])
    taken = 2 if spaced else 1
    if len(args) < taken + 3:
        raise parser.UsageError(
            Text(
                "Say whom, how much, in what (points or a currency) and why.",
                "请写明奖励对象、金额、单位（积分或币种）和原因。",
            ),
            usage,
        )
    who = parser.parse_who(args[:taken], usage)
    amount, unit, reason = args[taken], args[taken + 1], " ".join(args[taken + 2 :])
    try:  # whole points, a known currency, a reason of a sensible length
        requests.parse(amount, unit, reason)
    except BadAmount as exc:
        raise parser.UsageError(Text(exc.en, exc.zh), usage) from None
    return Reward(who, amount, unit, reason)


REWARD_USAGE = "/referral reward <who> <amount> <points|CNY|USD|…> <reason>"


@command(REWARD_USAGE, parse=parse_reward)
def reward(services: Services, asker: Asker, command: Reward) -> Answer:
    """Ask to reward a referrer
    申请为推荐人发放奖励"""
    account_id = lookup.account_for(services, asker.mentions, command.who)
    amount, reason = requests.parse(command.amount, command.unit, command.reason)  # checked
    answer = requests.for_account(
        services,
        account_id,
        amount,
        reason,
        requested_by=asker.open_id or "",
        chat_id=asker.chat_id,
        asked_in=asker.event_id,
    )
    if answer.reward is None:
        card = error_card(Text("No reward requested", "未申请奖励"), answer.text)
        return Answer(card, act=answer.act)
    # The card is noted as the request's when it is pressed (`decide`).
    return Answer(answer.card, act=answer.act, track=False)


@command(
    "/referral rewards [<who>]",
    parse=parser.optional_naming(Rewards),
)
def history(services: Services, asker: Asker, command: Rewards) -> Answer:
    """Rewards granted through the bot
    通过机器人发放的奖励"""
    zone = services.settings.digest_tz
    open_id = referrer_named(services, asker, command.who) if command.who else None
    if command.who is not None and open_id is None:
        return Answer(rewards_card([], total=0, zone=zone), track=False)
    items, total = services.rewards.history(open_id, limit=PAGE)
    known = {a: services.referrals.get(a) for a in {i.application_id for i in items} if a}
    referrals = {a: r for a, r in known.items() if r is not None}
    return Answer(rewards_card(items, total=total, zone=zone, referrals=referrals), track=False)


# --- buttons --------------------------------------------------------------------------------
def _reward_card(services: Services, value: Value) -> dict | None:
    """A decided request's card from the records (a redelivered Approve or Cancel)."""
    current = services.rewards.get(value.reward)
    return card_of(services, current) if current else None


def _decide(services: Services, asker: Asker, value: Value, approve: bool) -> Answer:
    if asker.message_id:  # the pressed card is the request's: it becomes the receipt
        current = services.rewards.get(value.reward)
        if current is not None and current.message_id is None:
            services.rewards.note_message(current.id, asker.message_id)
    decide = requests.approve if approve else requests.cancel
    answer = decide(services, value.reward, asker.open_id)
    return Answer(answer.card, answer.text, answer.kind, act=answer.act)


@button("reward_approve", needs=("reward",), shows=_reward_card)
def approve(services: Services, asker: Asker, value: Value) -> Answer:
    return _decide(services, asker, value, approve=True)


@button("reward_cancel", needs=("reward",), shows=_reward_card)
def cancel(services: Services, asker: Asker, value: Value) -> Answer:
    return _decide(services, asker, value, approve=False)


NO_REFERRAL = Text("This referral is not known to the bot.", "机器人不知道这条内推。")


@button("reward_form", needs=("application_id",))
def open_form(services: Services, asker: Asker, value: Value) -> Answer:
    """A hired card's Reward: the card again, with the form in place of the button."""
    referral = services.referrals.get(value.application_id)
    if referral is None:
        return Answer(text=NO_REFERRAL, kind="error", act=refused("no_referral"))
    card = hired_card_of(services, referral, form=True)
    return Answer(card, Text("Fill in the reward", "请填写奖励"), "info")


@button("reward_submit", needs=("application_id",))
def submit(services: Services, asker: Asker, value: Value) -> Answer:
    """The form's values: a request card posted for a second admin; the hired card says so."""
    referral = services.referrals.get(value.application_id)
    if referral is None:
        return Answer(text=NO_REFERRAL, kind="error", act=refused("no_referral"))
    form = value.form or {}
    try:
        amount, reason = requests.parse(
            form.get("amount", ""), form.get("unit", ""), form.get("reason", "")
        )
    except BadAmount as exc:
        act = Act("usage error", exc.en, {"reason": {"en": exc.en, "zh": exc.zh}})
        return Answer(text=Text(exc.en, exc.zh), kind="error", act=act)
    answer = requests.for_application(
        services,
        referral.application_id,
        amount,
        reason,
        requested_by=asker.open_id or "",
        chat_id=asker.chat_id,
        asked_in=asker.event_id,
    )
    if answer.reward is not None and answer.new and asker.chat_id:
        sent = services.messenger.send_card(
            asker.chat_id, answer.card, uuid=f"reward-{asker.event_id}"
        )
        services.rewards.note_message(answer.reward.id, sent)
    card = hired_card_of(services, referral, notice=answer.text)
    return Answer(card, answer.text, answer.kind, act=answer.act)
