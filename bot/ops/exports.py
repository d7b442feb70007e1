"""The bot's records as files for finance and HR: `referral-bot export` and `/referral export`.

Two formats from the same rows. CSV, for machines (the CLI's default): UTF-8 with a byte-order
mark (Excel and WPS otherwise show Chinese as mojibake), one header row in English, every time
in the configured zone as "2026-11-22 09:00:00 +08:00", money as a plain decimal with two places
("300.00") next to its currency code. An Excel workbook (`bot/ops/workbook.py`), for people (the
chat's format): IDs as text cells, so a 19-digit account ID keeps its digits, money and points
as numbers, times as dates.

Points and cash, in accounts and in withdrawals, are one row per currency: an account (or a
withdrawal) with CNY and USD cash is two rows, and only its first row carries `points` (the
others leave it empty), so `SUM(points)` counts each account once and `SUMIF(cash_currency,
"CNY", cash_amount)` adds up the yuan. An account without cash is one row with the currency
and amount empty. Withdrawals show what Feishu paid out once a request is `withdrawn`, and what
was asked for otherwise: finance sums the rows whose `state` is `withdrawn`. The audit keeps its
codes (`action`, `outcome`, `detail`) for machines, and beside them the entry as an English
`sentence` for people.

Rows are built from typed values (text, int, Decimal, an aware datetime in the zone, None), read
through a database cursor and written as they come: a large table is never held in memory.
Every text goes through `bot.ops.cells.neutralise`: text that a spreadsheet would take for a
formula (a name starting with `=`) is neutralised, numbers are written as numbers.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import BinaryIO
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.domain.accounts import to_cents
from bot.ops.cells import Value, cell, cells
from bot.ops.export_names import Ask, Names
from bot.records.engines import insertion_order
from bot.records.schema import accounts, audit, referrals, rewards, withdrawals
from bot.records.store import Database
from cards.audit_sentences import PLAIN, sentence

KINDS = ("accounts", "withdrawals", "audit", "rewards", "referrals")
FORMATS = ("csv", "xlsx")
STATUS_WORDS = {1: "enabled", 2: "disabled"}

ACCOUNT_COLUMNS = (
    "account_id",
    "status",
    "referrer_name_zh",
    "referrer_name_en",
    "referrer_open_id",
    "referrer_email",
    "referrer_mobile",
    "registered_with",
    "registered_by",  # a name, when one is known (bot/ops/export_names.py)
    "registered_by_open_id",
    "registered_at",
    "last_seen_at",
    "points",
    "cash_currency",
    "cash_amount",
)
WITHDRAWAL_COLUMNS = (
    "withdrawal_id",
    "account_id",
    "referrer_name_zh",
    "referrer_name_en",
    "kind",
    "state",
    "requested_by",
    "requested_at",
    "approved_by",
    "approved_at",
    "decided_by",
    "order_id",
    "paid_at",
    "points",
    "cash_currency",
    "cash_amount",
    "error",
)
AUDIT_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "account_id",
    "outcome",
    "detail",
    "via",
    "chat_id",
    "sentence",
)
REWARD_COLUMNS = (
    "reward_id",
    "state",
    "referrer_open_id",
    "referrer_name_zh",
    "referrer_name_en",
    "account_id",
    "application_id",
    "candidate",
    "job",
    "rule_type",
    "reason",
    "requested_by",
    "requested_at",
    "approved_by",
    "approved_at",
    "decided_by",
    "external_id",
    "feishu_reward_id",
    "points",
    "cash_currency",
    "cash_amount",
    "error",
)
REFERRAL_COLUMNS = (
    "application_id",
    "referral_id",
    "referrer_open_id",
    "referrer_name_zh",
    "referrer_name_en",
    "candidate",
    "job_id",
    "job",
    "stage",
    "stage_type",
    "status",
    "stage_since_at",
    "recorded_at",
)
COLUMNS = {
    "accounts": ACCOUNT_COLUMNS,
    "withdrawals": WITHDRAWAL_COLUMNS,
    "audit": AUDIT_COLUMNS,
    "rewards": REWARD_COLUMNS,
    "referrals": REFERRAL_COLUMNS,
}


# Who an open_id is, by name, else the open_id; by default `Names`: as the records know them.
NameOf = Callable[[str | None], str]


@dataclass(frozen=True)
class Written:
    """What a file holds: records (accounts, withdrawals, audit entries) and the rows they
    took (an account with cash in two currencies is two rows)."""

    records: int
    rows: int


def write(
    kind: str,
    database: Database,
    zone: str,
    out: BinaryIO,
    *,
    format: str = "csv",
    names: NameOf | None = None,
) -> Written:
    """Write the `kind` table (accounts, withdrawals or audit) in `format` to `out`."""
    if format not in FORMATS:
        raise ValueError(f"cannot write {format!r}: choose one of {', '.join(FORMATS)}")
    if format == "xlsx":
        from bot.ops.workbook import write_xlsx  # openpyxl is loaded only for a workbook

        return write_xlsx(kind, database, zone, out, names=names)
    return write_csv(kind, database, zone, out, names=names)


def write_csv(
    kind: str, database: Database, zone: str, out: BinaryIO, *, names: NameOf | None = None
) -> Written:
    """Write the `kind` table as CSV bytes to `out`."""
    records = rows_of(kind, database, zone, names)
    out.write(codecs.BOM_UTF8)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        writer.writerow(COLUMNS[kind])
        count = lines = 0
        for rows in records:
            writer.writerows(cells(row) for row in rows)
            count += 1
            lines += len(rows)
        text.flush()
    finally:
        text.detach()  # leave `out` open: it is the caller's
    return Written(count, lines)


def rows_of(
    kind: str, database: Database, zone: str, names: NameOf | None = None
) -> Iterator[list[Row]]:
    """Each record's rows, one record at a time, in the order of `COLUMNS[kind]`."""
    if kind not in KINDS:
        raise ValueError(f"cannot export {kind!r}: choose one of {', '.join(KINDS)}")
    return _records(kind, database, ZoneInfo(zone), names or Names(database))


