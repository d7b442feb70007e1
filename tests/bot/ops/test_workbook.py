"""Excel workbook exports (`bot.ops.workbook`, `referral-bot export --format xlsx`), read back with
openpyxl as Excel and WPS would read them."""

from __future__ import annotations

import io
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from bot.cli import main
from bot.domain.accounts import Account, AccountStatus, Cash, Referrer
from bot.ops.exports import COLUMNS, Written, write
from bot.records.store import AccountBook, AuditLog, Database
from tests.bot.ops import test_exports as csv_exports
from tests.bot.ops.test_exports import FORMULA, HOSTILE, SEEN, ZONE, hostile_seed, seed

# The CSV tests' records and settings, for the same checks on a workbook.
database = csv_exports.database
cli_env = csv_exports.cli_env

LONG_ID = "6918170000000000001"  # 19 digits: as a number Excel keeps 15 of them
LOCAL_SEEN = datetime(2026, 11, 22, 9, 0)


def seed_long_id(database: Database) -> None:
    """A 19-digit account with cash in two currencies, registered by someone who holds an
    account of their own (so the records know their name)."""
    AccountBook(database).remember(
        Account(
            LONG_ID,
            AccountStatus.ENABLED,
            points=2500,
            cash=(Cash("CNY", Decimal("1234567.8")), Cash("USD", Decimal("0.5"))),
            referrer=Referrer("ou_chen", "陈静", "Chen Jing"),
        ),
        seen_at=SEEN,
        contact="chen.jing@open.com",
        registered_by="ou_hire",  # 张三, the referrer of 6900001 in `seed`
    )


def workbook(kind: str, database: Database, **kw) -> tuple[openpyxl.Workbook, Written]:
    out = io.BytesIO()
    written = write(kind, database, ZONE, out, format="xlsx", **kw)
    return openpyxl.load_workbook(io.BytesIO(out.getvalue())), written


def table(book: openpyxl.Workbook) -> list[dict[str, openpyxl.cell.Cell]]:
    """The sheet's rows as {header: cell}."""
    rows = list(book.active.iter_rows())
    names = [c.value for c in rows[0]]
    return [dict(zip(names, row, strict=True)) for row in rows[1:]]


def assert_no_formula(book: openpyxl.Workbook) -> None:
    for row in book.active.iter_rows():
        for c in row:
            assert c.data_type != "f", (c.coordinate, c.value)
            if c.data_type == "s":
                assert not str(c.value).startswith(("=", "+", "-", "@", "\t", "\r")), c.value


def test_ids_are_text_money_numbers_times_dates(database: Database):
    seed(database)
    seed_long_id(database)
    book, written = workbook("accounts", database)
    sheet = book.active
    assert sheet.title == "accounts" and sheet.freeze_panes == "A2"
    header = [c.value for c in next(sheet.iter_rows())]
    assert header[0] == "account_id" and len(header) == len(COLUMNS["accounts"])
    assert "registered_at (Asia/Shanghai)" in header and "last_seen_at (Asia/Shanghai)" in header
    assert all(c.font.b for c in next(sheet.iter_rows()))

    rows = table(book)
    assert written == Written(records=3, rows=5) and len(rows) == 5
    long = [r for r in rows if r["account_id"].value == LONG_ID]
    assert len(long) == 2
    for row in rows:
        assert row["account_id"].data_type == "s" and isinstance(row["account_id"].value, str)
    first, second = long
    assert first["points"].value == 2500 and first["points"].data_type == "n"
    assert second["points"].value is None  # points once per account, so a sum counts it once
    assert (first["cash_currency"].value, first["cash_amount"].value) == ("CNY", 1234567.8)
    assert first["cash_amount"].number_format == "#,##0.00"
    assert (second["cash_currency"].value, second["cash_amount"].value) == ("USD", 0.5)
    assert first["last_seen_at (Asia/Shanghai)"].value == LOCAL_SEEN
    assert first["last_seen_at (Asia/Shanghai)"].is_date
    assert first["registered_by"].value == "张三"
    assert first["registered_by_open_id"].value == "ou_hire"
    assert first["referrer_name_zh"].value == "陈静" and first["status"].value == "enabled"
    widths = {k: v.width for k, v in sheet.column_dimensions.items()}
    assert widths["A"] >= len(LONG_ID) and all(8 <= w <= 60 for w in widths.values())
    assert_no_formula(book)


def test_withdrawals_and_audit_as_workbooks(database: Database):
    seed(database)
    book, written = workbook("withdrawals", database)
    (row,) = table(book)
    assert written == Written(1, 1)
    assert row["withdrawal_id"].value == 1 and row["order_id"].data_type == "s"
    assert row["order_id"].value.startswith("rb-") and row["state"].value == "withdrawn"
    assert (row["points"].value, row["cash_amount"].value) == (1000, 250.5)
    assert row["paid_at (Asia/Shanghai)"].value == LOCAL_SEEN

    book, written = workbook("audit", database)
    (entry,) = table(book)
    assert written == Written(1, 1)
    assert (entry["actor"].value, entry["action"].value, entry["account_id"].value) == (
        "ou_admin",
        "show",
        "6900001",
    )
    assert isinstance(entry["at (Asia/Shanghai)"].value, datetime)


