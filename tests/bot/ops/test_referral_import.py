"""`referral-bot import --referrals FROM TO` and `export rewards|referrals`: the real CLI against
the emulator, into the records the bot serves from."""

from __future__ import annotations

import io
import sqlite3
from contextlib import closing
from pathlib import Path

import openpyxl
import pytest

from bot.cli import main
from bot.emulator import Emulator
from bot.records.referrals import ReferralBook
from bot.records.store import Database
from tests.conftest import ENCRYPT_KEY, VERIFICATION_TOKEN


@pytest.fixture
def cli(emulator: Emulator, tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REFERRAL_BOT_CONFIG", raising=False)
    db = tmp_path / "bot.db"
    for name, value in {
        "LARK_APP_ID": emulator.app_id,
        "LARK_APP_SECRET": emulator.app_secret,
        "LARK_ENCRYPT_KEY": ENCRYPT_KEY,
        "LARK_VERIFICATION_TOKEN": VERIFICATION_TOKEN,
        "LARK_DOMAIN": emulator.url,
        "REFERRAL_BOT_DB": str(db),
    }.items():
        monkeypatch.setenv(name, value)
    return db


def rows(db: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


def test_import_fills_in_past_referrals_once(cli: Path, emulator: Emulator, capsys):
    hired = emulator.add_referred_application(
        "ou_hire", talent_name="李四", job_name="Backend engineer"
    )
    emulator.move_application(hired, emulator.stage_id(7), token=VERIFICATION_TOKEN)
    emulator.add_referred_application("ou_other", talent_name="王五", job_name="QA")
    emulator.add_application(emulator.add_job("Ops"), emulator.add_talent("赵六"))  # no referral

    assert main(["import", "--referrals", "2020-01-01", "2035-12-31"]) == 0
    out = capsys.readouterr().out
    assert "3 applications updated in the window; 2 referrals recorded" in out
    referrals = dict(rows(cli, "SELECT talent_name, stage_type FROM referrals"))
    assert referrals == {"李四": 7, "王五": 1}
    assert len(emulator.calls_for("referral_get_by_application")) == 3
    assert len(emulator.calls_for("application_get_detail")) == 2
    # Nobody is told of the past.
    assert rows(cli, "SELECT COUNT(*) FROM referral_tellings") == [(0,)]
    assert emulator.messages == []

    assert main(["import", "--referrals", "2020-01-01", "2035-12-31"]) == 0  # again
    assert "0 referrals recorded" in capsys.readouterr().out
    assert len(emulator.calls_for("referral_get_by_application")) == 3  # asked once, ever
    assert rows(cli, "SELECT COUNT(*) FROM referral_stages") == [(2,)]


def test_import_refuses_bad_days(cli: Path, capsys):
    assert main(["import", "--referrals", "2026-13-01", "2026-12-31"]) == 2
    assert main(["import", "--referrals", "2026-12-31", "2026-01-01"]) == 2
    assert "first day comes after the last" in capsys.readouterr().err


def test_export_referrals_and_rewards(cli: Path, emulator: Emulator, capsysbinary):
    application_id = emulator.add_referred_application(
        "ou_hire", talent_name="=李四", job_name="Backend engineer"
    )
    assert main(["import", "--referrals", "2020-01-01", "2035-12-31"]) == 0
    database = Database(str(cli))
    book = ReferralBook(database)
    assert book.get(application_id) is not None
    from bot.domain.rewards import Amount
    from bot.records.rewards import RewardBook

    rewards = RewardBook(database)
    rewards.create(
        account_id="6900001",
        referrer_open_id="ou_hire",
        amount=Amount("CNY", __import__("decimal").Decimal("3000.00")),
        reason="Referral hired",
        requested_by="ou_admin",
        chat_id="oc_hr",
        application_id=application_id,
        rule_type=1,
    )
    database.close()
    capsysbinary.readouterr()
    assert main(["export", "referrals"]) == 0
    text = capsysbinary.readouterr().out.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("application_id,referral_id,referrer_open_id")
    assert f"{application_id}," in text and "'=李四" in text and "in process" in text
    assert main(["export", "rewards", "--format", "xlsx", "--out", "r.xlsx"]) == 0
    sheet = openpyxl.load_workbook(io.BytesIO((cli.parent / "r.xlsx").read_bytes())).active
    header, row = list(sheet.iter_rows(values_only=True))
    got = dict(zip(header, row, strict=True))
    assert got["application_id"] == application_id and got["cash_currency"] == "CNY"
    assert got["cash_amount"] == 3000 and got["state"] == "requested" and got["rule_type"] == 1
