"""The commands about people: `find` (admins), `me` and `whoami` (everyone)."""

from __future__ import annotations

from bot.domain.accounts import AccountRecord
from bot.domain.mobiles import mobile_key
from bot.records.store import utcnow
from cards.account import account_card
from cards.account_list import account_list_card
from cards.people import no_own_account_card
from cards.text import Text
from cards.whoami import whoami_card
from handlers import parser, people
from handlers.referrals.commands import with_referrals
from handlers.registry import Asker, Reply, handles
from handlers.services import Services


def record_matches(record: AccountRecord, text: str) -> bool:
    """Whether `text` (case-insensitive) is part of the record's ID, contact, or its referrer's
    name (either language), email or mobile."""
    needle = text.casefold()
    referrer = record.account.referrer if record.account else None
    fields = [record.account_id, record.contact]
    if referrer is not None:
        fields += [referrer.name_zh, referrer.name_en, referrer.email, referrer.mobile]
    # "+852 61234567" is found as "+85261234567" too.
    fields += [f"+{mobile_key(f)}" for f in fields if f and f.startswith("+")]
    return any(needle in value.casefold() for value in fields if value)


def find_card(services: Services, text: str, offset: int = 0) -> dict:
    """The known accounts matching `text`, a page at a time (its buttons page the matches)."""
    records = [r for r in services.accounts.all() if record_matches(r, text)]
    return account_list_card(
        records,
        now=utcnow(),
        zone=services.settings.digest_tz,
        offset=offset,
        # What was typed is a value in both texts: shown as typed, never read as markdown.
        title=Text("Accounts matching “{text}”", "匹配“{text}”的账户").format(text=text),
        empty=Text(
            "No known account matches “{text}”. /referral list shows them all.",
            "没有已知账户匹配“{text}”。/referral list 可查看全部账户。",
        ).format(text=text),
        page_value=lambda start: {"action": "find", "text": text, "offset": start},
    )


@handles(parser.Find)
def find(services: Services, asker: Asker, command: parser.Find) -> Reply:
    return Reply(find_card(services, command.text))


@handles(parser.Me)
def me(services: Services, asker: Asker, command: parser.Me) -> Reply:
    """The asker's own account, read-only: anyone may look at their own."""
    ids = people.accounts_of_person(services, asker.open_id)[0] if asker.open_id else []
    if not ids:
        return Reply(with_referrals(services, asker.open_id, no_own_account_card()))
    account = services.gateway.get_assets(ids[0])
    services.accounts.remember(account)
    record = services.accounts.get(account.account_id)
    if record is not None and record.account is not None:
        account = record.account  # as the records keep it: mobiles with their code
    card = account_card(account, contact=record.contact if record else None, read_only=True)
    card = with_referrals(services, asker.open_id, card)
    return Reply(card, account.account_id, track=False)


@handles(parser.WhoAmI)
def whoami(services: Services, asker: Asker, command: parser.WhoAmI) -> Reply:
    """The IDs the settings take, for anyone: their own open_id, and the group's chat_id."""
    return Reply(whoami_card(asker.open_id, asker.chat_id if asker.in_group else None))