def test_formulas_errors_and_control_characters_stay_text(database: Database):
    hostile_seed(database)
    log = AuditLog(database)
    log.record(actor="ou_admin", action="find", outcome="#N/A", detail="a\x00b\x1bc\td")
    (account,) = table(workbook("accounts", database)[0])
    assert account["referrer_name_zh"].value == "'" + FORMULA
    assert account["referrer_mobile"].value == "'-2+3"
    assert account["registered_with"].value == "'\t=1+1"
    # Numbers stay numbers, a negative amount included.
    assert (account["points"].value, account["cash_amount"].value) == (-5, -5)
    (withdrawal,) = table(workbook("withdrawals", database)[0])
    assert withdrawal["error"].value == "'-Feishu said =no"
    audit, _ = workbook("audit", database)
    hostile, odd = table(audit)
    # XML reads a carriage return back as a line feed; the `'` is what matters.
    assert hostile["detail"].value in ("'" + HOSTILE["detail"], "'\n=1+1")
    assert hostile["outcome"].value == "'=1+1"
    # "#N/A" is what someone typed, not Excel's error value; an .xlsx cannot hold \x00.
    assert odd["outcome"].value == "#N/A" and odd["outcome"].data_type == "s"
    assert odd["detail"].value == "a\ufffdb\ufffdc\td"
    for book in (workbook(kind, database)[0] for kind in ("accounts", "withdrawals")):
        assert_no_formula(book)
    assert_no_formula(audit)


def test_empty_tables_give_a_header_row(tmp_path: Path):
    database = Database(str(tmp_path / "empty.db"))
    try:
        for kind in ("accounts", "withdrawals", "audit"):
            book, written = workbook(kind, database)
            assert written == Written(0, 0)
            rows = list(book.active.iter_rows(values_only=True))
            assert len(rows) == 1 and rows[0][0] == COLUMNS[kind][0]
    finally:
        database.close()


def test_a_named_lookup_fills_in_whom_the_records_cannot_name(database: Database):
    seed(database)  # 6900001 registered by ou_admin, who holds no account
    asked: list[str] = []

    def ask(open_id: str) -> str | None:
        asked.append(open_id)
        return "李华" if open_id == "ou_admin" else None

    from bot.ops.export_names import Names

    rows = table(workbook("accounts", database, names=Names(database, ask))[0])
    assert [r["registered_by"].value for r in rows] == ["李华", "李华", None]
    assert [r["registered_by_open_id"].value for r in rows] == ["ou_admin", "ou_admin", None]
    assert asked == ["ou_admin"]  # once per person
    rows = table(workbook("accounts", database)[0])  # the records alone: the open_id
    assert rows[0]["registered_by"].value == "ou_admin"


def test_names_stop_asking_after_the_limit(database: Database):
    from bot.ops.export_names import Names

    names = Names(database, lambda open_id: f"name of {open_id}", asks=2)
    assert [names(f"ou_{i}") for i in range(3)] == ["name of ou_0", "name of ou_1", "ou_2"]
    assert names(None) == ""


def test_cli_xlsx_to_a_file_and_to_standard_output(
    cli_env: Database,
    tmp_path: Path,
    capsysbinary,
):
    seed_long_id(cli_env)
    hostile_seed(cli_env)
    assert main(["export", "accounts", "--format", "xlsx", "--out", "a.xlsx"]) == 0
    assert capsysbinary.readouterr() == (b"", b"")
    book = openpyxl.load_workbook(tmp_path / "a.xlsx")
    ids = [c.value for c in book.active["A"][1:]]
    assert LONG_ID in ids and all(isinstance(i, str) for i in ids)
    assert_no_formula(book)
    money = [r["cash_amount"] for r in table(book) if r["cash_amount"].value is not None]
    assert money and all(c.data_type == "n" for c in money)

    assert main(["export", "audit", "--format", "xlsx"]) == 0
    out, err = capsysbinary.readouterr()
    assert err == b"" and out.startswith(b"PK")  # a zip: the workbook, byte for byte
    assert len(table(openpyxl.load_workbook(io.BytesIO(out)))) == 2
    assert main(["export", "audit", "--format", "csv"]) == 0
    assert capsysbinary.readouterr().out.startswith(b"\xef\xbb\xbfid,at,")


def test_cli_refuses_a_workbook_onto_a_terminal(
    cli_env: Database,
    monkeypatch,
    capsysbinary,
):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["export", "accounts", "--format", "xlsx"]) == 2
    out, err = capsysbinary.readouterr()
    assert out == b""
    assert (
        err == b"referral-bot: a workbook is binary: give --out FILE or redirect standard output\n"
    )


def test_cli_refuses_an_unknown_format(cli_env: Database, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["export", "accounts", "--format", "ods"])
    assert exit_.value.code == 2 and "invalid choice: 'ods'" in capsys.readouterr().err
