"""`/referral referrals [<who>]`: admins for anyone (everyone's without `<who>`), everyone else
for themselves. No Open API call: the bot's own records."""

from __future__ import annotations

from dataclasses import dataclass

from cards.error import not_allowed_card
from cards.referrals import referrals_card
from handlers import parser
from handlers.asker import Answer, Asker
from handlers.people import lookup
from handlers.registry import ANYONE, command
from handlers.services import Services

PAGE = 20


@dataclass(frozen=True)
class Referrals:
    who: parser.Who | None = None


def referrer_named(services: Services, asker: Asker, who: parser.Who) -> str | None:
    """The open_id of the referrer `who` names: a mention is the person; an account, its
    referrer as the records know it (None when they do not)."""
    if who.mention:
        return lookup.mentioned(asker.mentions, who.mention).open_id
    account_id = lookup.account_for(services, asker.mentions, who)
    record = services.accounts.get(account_id)
    referrer = record.account.referrer if record and record.account else None
    return referrer.id if referrer else None


@command(
    "/referral referrals [<who>]",
    parse=parser.optional_naming(Referrals),
    may=ANYONE,
)
def referrals(services: Services, asker: Asker, command: Referrals) -> Answer:
    """Referrals and where they stand (everyone: their own)
    内推候选人及其进展（所有人可查看自己的）"""
    admin = services.settings.is_admin(asker.open_id)
    zone = services.settings.digest_tz
    if command.who is None:
        open_id = None if admin else asker.open_id  # an admin: everyone's
    else:
        open_id = referrer_named(services, asker, command.who)
        if not admin and open_id != asker.open_id:
            return Answer(not_allowed_card())
        if open_id is None:
            return Answer(referrals_card([], total=0, zone=zone), track=False)
    items, total = services.referrals.of_referrer(open_id, limit=PAGE)
    card = referrals_card(items, total=total, zone=zone, referrer=open_id)
    return Answer(card, track=False)
