"""From a `<who>` to an account: by ID, by the contacts the records learned, or by an
@-mention, looked up once through the contact API and remembered.

Looking up never creates an account. When not exactly one account matches, `NotOne` carries
the card to answer with: nobody found (with the `register` command that would create one), or
the list of the matches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.people import EMAIL, MOBILE, OPEN_ID, Person, email_key, mobile_key
from bot.records.store import utcnow
from cards.account_list import account_list_card
from cards.names import record_name
from cards.people import no_account_card
from cards.text import Text
from handlers.parser import Who
from handlers.services import Services


@dataclass(frozen=True)
class Mention:
    """One entry of a message's `mentions`: its `@_user_N` key and whom it stands for."""

    key: str
    open_id: str
    name: str = ""


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
        code, number = who.mobile
        ids = services.accounts.find_by(MOBILE, mobile_key(number, code))
        if not ids and who.account_id:
            return who.account_id  # digits that are no known mobile: an account ID
        looked_for = f"+{code} {number}"
        register = f"/referral register {looked_for}"
        value = {"action": "register", "contact": looked_for}
    else:
        return who.account_id or ""
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise NotOne(no_account_card(looked_for, register, value))
    raise NotOne(matches_card(services, ids, looked_for))


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
        found += [i for i in accounts.find_by(MOBILE, mobile_key(person.mobile)) if i not in found]
    if len(found) == 1:
        accounts.link(found[0], OPEN_ID, open_id)
    return found, person


def _register_offer(person: Person | None, fallback: str) -> tuple[str, dict | None]:
    """The register command for a person, and its button's value when a contact is known."""
    if person is None:
        return fallback, None
    contact = person.email or (person.mobile and spaced_mobile(person.mobile))
    if not contact:
        return fallback, None
    return f"/referral register {contact}", {"action": "register", "contact": contact}


def spaced_mobile(mobile: str) -> str:
    """ "+8618900001111" as the register command takes it: "+86 18900001111"."""
    key = mobile_key(mobile)
    if mobile.startswith("+86") or (key.startswith("86") and len(key) == 13):
        return f"+86 {key[2:]}"
    return mobile


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
