"""The audit card (`/referral audit [<who>]`) and the receipt of an export (`/referral export`).

An audit entry is the audit table's row as a mapping; each is shown as its sentence in the
reader's language (`cards/audit_sentences.py`), marked only when refused or failed, with when.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from cards.audit_sentences import EXPORTS, mark, sentence
from cards.layout import (
    MAX_CARD_BYTES,
    card,
    stack,
)
from cards.text import Text, code, escape, header, markdown, plural
from cards.when import stamp

AUDIT = Text("Audit trail", "审计记录")
_BUDGET = MAX_CARD_BYTES - 1024


def _line(entry: Mapping[str, object], zone: str) -> Text:
    at = entry.get("at")
    when = stamp(datetime.fromisoformat(str(at)), zone) if at else "—"
    flag = mark(entry)
    said = sentence(entry)
    lead = f"{flag} " if flag else ""
    small = f"<font color='grey'>{escape(when)}</font>"
    return Text(f"{lead}{said.md_en}\n{small}", f"{lead}{said.md_zh}\n{small}")


def audit_card(
    entries: Sequence[Mapping[str, str | None]], *, zone: str, account_id: str | None = None
) -> dict:
    """The given entries (newest first) as one card, within Feishu's 30 KB and 200 elements:
    entries that would not fit are left out, and the card says how many it shows."""
    title = AUDIT + Text.same(f" · {account_id}") if account_id else AUDIT
    if not entries:
        head = header(title, "grey")
        return card(
            head, [markdown(Text("Nothing audited yet.", "还没有审计记录。"))], summary=title
        )
    head = header(title, "blue", subtitle=_latest(len(entries)))
    blocks = (markdown(_line(entry, zone)) for entry in entries)
    elements = stack(blocks, head=head, budget=_BUDGET, reserved=1)
    shown = (len(elements) + 1) // 2
    if shown < len(entries):
        head = header(title, "blue", subtitle=_latest(shown))
    return card(head, elements, summary=title)


def _latest(count: int) -> Text:
    return Text(f"the latest {plural(count, 'entry', 'entries')}", f"最近 {count} 条")


def export_card(what: str, count: int, file_name: str) -> dict:
    """Says what the file message just sent holds."""
    noun = EXPORTS[what]
    title = Text("Export sent", "导出已发送")
    body = Text(
        "{file}: {count} {noun}, CSV (UTF-8), times in the configured zone.",
        "{file}：{count} 条{noun}，CSV（UTF-8），时间为配置的时区。",
    ).format(file=Text.markup(code(file_name)), count=count, noun=noun)
    return card(header(title, "green"), [markdown(body)], summary=title)
