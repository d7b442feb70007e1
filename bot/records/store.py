"""The bot's own records: known accounts, the audit trail, the welcomes. Every table is declared
in `bot/records/schema.py`; the database, on SQLite or PostgreSQL, in `bot/records/database.py`
(re-exported here, where the rest of the bot has always found it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import sqlalchemy as sa

from bot.domain.accounts import Account, AccountRecord, AccountStatus, Cash, Referrer
from bot.domain.mobiles import Mobile, split_code, with_code
from bot.domain.people import MOBILE, OPEN_ID, contact_keys
from bot.records import engines
from bot.records.database import (  # noqa: F401  (the records' public names, as always)
    BUSY_TIMEOUT,
    ERRORS,
    PROBE_TIMEOUT,
    Database,
    DatabaseTooNew,
    DatabaseUnavailable,
    Tx,
    open_database,
    to_iso,
    utcnow,
)
from bot.records.schema import account_cards, account_contacts, accounts, audit, welcomed

# Feishu lets an app update the cards it sent for 14 days.
CARD_UPDATE_WINDOW = timedelta(days=13, hours=23)


def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


Balance = tuple[int, tuple[Cash, ...]]  # points, and cash per currency
NOTHING: Balance = (0, ())


class BalanceTeller(Protocol):
    """Who hears of balance changes (`bot.records.notices.NoticeBook`)."""

    def changed(
        self,
        db: Tx,
        account_id: str,
        before: Balance,
        after: Balance,
        as_of: datetime,
    ) -> bool:
        """Inside the transaction that applies `after`: record the move from `before` (what
        was last told), if any, and queue its telling; True when work was queued."""
        ...

    def wake(self) -> None:
        """After the commit: the telling that was queued may start."""
        ...


class AccountBook:
    """Known referral accounts: who registered them and their last known state.

    Every balance the records take, read (`remember`: a command, a button, the digest, an
    import) or announced by a balance event (`apply_balance`), passes through `_learn`, which
    compares it with the balance last told and has the teller tell the difference in the same
    transaction. So a change is told once whichever way it is learnt first: a read between a
    bonus and its event tells it, and the event, older than that read, changes nothing more.
    An account the records had not seen is told from nothing when a balance event announces
    it; a first read of one (register, import, a lookup) only sets what counts as told, so
    importing 300 existing accounts posts nothing. One baseline serves the notice chats and
    the referrer: both are told from the one recorded change (the referrer only when it grew),
    and a decrease has to lower the referrer's baseline as much as the chats'.
    """

    def __init__(self, database: Database, *, teller: BalanceTeller | None = None) -> None:
        self._database = database
        # Without one (tests, tools that only read), balances are taken and nothing is told.
        self._teller = teller

    def remember(
        self,
        account: Account,
        *,
        seen_at: datetime | None = None,
        contact: str | None = None,
        registered_by: str | None = None,
        announced: bool = False,
    ) -> None:
        """Record an account's state as just read from the Open API. `announced`: a balance
        event named the account, so one the records had not seen is told from nothing."""
        seen_at = seen_at or utcnow()
        row = {
            "account_id": account.account_id,
            "status": int(account.status),
            "points": account.points,
            "cash": _cash_json(account.cash),
            "referrer": json.dumps(asdict(account.referrer)) if account.referrer else None,
            "seen_at": to_iso(seen_at),
        }
        with self._database.transaction() as db:
            engines.serialize(db.conn, f"account:{account.account_id}")
            existing = db.execute(
                sa.select(
                    accounts.c.contact,
                    accounts.c.registered_by,
                    accounts.c.registered_at,
                    accounts.c.referrer,
                    accounts.c.status,
                    accounts.c.points,
                    accounts.c.cash,
                    accounts.c.told_points,
                    accounts.c.told_cash,
                    accounts.c.version,
                    accounts.c.forgotten_as,
                ).where(accounts.c.account_id == account.account_id)
            ).first()
            forgotten = existing is not None and existing[10] is not None
            if existing is not None and (row["referrer"] is None or forgotten):
                # enable and deactivate answer without the referrer: keep the one we know. A
                # forgotten owner's details, read from Feishu again, are not kept either.
                row["referrer"] = existing[3]
            if existing is None:
                row.update(
                    contact=contact, registered_by=registered_by, registered_at=row["seen_at"]
                )
            else:
                row.update(
                    contact=existing[0] or contact,
                    registered_by=existing[1] or registered_by,
                    registered_at=existing[2],
                )
            # A mobile with its code wherever the code can be told (see bot/domain/mobiles.py).
            if not forgotten:
                _link(db, account.account_id, contact_keys(row["contact"]))
            row["contact"] = _coded_contact(row["contact"])
            row["referrer"] = _coded_referrer(db, account.account_id, row["referrer"])
            shown = _shown(
                row["status"], row["points"], row["cash"], row["referrer"], row["contact"]
            )
            if existing is None:
                row["version"] = 1
            else:
                before = _shown(existing[4], existing[5], existing[6], existing[3], existing[0])
                row["version"] = (existing[9] or 0) + (shown != before)
            told = _told(*existing[4:9]) if existing is not None else None
            balance = (account.points, account.cash)
            columns, queued = self._learn(
                db, account.account_id, told, balance, seen_at, announced=announced
            )
            row.update(columns)
            db.execute(engines.upsert(db, accounts, row, ["account_id"]))
            if not forgotten:
                _link(db, account.account_id, _row_keys(row))
        if queued:
            self._wake()

    def link(self, account_id: str, kind: str, value: str) -> None:
        """Remember that this person (an open_id, email or mobile key) holds this account."""
        with self._database.transaction() as db:
            _link(db, account_id, [(kind, value)])

    def find_by(self, kind: str, value: str) -> list[str]:
        """Accounts linked to this contact (`value` as bot.domain.people keys it), oldest first."""
        return self._linked(accounts.c.account_id, kind, value)

    def referrers(self, kind: str, value: str) -> list[str]:
        """The referrer JSON of the accounts linked to this contact that have one, oldest
        first."""
        return self._linked(accounts.c.referrer, kind, value, accounts.c.referrer.is_not(None))

    def _linked(
        self, column: sa.ColumnElement, kind: str, value: str, *where: sa.ColumnElement
    ) -> list:
        database = self._database
        return database.run(
            sa.select(column)
            .select_from(account_contacts)
            .join(accounts, accounts.c.account_id == account_contacts.c.account_id)
            .where(account_contacts.c.kind == kind, account_contacts.c.value == value, *where)
            .order_by(engines.insertion_order(accounts, database.engine))
        ).scalars()

    def apply_balance(
        self, account_id: str, points: int, cash: tuple[Cash, ...], as_of: datetime
    ) -> bool:
        """Take a balance Feishu reported as true at `as_of` (a balance event's modify_time),
        unless the records already hold a balance as of that moment or later (a late
        redelivery of an older event, or a read made since, which told the change already).
        False when ignored, or when the records do not know the account."""
        with self._database.transaction() as db:
            engines.serialize(db.conn, f"account:{account_id}")
            row = db.execute(
                sa.select(
                    accounts.c.seen_at,
                    accounts.c.status,
                    accounts.c.points,
                    accounts.c.cash,
                    accounts.c.told_points,
                    accounts.c.told_cash,
                    accounts.c.version,
                ).where(accounts.c.account_id == account_id, accounts.c.status.is_not(None))
            ).first()
            if row is None or (row[0] and from_iso(row[0]) >= as_of):
                return False
            columns, queued = self._learn(
                db, account_id, _told(*row[1:6]), (points, cash), as_of, announced=True
            )
            changed = int((points, _cash_json(cash)) != (row[2], row[3]))
            columns["version"] = (row[6] or 0) + changed
            db.execute(
                accounts.update()
                .where(accounts.c.account_id == account_id)
                .values(points=points, cash=_cash_json(cash), seen_at=to_iso(as_of), **columns)
            )
        if queued:
            self._wake()
        return True

    def _learn(
        self,
        db: Tx,
        account_id: str,
        told: Balance | None,
        after: Balance,
        as_of: datetime,
        *,
        announced: bool,
    ) -> tuple[dict, bool]:
        """The one place a balance taken into the records is told: compared with what was
        last told (None: an account not seen before), the difference handed to the teller.
        Returns the told columns to write with the balance, and whether telling was queued."""
        if self._teller is None:
            return {}, False  # nobody to tell: what was told stays as it was
        columns = {"told_points": after[0], "told_cash": _cash_json(after[1])}
        if told is None and not announced:
            return columns, False  # a first read: from now on, what counts as told
        before = told if told is not None else NOTHING
        return columns, self._teller.changed(db, account_id, before, after, as_of)

    def _wake(self) -> None:
        if self._teller is not None:
            self._teller.wake()

    def get(self, account_id: str) -> AccountRecord | None:
        rows = self._database.rows(sa.select(accounts).where(accounts.c.account_id == account_id))
        return _record(rows[0]) if rows else None

    def all(self) -> list[AccountRecord]:
        order = engines.insertion_order(accounts, self._database.engine)
        return [_record(row) for row in self._database.rows(sa.select(accounts).order_by(order))]

    def count(self) -> int:
        return self._database.scalar(sa.select(sa.func.count()).select_from(accounts))

    def note_card(self, message_id: str, account_id: str, chat_id: str | None) -> None:
        """A card showing this account was sent as `message_id`."""
        row = {
            "message_id": message_id,
            "account_id": account_id,
            "chat_id": chat_id,
            "sent_at": to_iso(utcnow()),
        }
        self._database.run(
            engines.upsert(self._database.engine, account_cards, row, ["message_id"])
        )

    def forget_old_cards(self) -> int:
        """Drop the note of cards Feishu no longer lets us update."""
        cutoff = to_iso(utcnow() - CARD_UPDATE_WINDOW)
        return self._database.run(
            account_cards.delete().where(account_cards.c.sent_at <= cutoff)
        ).rowcount

    def cards_showing(self, account_id: str) -> list[str]:
        """Messages showing this account that Feishu still lets us update (under 14 days)."""
        cutoff = to_iso(utcnow() - CARD_UPDATE_WINDOW)
        return self._database.run(
            sa.select(account_cards.c.message_id)
            .where(account_cards.c.account_id == account_id, account_cards.c.sent_at > cutoff)
            .order_by(account_cards.c.sent_at.desc())
            .limit(20)
        ).scalars()


def _shown(status, points, cash, referrer: str | None, contact: str | None) -> tuple:
    """What an account card shows of a row, to tell whether a write changed it."""
    return (status, points or 0, json.loads(cash or "[]"), json.loads(referrer or "null"), contact)


def _known_mobiles(db: Any, account_id: str) -> list[Mobile]:
    """The mobiles with a code the records link to this account."""
    rows = db.execute(
        sa.select(account_contacts.c.value).where(
            account_contacts.c.account_id == account_id, account_contacts.c.kind == MOBILE
        )
    ).all()
    return [m for m in (split_code(row[0]) for row in rows) if m is not None]


def _coded_contact(contact: str | None) -> str | None:
    """A mobile contact as "+<code> <number>"; an email as it is."""
    if not contact or "@" in contact:
        return contact
    return with_code(contact)


def _coded_referrer(db: Any, account_id: str, referrer: str | None) -> str | None:
    """The referrer's JSON with its mobile as "+<code> <number>": the code as Feishu wrote it,
    86 for a bare mainland number, or that of a mobile the records link to the account with
    the same number (Feishu may give the number alone)."""
    data = json.loads(referrer) if referrer else None
    if not data or not data.get("mobile"):
        return referrer
    coded = with_code(data["mobile"], _known_mobiles(db, account_id))
    if coded == data["mobile"]:
        return referrer
    return json.dumps({**data, "mobile": coded})


def learn_contacts_of_all(db: Any) -> None:
    """A database from before contacts were kept (migration 0001): learn them from its rows."""
    for row in db.execute(sa.select(accounts)).mappings().all():
        _link(db, row["account_id"], _row_keys(row))


def upgrade_mobiles(db: Any) -> None:
    """Rows written before mobiles kept their code gain it where it can be told (not those of
    a forgotten person: their contact is a pseudonym, and nothing may link to it again); run
    by migration 0001 on a database from an earlier version."""
    rows = db.execute(
        sa.select(accounts.c.account_id, accounts.c.contact, accounts.c.referrer).where(
            accounts.c.forgotten_as.is_(None)
        )
    ).all()
    for account_id, contact, referrer in rows:
        _link(db, account_id, contact_keys(contact))
        coded_contact = _coded_contact(contact)
        coded_referrer = _coded_referrer(db, account_id, referrer)
        if (coded_contact, coded_referrer) == (contact, referrer):
            continue
        db.execute(
            accounts.update()
            .where(accounts.c.account_id == account_id)
            .values(
                contact=coded_contact,
                referrer=coded_referrer,
                version=sa.func.coalesce(accounts.c.version, 0) + 1,
            )
        )
        _link(db, account_id, _row_keys({"contact": coded_contact, "referrer": coded_referrer}))


def _link(db: Any, account_id: str, keys: list[tuple[str, str]]) -> None:
    for kind, value in keys:
        if value:
            row = {"kind": kind, "value": value, "account_id": account_id}
            db.execute(engines.insert_ignore(db, account_contacts, row))


def _row_keys(row: Mapping) -> list[tuple[str, str]]:
    """The contacts an accounts row holds: registered with, and the referrer's."""
    keys = contact_keys(row.get("contact"))
    referrer = json.loads(row["referrer"]) if row.get("referrer") else {}
    if referrer.get("id"):
        keys.append((OPEN_ID, referrer["id"]))
    return keys + contact_keys(referrer.get("email")) + contact_keys(referrer.get("mobile"))


def _cash_json(cash: tuple[Cash, ...]) -> str:
    return json.dumps([[c.currency, str(c.amount)] for c in cash])


def _cash(text: str | None) -> tuple[Cash, ...]:
    return tuple(Cash(cur, Decimal(amount)) for cur, amount in json.loads(text or "[]"))


def _told(
    status: int | None,
    points: int | None,
    cash: str | None,
    told_points: int | None,
    told_cash: str | None,
) -> Balance | None:
    """What was last told of an account; None when its balance was never known. A row from
    before the told balance was kept counts its recorded balance as told."""
    if told_points is not None:
        return told_points, _cash(told_cash)
    if status is None:
        return None
    return points or 0, _cash(cash)


def _record(row: Mapping) -> AccountRecord:
    account = None
    if row["status"] is not None:
        referrer = json.loads(row["referrer"]) if row["referrer"] else None
        account = Account(
            account_id=row["account_id"],
            status=AccountStatus(row["status"]),
            points=row["points"] or 0,
            cash=_cash(row["cash"]),
            referrer=Referrer(**referrer) if referrer else None,
        )
    return AccountRecord(
        account_id=row["account_id"],
        contact=row["contact"],
        registered_by=row["registered_by"],
        account=account,
        seen_at=from_iso(row["seen_at"]),
        version=row["version"] or 0,
    )


class AuditLog:
    """Every attempted action, allowed or refused: who, when, what, which account, outcome."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def record(
        self,
        *,
        actor: str | None,
        action: str,
        outcome: str,
        account_id: str | None = None,
        detail: str | None = None,
        via: str = "command",
        chat_id: str | None = None,
        facts: Mapping[str, object] | None = None,
        at: datetime | None = None,
    ) -> None:
        """One entry: `action`, `outcome` and `detail` are codes for machines; `facts` what its
        sentence tells; `at` when the act began (now when not given; the audit is read in this
        order). The account's owner, as the records name them now, is kept with it."""
        facts = dict(facts or {})
        if account_id and "owner" not in facts:
            owner = self._owner(account_id)
            if owner is not None:
                facts["owner"] = owner
        self._database.run(
            audit.insert().values(
                at=to_iso(at or utcnow()),
                actor=actor,
                action=action,
                account_id=account_id,
                outcome=outcome,
                detail=detail,
                via=via,
                chat_id=chat_id,
                facts=json.dumps(facts, ensure_ascii=False, default=str) if facts else None,
            )
        )

    def _owner(self, account_id: str) -> dict[str, str] | None:
        """The referrer's names (each language, the other when one is missing), else the
        contact the account was registered with; None when the records know neither."""
        row = self._database.run(
            sa.select(accounts.c.referrer, accounts.c.contact).where(
                accounts.c.account_id == account_id
            )
        ).first()
        if row is None:
            return None
        referrer = json.loads(row[0]) if row[0] else {}
        en, zh = referrer.get("name_en"), referrer.get("name_zh")
        if en or zh:
            return {"en": en or zh, "zh": zh or en}
        return {"en": row[1], "zh": row[1]} if row[1] else None

    def entries(self) -> list[dict]:
        """Every entry, in the order of their acts."""
        return [
            dict(row)
            for row in self._database.rows(sa.select(audit).order_by(audit.c.at, audit.c.id))
        ]


class Welcomes:
    """The usage card goes to each person once, the first time they open the chat."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def take(self, open_id: str, event_id: str) -> bool:
        """True when this event is the one that welcomes the person (first, or its retry)."""
        database = self._database
        row = {"open_id": open_id, "event_id": event_id, "at": to_iso(utcnow())}
        database.run(engines.insert_ignore(database.engine, welcomed, row))
        first = database.scalar(sa.select(welcomed.c.event_id).where(welcomed.c.open_id == open_id))
        return first == event_id
