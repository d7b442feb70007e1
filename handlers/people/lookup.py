"""From a `<who>` to an account: by ID, by the contacts the records learned, or by an
@-mention, looked up once through the contact API and remembered.

Looking up never creates an account. When not exactly one account matches, `NotOne` carries
the card to answer with: nobody found (with the `register` command that would create one), or
the list of the matches.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.mobiles import Mobile, mobile_key, parse_mobile, with_code
from bot.domain.people import EMAIL, MOBILE, OPEN_ID, Person, email_key
from bot.records.store import utcnow
from cards.account_list import account_list_card
from cards.names import record_name
from cards.people import no_account_card
from cards.text import Text
from handlers.asker import Mention
from handlers.parser import Who
from handlers.services import Services


class NotOne(Exception):
    """Not exactly one account matched; `card` says so, `account_id` is set for the audit when
    the question named one."""

    def __init__(self, card: dict) -> None:
        super().__init__("not exactly one account")
        self.card = card


class UnknownMention(Exception):
    """The text holds an `@_user_N` that the message's mentions do not explain."""


def mentioned(mentions: tuple[Mention, ...], key: str) -> Mention:
    for mention in mentions:
        if mention.key == key:
            return mention
    raise UnknownMention(key)


def account_for(services: Services, mentions: tuple[Mention, ...], who: Who) -> str:
    """The one account `who` names; raises NotOne with the card to answer otherwise."""
    if who.mention:
        mention = mentioned(mentions, who.mention)
        ids, person = accounts_of_person(services, mention.open_id)
        looked_for = mention.name or mention.open_id
        register, value = _register_offer(person, f"/referral register @{looked_for}")
    elif who.email:
        ids = services.accounts.find_by(EMAIL, email_key(who.email))
        looked_for = who.email
        register = f"/referral register {who.email}"
        value = {"action": "register", "contact": who.email}
    elif who.mobile:
        mobile = Mobile(*who.mobile)
        ids = accounts_by_mobile(services, mobile)
        if not ids and who.account_id:
            return who.account_id  # digits that are no known mobile: an account ID
        looked_for = str(mobile)
        register = f"/referral register {looked_for}"
        value = {"action": "register", "contact": looked_for}
    else:
        return who.account_id or ""
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise NotOne(no_account_card(looked_for, register, value))
    raise NotOne(matches_card(services, ids, looked_for))


def optional_account(
    services: Services, mentions: tuple[Mention, ...], who: Who | None
) -> str | None:
    """The one account an optional `<who>` names; None when left out."""
    return account_for(services, mentions, who) if who is not None else None


def accounts_of_person(services: Services, open_id: str) -> tuple[list[str], Person | None]:
    """The accounts linked to this person: by open_id in the records, else by the email or
    mobile the contact API gives (then linked, so the next lookup needs no call); and the
    person, when the contact API was asked."""
    accounts = services.accounts
    ids = accounts.find_by(OPEN_ID, open_id)
    if ids:
        return ids, None
    person = services.contacts.person(open_id)
    found: list[str] = []
    if person.email:
        found += accounts.find_by(EMAIL, email_key(person.email))
    if person.mobile:
        found += [i for i in mobile_accounts(services, person.mobile) if i not in found]
    if len(found) == 1:
        accounts.link(found[0], OPEN_ID, open_id)
    return found, person


def accounts_by_mobile(services: Services, mobile: Mobile) -> list[str]:
    """The accounts known by this mobile: by code and number; else by the number alone, which
    the records keep when Feishu gave a referrer's mobile without its code. One account found
    so is linked to the whole mobile, so its records and cards gain the code."""
    accounts = services.accounts
    ids = accounts.find_by(MOBILE, mobile.key)
    if ids:
        return ids
    ids = accounts.find_by(MOBILE, mobile.number)
    if len(ids) == 1:
        accounts.link(ids[0], MOBILE, mobile.key)
    return ids


def mobile_accounts(services: Services, text: str) -> list[str]:
    """The accounts known by a mobile as Feishu wrote it ("+85261234567")."""
    mobile = parse_mobile(text)
    if mobile is None:  # no code to be told: only the digits as they came can match
        return services.accounts.find_by(MOBILE, mobile_key(text))
    return accounts_by_mobile(services, mobile)


def _register_offer(person: Person | None, fallback: str) -> tuple[str, dict | None]:
    """The register command for a person, and its button's value when a contact is known."""
    if person is None:
        return fallback, None
    contact = person.email or (person.mobile and with_code(person.mobile))
    if not contact:
        return fallback, None
    return f"/referral register {contact}", {"action": "register", "contact": contact}


def matches_card(services: Services, ids: list[str], looked_for: str) -> dict:
    records = [r for r in (services.accounts.get(i) for i in ids) if r is not None]
    return account_list_card(
        records,
        now=utcnow(),
        zone=services.settings.digest_tz,
        title=Text(f"Accounts of {looked_for}", f"{looked_for} 的账户"),
    )


def names_of(services: Services, account_ids: Iterable[str]) -> dict[str, Text]:
    """Each account's holder as the records name them (`cards.names`); unnamed ones left out."""
    names = {}
    for account_id in account_ids:
        name = record_name(services.accounts.get(account_id))
        if name is not None:
            names[account_id] = name
    return names
