"""The commands about people: `find` (admins, and its paging buttons), `me` and `whoami`
(everyone)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.accounts import AccountRecord
from bot.domain.mobiles import mobile_key
from bot.records.store import utcnow
from cards.account import account_card
from cards.account_list import account_list_card
from cards.people import no_own_account_card
from cards.text import Text
from cards.whoami import whoami_card
from handlers import parser
from handlers.asker import Answer, Asker
from handlers.people import lookup
from handlers.presses import PAGE_TURNED, Value
from handlers.referrals.me import with_referrals
from handlers.registry import ANYONE, button, command
from handlers.services import Services


@dataclass(frozen=True)
class Find:
    text: str


@dataclass(frozen=True)
class Me:
    pass


@dataclass(frozen=True)
class WhoAmI:
    """The asker's own open_id and, in a group, the group's chat_id (what the settings take)."""


def parse_find(args: list[str], usage: str) -> Find:
    text = " ".join(args).strip()
    if not text:
        raise parser.UsageError(Text("Say what to look for.", "请提供要查找的内容。"), usage)
    return Find(text)


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


@command("/referral find <text>", parse=parse_find)
def find(services: Services, asker: Asker, command: Find) -> Answer:
    """Find accounts by ID, name, email or mobile
    按 ID、姓名、邮箱或手机号查找账户"""
    return Answer(find_card(services, command.text))


@button("find", needs=("text",))
def find_page(services: Services, asker: Asker, value: Value) -> Answer:
    """A search's paging buttons turn its page."""
    card = find_card(services, value.text or "", value.offset or 0)
    return Answer(card, PAGE_TURNED)


@command("/referral me", parse=parser.no_args(Me()), may=ANYONE)
def me(services: Services, asker: Asker, command: Me) -> Answer:
    """Your own referral account (everyone)
    查看自己的内推账户（所有人可用）

    The asker's own account, read-only: anyone may look at their own."""
    ids = lookup.accounts_of_person(services, asker.open_id)[0] if asker.open_id else []
    if not ids:
        return Answer(with_referrals(services, asker.open_id, no_own_account_card()))
    account = services.gateway.get_assets(ids[0])
    services.accounts.remember(account)
    record = services.accounts.get(account.account_id)
    if record is not None and record.account is not None:
        account = record.account  # as the records keep it: mobiles with their code
    card = account_card(account, contact=record.contact if record else None, read_only=True)
    card = with_referrals(services, asker.open_id, card)
    return Answer(card, account_id=account.account_id, track=False)


@command("/referral whoami", parse=parser.no_args(WhoAmI()), may=ANYONE)
def whoami(services: Services, asker: Asker, command: WhoAmI) -> Answer:
    """Your open_id, and in a group its chat_id (everyone)
    查看自己的 open_id，在群里还有该群的 chat_id（所有人可用）

    The IDs the settings take, for anyone: their own open_id, and the group's chat_id."""
    return Answer(whoami_card(asker.open_id, asker.chat_id if asker.in_group else None))
