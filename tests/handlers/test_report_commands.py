"""`/referral export` and `/referral audit` over real HTTP, through the emulator."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from tests.conftest import (
    ADMIN,
    OUTSIDER,
    VERIFICATION_TOKEN,
    Feishu,
    card_text,
    card_text_zh,
    wait_for,
)

ZONE = "Asia/Shanghai"


def known_account(lark: Feishu, emulator) -> str:
    account_id = emulator.create_account("ou_hire")
    emulator.add_bonus(account_id, points=1200, cash={"CNY": "300", "USD": "12.5"})
    assert "300.00" in card_text(lark.ask(f"/referral show {account_id}").content)
    return account_id


def file_messages(emulator, chat_id: str = "oc_hr"):
    return [m for m in emulator.messages_in(chat_id) if m.msg_type == "file"]


def cli_csv(bot, what: str, monkeypatch, capsysbinary) -> bytes:
    settings = bot.settings
    env = {
        "LARK_APP_ID": settings.app_id,
        "LARK_APP_SECRET": settings.app_secret,
        "LARK_ENCRYPT_KEY": settings.encrypt_key,
        "LARK_VERIFICATION_TOKEN": settings.verification_token,
        "REFERRAL_BOT_DB": settings.db_path,
        "REFERRAL_BOT_DIGEST_TZ": settings.digest_tz,
    }
    monkeypatch.delenv("REFERRAL_BOT_CONFIG", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    capsysbinary.readouterr()
    assert main(["export", what]) == 0
    return capsysbinary.readouterr().out


def test_export_sends_the_cli_csv_as_a_file(
    lark: Feishu, emulator, bot, tmp_path, monkeypatch, capsysbinary
):
    known_account(lark, emulator)
    reply = lark.ask("/referral export accounts")

    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date().isoformat()
    file_name = f"referral-accounts-{today}.csv"
    (message,) = file_messages(emulator)
    name, data = emulator.file(message.content["file_key"])
    assert name == file_name
    assert data.startswith(codecs.BOM_UTF8 + b"account_id,")
    assert "张三".encode() in data and b"300.00" in data and b"+08:00" in data
    assert data == cli_csv(bot, "accounts", monkeypatch, capsysbinary)

    text = card_text(reply.content)
    assert "Export sent" in text and file_name in text and "1 accounts" in text
    assert "导出已发送" in card_text_zh(reply.content)
    (upload,) = emulator.calls_for("file_upload")
    assert upload.body["file_type"] == "stream" and upload.body["file_name"] == file_name

    # One act, one entry: the export, with what it sent.
    entries = bot.services.audit.entries()
    assert [e["action"] for e in entries] == ["show", "export"]
    assert entries[-1]["outcome"] == "ok" and entries[-1]["actor"] == ADMIN
    assert "accounts: 1 records" in entries[-1]["detail"]


def test_export_of_empty_withdrawals_is_a_header_only_file(lark: Feishu, emulator):
    lark.ask("/referral export withdrawals")
    (message,) = file_messages(emulator)
    _, data = emulator.file(message.content["file_key"])
    assert data.startswith(codecs.BOM_UTF8 + b"withdrawal_id,") and data.count(b"\r\n") == 1


def test_a_retried_export_posts_one_file_message(lark: Feishu, emulator):
    event = lark.message("/referral export audit")
    assert lark.push(event).status == 200
    message_id = event["event"]["message"]["message_id"]
    lark.reply_to(message_id)
    assert lark.push(event).status == 200  # Feishu redelivers: de-duplicated
    assert len(file_messages(emulator)) == 1


def test_non_admin_is_refused_export_and_audit(lark: Feishu, emulator, bot):
    for command in ("export accounts", "audit"):
        reply = lark.ask(f"/referral {command}", open_id=OUTSIDER)
        assert "not allowed" in card_text(reply.content).lower()
    assert file_messages(emulator) == []
    assert emulator.calls_for("file_upload") == []
    refused = [e for e in bot.services.audit.entries() if e["outcome"] == "refused"]
    assert [e["action"] for e in refused] == ["export", "audit"]
    assert all(e["actor"] == OUTSIDER for e in refused)


def test_audit_card_newest_first(lark: Feishu, emulator, bot):
    account_id = known_account(lark, emulator)
    lark.ask("/referral find zhang")
    card = lark.ask("/referral audit").content
    text = card_text(card)
    assert "Audit trail" in text and "审计记录" in card_text_zh(card)
    assert text.index("searched the accounts") < text.index("opened the card of")  # newest
    assert f"<at id={ADMIN}></at> opened the card of Zhang San (`{account_id}`)" in text
    assert f"查看了 张三（`{account_id}`） 的账户卡片" in card_text_zh(card)
    assert "(Asia/Shanghai)" in text
    assert bot.services.audit.entries()[-1]["action"] == "audit"


def test_audit_for_one_account_by_email(lark: Feishu, emulator):
    account_id = known_account(lark, emulator)
    lark.ask("/referral find zhang")
    card = lark.ask("/referral audit hire@open.com").content
    text = card_text(card)
    assert account_id in text and "opened the card" in text and "searched" not in text


def test_audit_shows_the_last_20(lark: Feishu, bot):
    for i in range(30):
        bot.services.audit.record(actor=ADMIN, action=f"act{i:02d}", outcome="ok")
    card = lark.ask("/referral audit").content
    text = card_text(card)
    assert "act29" in text and "act10" in text and "act09" not in text
    assert "the latest 20 entries" in text


def test_audit_of_an_unknown_account_says_so(lark: Feishu, emulator):
    reply = lark.ask("/referral audit nobody@open.com")
    assert "nobody@open.com" in card_text(reply.content)
    assert file_messages(emulator) == []


@pytest.mark.parametrize("command", ["/referral export", "/referral export people"])
def test_export_usage(lark: Feishu, emulator, command: str):
    text = card_text(lark.ask(command).content)
    assert "/referral export accounts|withdrawals|audit" in text
    assert emulator.calls_for("file_upload") == []


def test_the_file_comes_before_its_receipt(lark: Feishu, emulator):
    reply = lark.ask("/referral export accounts")
    (message,) = file_messages(emulator)
    assert message.created_at <= reply.created_at


def test_chat_exports_neutralise_a_formula_in_a_referrer_or_leaver_name(
    lark: Feishu, emulator, bot
):
    """A referrer whose name is a formula asks for a withdrawal and leaves: the accounts and
    withdrawals files (the referrer's name) and the audit file (the leaver's name in the
    detail) open with it as text."""
    from bot.emulator import Employee

    formula = '=HYPERLINK("http://evil.example","x")'
    emulator.add_employee(
        Employee(open_id="ou_evil", email="evil@open.com", name_zh=formula, name_en=formula)
    )
    account_id = emulator.create_account("ou_evil")
    emulator.add_bonus(account_id, points=5, cash={"CNY": "3"})
    lark.ask(f"/referral show {account_id}")
    assert "Withdrawal request" in card_text(lark.ask(f"/referral withdraw {account_id}").content)
    event = emulator.user_deleted_event("ou_evil", token=VERIFICATION_TOKEN)
    assert lark.push(event).status == 200
    wait_for(
        lambda: any(e["action"] == "leaver" for e in bot.services.audit.entries()),
        what="the leaver audited",
    )
    for what in ("accounts", "withdrawals", "audit"):
        lark.ask(f"/referral export {what}")
    accounts, withdrawals, audit = (
        list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        for data in (emulator.file(m.content["file_key"])[1] for m in file_messages(emulator))
    )
    (account,) = accounts
    assert account["referrer_name_zh"] == account["referrer_name_en"] == "'" + formula
    assert (account["points"], account["cash_amount"]) == ("5", "3.00")  # numbers stay numbers
    (withdrawal,) = withdrawals
    assert withdrawal["referrer_name_en"] == "'" + formula and withdrawal["cash_amount"] == "3.00"
    (leaver,) = [e for e in audit if e["action"] == "leaver"]
    assert leaver["detail"].startswith("'" + formula)
    for row in [*accounts, *withdrawals, *audit]:
        for column, value in row.items():
            if column not in ("points", "cash_amount"):
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (column, value)
