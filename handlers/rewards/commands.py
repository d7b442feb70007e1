"""`/referral reward <who> <amount> <unit> <reason>` (a request card for a second admin) and
`/referral rewards [<who>]` (what was granted through the bot). No Open API call."""

from __future__ import annotations

from bot.domain.rewards import BadAmount
from cards.error import error_card
from cards.rewards import rewards_card
from cards.text import Text
from handlers import answers, parser, people
from handlers.audit_trail import Act
from handlers.referrals.commands import referrer_named
from handlers.registry import Asker, Reply, handles
from handlers.rewards import requests
from handlers.services import Services

PAGE = 20


@handles(parser.Reward)
def reward(services: Services, asker: Asker, command: parser.Reward) -> Reply:
    account_id = people.account_for(services, asker.mentions, command.who)
    try:
        amount, reason = requests.parse(command.amount, command.unit, command.reason)
    except BadAmount as exc:
        problem = Text(exc.en, exc.zh)
        act = Act("usage error", exc.en, {"reason": {"en": exc.en, "zh": exc.zh}})
        return Reply(answers.wrong_command(problem, parser.SUBCOMMANDS["reward"].usage), act=act)
    answer = requests.for_account(
        services,
        account_id,
        amount,
        reason,
        requested_by=asker.open_id or "",
        chat_id=asker.chat_id,
    )
    if answer.reward is None:
        card = error_card(Text("No reward requested", "未申请奖励"), answer.text)
        return Reply(card, act=answer.act)
    # The card is noted as the request's when it is pressed (handlers/rewards/presses.py).
    return Reply(answer.card, act=answer.act, track=False)


@handles(parser.Rewards)
def history(services: Services, asker: Asker, command: parser.Rewards) -> Reply:
    open_id = referrer_named(services, asker, command.who) if command.who else None
    if command.who is not None and open_id is None:
        return Reply(rewards_card([], total=0, zone=services.settings.digest_tz), track=False)
    items, total = services.rewards.history(open_id, limit=PAGE)
    ids = {i.application_id for i in items if i.application_id}
    known = {a: services.referrals.get(a) for a in ids}
    card = rewards_card(
        items,
        total=total,
        zone=services.settings.digest_tz,
        referrals={a: r for a, r in known.items() if r is not None},
    )
    return Reply(card, track=False)
