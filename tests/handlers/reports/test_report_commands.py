"""`/referral export` (an Excel workbook) and `/referral audit` over real HTTP, through the
emulator."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import openpyxl
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


def registered_account(lark: Feishu, emulator, bot) -> str:
    """An account the admin registered, with 1200 points and cash in CNY and USD."""
    assert "Account registered" in card_text(lark.ask("/referral register hire@open.com").content)
    (record,) = bot.services.accounts.all()
    emulator.add_bonus(record.account_id, points=1200, cash={"CNY": "300", "USD": "12.5"})
    assert "300.00" in card_text(lark.ask(f"/referral show {record.account_id}").content)
    return record.account_id


def file_messages(emulator, chat_id: str = "oc_hr"):
    return [m for m in emulator.messages_in(chat_id) if m.msg_type == "file"]


def cli_export(bot, what: str, monkeypatch, capsysbinary, *args: str) -> bytes:
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
    assert main(["export", what, *args]) == 0
    return capsysbinary.readouterr().out


def sheet_rows(data: bytes) -> list[dict]:
    """A workbook's one sheet as {header: value} rows."""
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_export_sends_a_workbook_with_the_cli_records(
    lark: Feishu, emulator, bot, monkeypatch, capsysbinary
):
    from bot.emulator import Employee

    emulator.add_employee(Employee(open_id=ADMIN, email="li.hua@open.com", name_zh="李华"))
    account_id = registered_account(lark, emulator, bot)  # cash in CNY and USD: two rows
    reply = lark.ask("/referral export accounts")

    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date().isoformat()
    file_name = f"referral-accounts-{today}.xlsx"
    (message,) = file_messages(emulator)
    name, data = emulator.file(message.content["file_key"])
    assert name == file_name
    (upload,) = emulator.calls_for("file_upload")
    assert upload.body["file_type"] == "xls" and upload.body["file_name"] == file_name

    book = openpyxl.load_workbook(io.BytesIO(data))
    cells = [c for row in book.active.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    rows = sheet_rows(data)
    assert [r["account_id"] for r in rows] == [account_id, account_id]
    assert isinstance(account_id, str) and len(account_id) >= 16  # text, digits kept
    assert [(r["cash_currency"], r["cash_amount"]) for r in rows] == [("CNY", 300), ("USD", 12.5)]
    assert rows[0]["referrer_name_zh"] == "张三" and rows[0]["points"] == 1200
    assert isinstance(rows[0]["last_seen_at (Asia/Shanghai)"], datetime)
    # Whoever registered it is named: the records hold no name for the admin, Feishu does.
    assert rows[0]["registered_by"] == "李华" and rows[0]["registered_by_open_id"] == ADMIN
    # The records of `referral-bot export --format xlsx`, which names only whom they know.
    cli = sheet_rows(cli_export(bot, "accounts", monkeypatch, capsysbinary, "--format", "xlsx"))
    assert [{**r, "registered_by": None} for r in cli] == [
        {**r, "registered_by": None} for r in rows
    ]
    assert cli[0]["registered_by"] == ADMIN

    text = card_text(reply.content)
    assert "Export sent" in text and file_name in text
    assert "1 account, 2 rows: one per currency. Excel workbook; times in Asia/Shanghai." in text
    assert "1 个账户，2 行（每种币种一行）" in card_text_zh(reply.content)
    assert "导出已发送" in card_text_zh(reply.content)

    # One act, one entry: the export, with what it sent.
    entries = bot.services.audit.entries()
    assert [e["action"] for e in entries] == ["register", "show", "export"]
    assert entries[-1]["outcome"] == "ok" and entries[-1]["actor"] == ADMIN
    assert "accounts: 1 records in 2 rows" in entries[-1]["detail"]


def test_export_names_with_the_open_id_when_feishu_cannot(lark: Feishu, emulator, bot):
    """The admin is not in the directory: the file still comes, with the open_id."""
    registered_account(lark, emulator, bot)
    lark.ask("/referral export accounts")
    (message,) = file_messages(emulator)
    (first, _) = sheet_rows(emulator.file(message.content["file_key"])[1])
    assert first["registered_by"] == first["registered_by_open_id"] == ADMIN
    assert len(emulator.calls_for("contact_user_get")) == 1  # asked once, for the admin


def test_export_of_empty_withdrawals_is_a_header_only_workbook(lark: Feishu, emulator):
    reply = lark.ask("/referral export withdrawals")
    (message,) = file_messages(emulator)
    _, data = emulator.file(message.content["file_key"])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    ((first, *_),) = sheet.iter_rows(values_only=True)
    assert first == "withdrawal_id"
    assert ": 0 withdrawals. Excel workbook" in card_text(reply.content)


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
    # The zone is named once, in the footer, not after every entry's time.
    assert text.count("Asia/Shanghai") == 1 and "Times in Asia/Shanghai" in text
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
    assert "/referral export accounts|withdrawals|audit|rewards|referrals" in text
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
    books = [
        openpyxl.load_workbook(io.BytesIO(emulator.file(m.content["file_key"])[1]))
        for m in file_messages(emulator)
    ]
    accounts, withdrawals, audit = (sheet_rows_of(book) for book in books)
    (account,) = accounts
    assert account["referrer_name_zh"] == account["referrer_name_en"] == "'" + formula
    assert (account["points"], account["cash_amount"]) == (5, 3)  # numbers stay numbers
    (withdrawal,) = withdrawals
    assert withdrawal["referrer_name_en"] == "'" + formula and withdrawal["cash_amount"] == 3
    (leaver,) = [e for e in audit if e["action"] == "leaver"]
    assert leaver["detail"].startswith("'" + formula)
    for book in books:
        for row in book.active.iter_rows():
            for c in row:
                assert c.data_type != "f", (c.coordinate, c.value)
                if isinstance(c.value, str):
                    assert not c.value.startswith(("=", "+", "-", "@", "\t", "\r")), c.value


def sheet_rows_of(book: openpyxl.Workbook) -> list[dict]:
    header, *rows = book.active.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]
