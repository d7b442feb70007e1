"""`/referral referrals [<who>]` (admins for anyone, everyone for themselves) and the `me`
card's part about the asker's referrals. No Open API call: the bot's own records."""

from __future__ import annotations

from cards.error import not_allowed_card
from cards.referrals import me_section, referrals_card
from handlers import parser, people
from handlers.registry import Asker, Reply, handles
from handlers.services import Services

PAGE = 20
ME_SHOWN = 5


def referrer_named(services: Services, asker: Asker, who: parser.Who) -> str | None:
    """The open_id of the referrer `who` names: a mention is the person; an account, its
    referrer as the records know it (None when they do not)."""
    if who.mention:
        return people.mentioned(asker.mentions, who.mention).open_id
    account_id = people.account_for(services, asker.mentions, who)
    record = services.accounts.get(account_id)
    referrer = record.account.referrer if record and record.account else None
    return referrer.id if referrer else None


@handles(parser.Referrals)
def referrals(services: Services, asker: Asker, command: parser.Referrals) -> Reply:
    admin = services.settings.is_admin(asker.open_id)
    if command.who is None:
        open_id = None if admin else asker.open_id  # an admin: everyone's
    else:
        open_id = referrer_named(services, asker, command.who)
        if not admin and open_id != asker.open_id:
            return Reply(not_allowed_card())
        if open_id is None:
            return Reply(referrals_card([], total=0, zone=services.settings.digest_tz))
    items, total = services.referrals.of_referrer(open_id, limit=PAGE)
    card = referrals_card(items, total=total, zone=services.settings.digest_tz, referrer=open_id)
    return Reply(card, track=False)


def with_referrals(services: Services, open_id: str | None, card: dict) -> dict:
    """The `me` card with the asker's referrals' current stages appended."""
    if not open_id:
        return card
    items, total = services.referrals.of_referrer(open_id, limit=ME_SHOWN)
    section = me_section(items, total, services.settings.digest_tz)
    body = card.setdefault("body", {}).setdefault("elements", [])
    body.extend(section)
    return card