def moment(iso: str | None, tz: ZoneInfo) -> datetime | None:
    """A stored UTC ISO time as an aware datetime in the zone; None for none."""
    if not iso:
        return None
    stored = datetime.fromisoformat(iso)
    if stored.tzinfo is None:
        stored = stored.replace(tzinfo=UTC)
    return stored.astimezone(tz)


def local_time(iso: str | None, tz: ZoneInfo) -> str:
    """A stored UTC ISO time as "2026-11-22 09:00:00 +08:00" in the zone; "" for none."""
    return cell(moment(iso, tz))


Row = list[Value]


def _records(kind: str, database: Database, tz: ZoneInfo, names: NameOf) -> Iterator[list[Row]]:
    if kind == "accounts":
        order = insertion_order(accounts, database.engine)  # as the records list them
        return (_account_rows(row, tz, names) for row in _rows(database, accounts, order))
    if kind == "withdrawals":
        return _withdrawals(database, tz)
    if kind == "rewards":
        return _rewards(database, tz)
    if kind == "referrals":
        order = insertion_order(referrals, database.engine)
        return ([_referral_row(row, tz)] for row in _rows(database, referrals, order))
    return ([_audit_row(row, tz)] for row in _rows(database, audit, audit.c.at, audit.c.id))


def _rows(database: Database, table: sa.Table, *order: sa.ColumnElement) -> Iterator[dict]:
    return (dict(row) for row in database.rows(sa.select(table).order_by(*order)))


def _withdrawals(database: Database, tz: ZoneInfo) -> Iterator[list[Row]]:
    query = (
        sa.select(withdrawals, accounts.c.referrer.label("account_referrer"))
        .select_from(
            withdrawals.outerjoin(accounts, accounts.c.account_id == withdrawals.c.account_id)
        )
        .order_by(withdrawals.c.id)
    )
    for row in database.rows(query):
        yield _withdrawal_rows(dict(row), tz)


def _account_rows(row: dict, tz: ZoneInfo, names: NameOf) -> list[Row]:
    referrer = json.loads(row["referrer"]) if row.get("referrer") else {}
    known = row["status"] is not None
    head: Row = [
        row["account_id"],
        STATUS_WORDS.get(row["status"], "") if known else "",
        referrer.get("name_zh") or "",
        referrer.get("name_en") or "",
        referrer.get("id") or "",
        referrer.get("email") or "",
        referrer.get("mobile") or "",
        row.get("contact") or "",
        names(row.get("registered_by")),
        row.get("registered_by") or "",
        moment(row.get("registered_at"), tz),
        moment(row.get("seen_at"), tz),
    ]
    points = (row["points"] or 0) if known else None
    return _with_cash(head, points, _cash(row.get("cash")))


def _withdrawal_rows(row: dict, tz: ZoneInfo) -> list[Row]:
    referrer = json.loads(row["account_referrer"]) if row.get("account_referrer") else {}
    withdrawn = row["state"] == "withdrawn"
    points = row["withdrawn_points"] if withdrawn else row["points"]
    cash = _cash(row["withdrawn_cash"] if withdrawn else row["cash"])
    head: Row = [
        row["id"],
        row["account_id"] or "",
        referrer.get("name_zh") or "",
        referrer.get("name_en") or "",
        row["kind"] or "",
        row["state"] or "",
        row["requested_by"] or "",
        moment(row["requested_at"], tz),
        row["approved_by"] or "",
        moment(row["approved_at"], tz),
        row["decided_by"] or "",
        row["order_id"] or "",
        moment(row["trans_time"], tz),
    ]
    rows = _with_cash(head, points or 0, cash)
    return [[*r, row["error"] or ""] for r in rows]


