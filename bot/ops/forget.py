"""`referral-bot forget <who>`: a person's right to have their personal information deleted
(PIPL art. 47, GDPR art. 17).

Their contact details (emails, mobiles), names and Feishu user IDs leave every record and the
audit, and one pseudonym (`forgotten-…`) stands wherever they stood, so the records still say
that the same person asked, approved or held an account. What the money needs stays whole:
account IDs, order ids, amounts, balances and times are never rewritten. It is audited (without
what was looked for), and idempotent: run again, it finds nothing more to change.

Who the person is comes from the records' own lookup (`AccountBook.find_by`, as `<who>` in chat
finds an account), widened to every contact the records link to their accounts and to the IDs
and names the stored events give beside their open_id. Then every text value of every table is
rewritten (`bot/records/erasure.py`), whatever table it is in, so a table added later is
covered too.

SQLite leaves deleted bytes in free pages and the old pages in its `-wal` file: so the change
is made with `secure_delete`, then the file is rebuilt (VACUUM) and the `-wal` file emptied
(a TRUNCATE checkpoint).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from bot.domain.people import EMAIL, MOBILE, OPEN_ID, email_key, mobile_key
from bot.records.erasure import PSEUDONYM_PREFIX, Person, any_trace, empty_wal, scrub_all
from bot.records.schema import events
from bot.records.store import AccountBook, AuditLog, Database, Tx
from handlers.parser import UsageError, parse_who

OPEN_ID_PREFIX = "ou_"
# In a stored event, the keys beside a person's open_id that describe the same person.
PERSON_KEYS = ("name", "en_name", "nickname", "email", "enterprise_email", "mobile")
PERSON_IDS = ("open_id", "union_id", "user_id")


class NoSuchPerson(Exception):
    """No record holds anything of the person named."""


class BadWho(Exception):
    """`<who>` is none of the forms forget takes; the message says which they are."""


@dataclass(frozen=True)
class Forgotten:
    """What `forget` did: under which pseudonym, which accounts, how many values it rewrote
    in which tables (nothing when the person was forgotten already)."""

    pseudonym: str
    accounts: tuple[str, ...]
    replaced: dict[str, int]
    wal_emptied: bool

    @property
    def changed(self) -> int:
        return sum(self.replaced.values())

    def summary(self) -> str:
        accounts = ", ".join(self.accounts) or "none"
        if not self.changed:
            return f"already forgotten as {self.pseudonym} (accounts: {accounts}); nothing left"
        tables = ", ".join(f"{t} {n}" for t, n in sorted(self.replaced.items()))
        return f"forgotten as {self.pseudonym} (accounts: {accounts}); values replaced: {tables}"


def forget(database: Database, who: str, *, actor: str) -> Forgotten:
    """Forget the person `who` names; raise BadWho, or NoSuchPerson (audited, nothing else
    changed)."""
    audit = AuditLog(database)
    db = database.db
    # Deleted content is overwritten with zeros in the pages that keep living (set on every
    # SQLite connection, see bot/records/engines.py), and VACUUM's copy stays off the disk.
    with database.transaction() as tx:
        try:
            person, pseudonym = _identify(AccountBook(database), tx, who)
        except NoSuchPerson:
            person, pseudonym = Person(), ""
        replaced = scrub_all(tx, person, pseudonym) if any_trace(person) else {}
        accounts = tuple(sorted(person.accounts))
        # Found: some record held the person, or the pseudonym named is one given before.
        found = bool(accounts or replaced) or who.strip() == pseudonym
        if not found:  # the audit says so, never what was looked for
            audit.record(actor=actor, action="forget", outcome="no match", via="cli")
        else:
            audit.record(
                actor=actor,
                action="forget",
                outcome="ok" if replaced else "already forgotten",
                account_id=accounts[0] if len(accounts) == 1 else None,
                detail=f"as {pseudonym}; accounts {', '.join(accounts) or 'none'};"
                f" {sum(replaced.values())} values replaced",
                via="cli",
            )
    if not found:
        raise NoSuchPerson(who)
    # The files rebuilt: no free page keeps the old bytes (PostgreSQL: every table rewritten).
    db.execute("VACUUM FULL" if database.postgres else "VACUUM")
    return Forgotten(pseudonym, accounts, replaced, empty_wal(db))


# --- who ---------------------------------------------------------------------------------------
def _identify(book: AccountBook, tx: Tx, who: str) -> tuple[Person, str]:
    """The person `who` names, widened to all the records know of them, and their pseudonym
    (the one they were given before, if any)."""
    person = Person()
    words = who.split()
    if len(words) == 1 and words[0].startswith(PSEUDONYM_PREFIX):
        rows = tx.execute(
            "SELECT account_id FROM accounts WHERE forgotten_as = ?", [words[0]]
        ).fetchall()
        person.accounts.update(row[0] for row in rows)
        if not rows and not _forgotten_before(tx, words[0]):
            raise NoSuchPerson(who)
        return person, words[0]
    if len(words) == 1 and words[0].startswith(OPEN_ID_PREFIX):
        person.open_ids.add(words[0])
        person.accounts.update(book.find_by(OPEN_ID, words[0]))
    else:
        try:
            named = parse_who(words, "referral-bot forget <who>")
        except UsageError as exc:
            raise BadWho(exc.problem.en) from None
        if named.mention:
            raise BadWho("an @-mention names nobody outside a chat; give the open_id (ou_…)")
        if named.email:
            person.emails.add(email_key(named.email))
            person.accounts.update(book.find_by(EMAIL, email_key(named.email)))
        if named.mobile:
            code, number = named.mobile
            person.mobiles.add(mobile_key(number, code))
            person.nationals.add(number)
            person.accounts.update(book.find_by(MOBILE, mobile_key(number, code)))
        known = (
            named.account_id
            and tx.execute(
                "SELECT 1 FROM accounts WHERE account_id = ?", [named.account_id]
            ).fetchone()
        )
        if known and not person.accounts:
            # Digits that are no known mobile: an account ID (as `<who>` in chat reads them).
            person.mobiles.clear()
            person.nationals.clear()
            person.accounts.add(named.account_id)
    _widen(book, tx, person)
    pseudonyms = {
        row[0]
        for account_id in person.accounts
        for row in tx.execute(
            "SELECT forgotten_as FROM accounts WHERE account_id = ? AND forgotten_as IS NOT NULL",
            [account_id],
        )
    }
    return person, min(pseudonyms) if pseudonyms else PSEUDONYM_PREFIX + secrets.token_hex(4)


def _forgotten_before(tx: Tx, pseudonym: str) -> bool:
    """Whether the audit records forgetting someone under this pseudonym."""
    return (
        tx.execute(
            "SELECT 1 FROM audit WHERE action = 'forget' AND detail LIKE ?", [f"as {pseudonym};%"]
        ).fetchone()
        is not None
    )


def _widen(book: AccountBook, tx: Tx, person: Person) -> None:
    """Add what the records link to the person until nothing new turns up: the contacts of
    their accounts, the accounts of their contacts, the IDs and names beside their open_id in
    stored events."""
    seen_open_ids: set[str] = set()
    while True:
        before = _size(person)
        for account_id in list(person.accounts):
            _learn_account(tx, account_id, person)
        for open_id in person.open_ids - seen_open_ids:
            seen_open_ids.add(open_id)
            _learn_from_events(tx, open_id, person)
        for kind, values in ((OPEN_ID, person.open_ids), (EMAIL, person.emails)):
            for value in list(values):
                person.accounts.update(book.find_by(kind, value))
        for value in list(person.mobiles):
            person.accounts.update(book.find_by(MOBILE, value))
        if _size(person) == before:
            return


def _size(person: Person) -> int:
    return sum(len(getattr(person, name)) for name in Person.__dataclass_fields__)


def _learn_account(tx: Tx, account_id: str, person: Person) -> None:
    for kind, value in tx.execute(
        "SELECT kind, value FROM account_contacts WHERE account_id = ?", [account_id]
    ):
        _learn_contact(person, kind, value)
    row = tx.execute(
        "SELECT contact, referrer FROM accounts WHERE account_id = ?", [account_id]
    ).fetchone()
    if row is None:
        return
    contact, referrer = row
    if contact and "@" in contact:
        person.emails.add(email_key(contact))
    elif contact and contact.startswith("+") and len(contact.split()) == 2:
        code, number = contact.split()
        person.mobiles.add(mobile_key(number, code))
        person.nationals.add(number)
    elif contact and not contact.startswith(PSEUDONYM_PREFIX):
        person.mobiles.add(mobile_key(contact))
    details = json.loads(referrer) if referrer else {}
    if details.get("id"):
        person.open_ids.add(details["id"])
    for name in (details.get("name_zh"), details.get("name_en")):
        if name and not name.startswith(PSEUDONYM_PREFIX):
            person.names.add(name)
    if details.get("email"):
        person.emails.add(email_key(details["email"]))
    if details.get("mobile"):
        person.mobiles.add(mobile_key(details["mobile"]))
        if not details["mobile"].strip().startswith("+"):  # written without its code
            person.nationals.add(re.sub(r"\D", "", details["mobile"]))


def _learn_contact(person: Person, kind: str, value: str) -> None:
    if kind == OPEN_ID:
        person.open_ids.add(value)
    elif kind == EMAIL:
        person.emails.add(value)
    elif kind == MOBILE:
        person.mobiles.add(value)


def _learn_from_events(tx: Tx, open_id: str, person: Person) -> None:
    """The names and other IDs that stored events give beside this open_id: a mention's name,
    a leaver's name, email and mobile, a sender's union_id and user_id, and the id of their
    one-to-one chat with the bot."""
    for (payload,) in tx.execute(
        sa.select(events.c.payload).where(events.c.payload.contains(open_id, autoescape=True))
    ):
        try:
            document = json.loads(payload)
        except (TypeError, ValueError):
            continue
        person.other_ids.update(_own_chat(document, open_id))
        for node in _dicts(document):
            ids = node.get("id") if isinstance(node.get("id"), dict) else node
            if ids.get("open_id") != open_id:
                continue
            for key in PERSON_IDS:
                if isinstance(ids.get(key), str) and ids[key] and key != "open_id":
                    person.other_ids.add(ids[key])
            for key in PERSON_KEYS:
                value = node.get(key)
                if not isinstance(value, str) or not value.strip():
                    continue
                if key.endswith("email"):
                    person.emails.add(email_key(value))
                elif key == "mobile":
                    person.mobiles.add(mobile_key(value))
                else:
                    person.names.add(value.strip())


def _own_chat(document: object, open_id: str) -> set[str]:
    """The chat_id of a message this person sent in their one-to-one chat with the bot."""
    event = document.get("event") if isinstance(document, dict) else None
    if not isinstance(event, dict):
        return set()
    message, sender = event.get("message"), event.get("sender")
    if not isinstance(message, dict) or not isinstance(sender, dict):
        return set()
    sender_id = sender.get("sender_id")
    sent_by = sender_id.get("open_id") if isinstance(sender_id, dict) else None
    if sent_by == open_id and message.get("chat_type") == "p2p" and message.get("chat_id"):
        return {str(message["chat_id"])}
    return set()


def _dicts(node: object) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dicts(value)
