"""The record commands: `export` sends the records as an Excel workbook into the chat (the
records of `referral-bot export --format xlsx`: people open a chat's file in Excel or WPS, which
would turn a 19-digit account ID in a CSV into 6.91817E+18), and `audit` shows the latest audit
entries.

Both read the records through `Services.exports` (a database connection of their own, closed
when done); the export streams to a temporary file, so a large table is never held in memory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.feishu.openapi import OpenApiError
from cards.audit import audit_card, export_card
from cards.error import error_card
from cards.text import Text
from handlers import parser
from handlers.asker import Answer, Asker
from handlers.audit_trail import Act
from handlers.people import lookup
from handlers.registry import command
from handlers.services import Services

LATEST = 20
MAX_FILE_BYTES = 30 * 1024 * 1024  # Feishu's upload limit
# Feishu's upload takes spreadsheets, .xls and .xlsx alike, as file_type "xls".
XLSX_FILE_TYPE = "xls"
EXPORTS = ("accounts", "withdrawals", "audit", "rewards", "referrals")


@dataclass(frozen=True)
class Audit:
    """The latest audit entries, for one account when named."""

    who: parser.Who | None = None


@dataclass(frozen=True)
class Export:
    what: str  # accounts | withdrawals | audit | rewards | referrals


def parse_export(args: list[str], usage: str) -> Export:
    if len(args) != 1 or args[0].lower() not in EXPORTS:
        raise parser.UsageError(
            Text(
                "Say what to export: accounts, withdrawals, audit, rewards or referrals.",
                "请指明要导出的内容：accounts（账户）、withdrawals（提取）、audit（审计）、"
                "rewards（奖励）或 referrals（内推）。",
            ),
            usage,
        )
    return Export(args[0].lower())


@command("/referral audit [<who>]", parse=parser.optional_naming(Audit))
def audit(services: Services, asker: Asker, command: Audit) -> Answer:
    """The latest audit entries
    最近的审计记录"""
    account_id = lookup.optional_account(services, asker.mentions, command.who)
    entries = services.exports.latest_audit(account_id, LATEST)
    card = audit_card(entries, zone=services.settings.digest_tz, account_id=account_id)
    return Answer(card, account_id=account_id, track=False)


@command("/referral export accounts|withdrawals|audit|rewards|referrals", parse=parse_export)
def export(services: Services, asker: Asker, command: Export) -> Answer:
    """The records as an Excel workbook, here
    以 Excel 工作簿导出记录到此会话"""
    zone = services.settings.digest_tz
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    file_name = f"referral-{command.what}-{today.isoformat()}.xlsx"
    handle, path = tempfile.mkstemp(prefix="referral-export-", suffix=".xlsx")
    try:
        with os.fdopen(handle, "wb") as stream:
            written = services.exports.write(
                command.what, zone, stream, format="xlsx", ask=_contact_name(services)
            )
        if os.path.getsize(path) > MAX_FILE_BYTES:
            return Answer(_too_large(command.what), track=False)
        # The event's id makes a retried run post the file message once.
        uuid = f"export-{asker.event_id}" if asker.event_id else None
        message_id = services.messenger.send_file(
            asker.chat_id, path, file_name, file_type=XLSX_FILE_TYPE, uuid=uuid
        )
    finally:
        os.unlink(path)
    act = Act(
        "ok",
        f"{command.what}: {written.records} records in {written.rows} rows as {file_name}"
        f" (message {message_id})",
        {"what": command.what, "count": written.records, "file": file_name},
    )
    card = export_card(command.what, written.records, file_name, rows=written.rows, zone=zone)
    return Answer(card, track=False, act=act)


def _contact_name(services: Services) -> Callable[[str], str | None]:
    """Asks the contact API for the name of someone the records cannot name; after one
    failure (outside the contact range, no name scope, Feishu not answering) it stops asking,
    and the file shows open_ids: the export is not held up for names."""
    failed = False

    def ask(open_id: str) -> str | None:
        nonlocal failed
        if failed:
            return None
        try:
            return services.contacts.person(open_id).name
        except OpenApiError:
            failed = True
            return None

    return ask


def _too_large(what: str) -> dict:
    return error_card(
        Text("Too large to send", "文件过大"),
        Text(
            f"The {what} file is over Feishu's 30 MB limit for files. "
            f"Run `referral-bot export {what}` on the bot's server instead.",
            f"{what} 文件超过飞书 30 MB 的文件上限，请在机器人所在服务器上运行 "
            f"`referral-bot export {what}`。",
        ),
    )