def _rewards(database: Database, tz: ZoneInfo) -> Iterator[list[Row]]:
    """A reward is one row: points, or one currency's cash."""
    query = (
        sa.select(
            rewards,
            referrals.c.talent_name,
            referrals.c.job_name,
            referrals.c.referrer_name_zh,
            referrals.c.referrer_name_en,
        )
        .select_from(
            rewards.outerjoin(referrals, referrals.c.application_id == rewards.c.application_id)
        )
        .order_by(rewards.c.id)
    )
    for row in database.rows(query):
        points = int(Decimal(row["amount"])) if row["unit"] == "points" else None
        currency = row["unit"] if row["unit"] != "points" else ""
        yield [
            [
                row["id"],
                row["state"] or "",
                row["referrer_open_id"] or "",
                row["referrer_name_zh"] or "",
                row["referrer_name_en"] or "",
                row["account_id"] or "",
                row["application_id"] or "",
                row["talent_name"] or "",
                row["job_name"] or "",
                row["rule_type"],
                row["reason"] or "",
                row["requested_by"] or "",
                moment(row["requested_at"], tz),
                row["approved_by"] or "",
                moment(row["approved_at"], tz),
                row["decided_by"] or "",
                row["external_id"] or "",
                row["reward_id"] or "",
                points,
                currency,
                Decimal(row["amount"]) if currency else None,
                row["error"] or "",
            ]
        ]


def _referral_row(row: dict, tz: ZoneInfo) -> Row:
    return [
        row["application_id"],
        row["referral_id"] or "",
        row["referrer_open_id"] or "",
        row["referrer_name_zh"] or "",
        row["referrer_name_en"] or "",
        row["talent_name"] or "",
        row["job_id"] or "",
        row["job_name"] or "",
        row["stage_en"] or row["stage_zh"] or "",
        row["stage_type"],
        "in process" if row["active"] else "ended",
        moment(row["since"], tz),
        moment(row["recorded_at"], tz),
    ]


def _audit_row(row: dict, tz: ZoneInfo) -> Row:
    return [
        row["id"],
        moment(row["at"], tz),
        row["actor"] or "",
        row["action"] or "",
        row["account_id"] or "",
        row["outcome"] or "",
        row["detail"] or "",
        row["via"] or "",
        row["chat_id"] or "",
        sentence(row, PLAIN).en,
    ]


def _cash(text: str | None) -> list[tuple[str, Decimal]]:
    """Stored cash JSON ([["CNY", "300.0"], ...]) as (currency, Decimal("300.00")), by
    currency."""
    entries = json.loads(text or "[]")
    return sorted((str(cur), to_cents(amount)) for cur, amount in entries)


def _with_cash(head: Row, points: int | None, cash: Iterable[tuple[str, Decimal]]) -> list[Row]:
    """One row per currency, points on the first only; one row with no cash when none."""
    rows: list[Row] = [
        [*head, points if i == 0 else None, cur, amount] for i, (cur, amount) in enumerate(cash)
    ]
    return rows or [[*head, points, None, None]]


def latest_audit(database: Database, account_id: str | None = None, limit: int = 20) -> list[dict]:
    """The newest audit entries first, for one account when given (the `/referral audit`
    card reads the same table as the audit export)."""
    where = [audit.c.account_id == account_id] if account_id else []
    query = sa.select(audit).where(*where).order_by(audit.c.at.desc(), audit.c.id.desc())
    return [dict(row) for row in database.rows(query.limit(limit))]


class RecordExports:
    """The records as the chat commands read them (`Services.exports`): an export, or the
    audit's latest entries, each on a database connection of its own, closed when done, so a
    long export never holds the serving bot's."""

    def __init__(self, db_path: str) -> None:
        self._db_path = db_path

    def write(
        self, kind: str, zone: str, out: BinaryIO, *, format: str, ask: Ask | None = None
    ) -> Written:
        """`write` of the `kind` table; people the records cannot name are asked of `ask`."""
        database = Database(self._db_path)
        try:
            return write(kind, database, zone, out, format=format, names=Names(database, ask))
        finally:
            database.close()

    def latest_audit(self, account_id: str | None = None, limit: int = 20) -> list[dict]:
        database = Database(self._db_path)
        try:
            return latest_audit(database, account_id, limit)
        finally:
            database.close()
