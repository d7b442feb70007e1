"""The audit card (`/referral audit [<who>]`) and the receipt of an export (`/referral export`).

An audit entry is the audit table's row as a mapping; each is shown as its sentence in the
reader's language (`cards/audit_sentences.py`), marked only when refused or failed, with when.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from cards.audit_sentences import mark, sentence
from cards.layout import (
    MAX_CARD_BYTES,
    card,
    card_size,
    stack,
)
from cards.text import Text, code, escape, header, markdown, plural
from cards.when import stamp, zone_footer

AUDIT = Text("Audit trail", "审计记录")
_BUDGET = MAX_CARD_BYTES - 1024
# What an export counts: English singular and plural, the Chinese with its measure word.
COUNTED: dict[str, tuple[str, str, str]] = {
    "accounts": ("account", "accounts", "个账户"),
    "withdrawals": ("withdrawal", "withdrawals", "笔提取记录"),
    "audit": ("audit entry", "audit entries", "条审计记录"),
}


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
    footer = zone_footer(zone)
    elements = stack(blocks, head=head, budget=_BUDGET - card_size(footer), reserved=2)
    shown = (len(elements) + 1) // 2
    elements.append(footer)
    if shown < len(entries):
        head = header(title, "blue", subtitle=_latest(shown))
    return card(head, elements, summary=title)


def _latest(count: int) -> Text:
    return Text(f"the latest {plural(count, 'entry', 'entries')}", f"最近 {count} 条")


def export_card(
    what: str, count: int, file_name: str, *, rows: int | None = None, zone: str | None = None
) -> dict:
    """Says what the workbook just sent holds: `count` records in `rows` rows (more when an
    account or withdrawal has cash in several currencies, one row each)."""
    noun, nouns, zh_noun = COUNTED[what]
    title = Text("Export sent", "导出已发送")
    en = "{file}: " + plural(count, noun, nouns)
    zh = f"{{file}}：{count} {zh_noun}"
    if rows is not None and rows != count:
        en += f", {plural(rows, 'row')}: one per currency"
        zh += f"，{rows} 行（每种币种一行）"
    where = Text.data(zone, f" {zone} 时区") if zone else Text("the configured zone", "配置的时区")
    body = Text(
        en + ". Excel workbook; times in {zone}.", zh + "。Excel 工作簿，时间为{zone}。"
    ).format(file=Text.markup(code(file_name)), zone=where)
    return card(header(title, "green"), [markdown(body)], summary=title)
