"""The record commands: `export` sends the records as an Excel workbook into the chat (the
records of `referral-bot export --format xlsx`: people open a chat's file in Excel or WPS, which
would turn a 19-digit account ID in a CSV into 6.91817E+18), and `audit` shows the latest audit
entries.

Admins only (the command runner checks and audits the command, an export with what it sent).
Both read the records through a database connection of their own, closed when done; the export
streams to a temporary file, so a large table is never held in memory.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.feishu.openapi import OpenApiError
from bot.ops.export_names import Ask, Names
from bot.ops.exports import latest_audit, write
from bot.records.store import Database
from cards.audit import audit_card, export_card
from cards.error import error_card
from cards.text import Text
from handlers import parser, people
from handlers.audit_trail import Act
from handlers.registry import Asker, Reply, handles
from handlers.services import Services

LATEST = 20
MAX_FILE_BYTES = 30 * 1024 * 1024  # Feishu's upload limit
# Feishu's upload takes spreadsheets, .xls and .xlsx alike, as file_type "xls".
XLSX_FILE_TYPE = "xls"


@handles(parser.Export)
def export(services: Services, asker: Asker, command: parser.Export) -> Reply:
    zone = services.settings.digest_tz
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    file_name = f"referral-{command.what}-{today.isoformat()}.xlsx"
    handle, path = tempfile.mkstemp(prefix="referral-export-", suffix=".xlsx")
    try:
        database = Database(services.settings.db_path)
        try:
            names = Names(database, _contact_name(services))
            with os.fdopen(handle, "wb") as stream:
                written = write(command.what, database, zone, stream, format="xlsx", names=names)
        finally:
            database.close()
        if os.path.getsize(path) > MAX_FILE_BYTES:
            return Reply(_too_large(command.what), track=False)
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
    return Reply(card, track=False, act=act)


def _contact_name(services: Services) -> Ask:
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


@handles(parser.Audit)
def audit(services: Services, asker: Asker, command: parser.Audit) -> Reply:
    account_id = None
    if command.who is not None:
        account_id = people.account_for(services, asker.mentions, command.who)
    database = Database(services.settings.db_path)
    try:
        entries = latest_audit(database, account_id, LATEST)
    finally:
        database.close()
    card = audit_card(entries, zone=services.settings.digest_tz, account_id=account_id)
    return Reply(card, account_id, track=False)


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
