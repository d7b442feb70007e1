"""The record commands: `export` sends the records as a CSV file into the chat (the same file as
`referral-bot export`), and `audit` shows the latest audit entries.

Admins only (the command runner checks and audits the command, an export with what it sent).
Both read the records through a database connection of their own, closed when done; the export
streams to a temporary file, so a large table is never held in memory.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.exports import latest_audit, write_csv
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


@handles(parser.Export)
def export(services: Services, asker: Asker, command: parser.Export) -> Reply:
    zone = services.settings.digest_tz
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    file_name = f"referral-{command.what}-{today.isoformat()}.csv"
    handle, path = tempfile.mkstemp(prefix="referral-export-", suffix=".csv")
    try:
        database = Database(services.settings.db_path)
        try:
            with os.fdopen(handle, "wb") as stream:
                count = write_csv(command.what, database, zone, stream)
        finally:
            database.close()
        if os.path.getsize(path) > MAX_FILE_BYTES:
            return Reply(_too_large(command.what), track=False)
        # The event's id makes a retried run post the file message once.
        uuid = f"export-{asker.event_id}" if asker.event_id else None
        message_id = services.messenger.send_file(asker.chat_id, path, file_name, uuid=uuid)
    finally:
        os.unlink(path)
    act = Act(
        "ok",
        f"{command.what}: {count} records as {file_name} (message {message_id})",
        {"what": command.what, "count": count, "file": file_name},
    )
    return Reply(export_card(command.what, count, file_name), track=False, act=act)


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
