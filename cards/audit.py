"""The audit card (`/referral audit [<who>]`) and the receipt of an export (`/referral export`).

An audit entry is the audit table's row as a mapping: `at` (UTC ISO), `actor` (an open_id,
shown by name with Feishu's `<at>` tag), `action`, `account_id`, `outcome`, `detail`. Every
field is data (a detail holds what someone typed) and is shown escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from cards.layout import (
    MAX_CARD_BYTES,
    card,
    card_size,
    stack,
)
from cards.text import Text, code, escape, header, markdown, mention, plural
from cards.when import stamp, zone_footer

AUDIT = Text("Audit trail", "审计记录")
DETAIL_CHARS = 200
_BUDGET = MAX_CARD_BYTES - 1024
OK_OUTCOMES = ("ok",)
EXPORTS: dict[str, Text] = {
    "accounts": Text("accounts", "账户"),
    "withdrawals": Text("withdrawals", "提取记录"),
    "audit": Text("audit entries", "审计记录"),
}


def _line(entry: Mapping[str, str | None], zone: str) -> Text:
    who = mention(entry.get("actor"))
    when = stamp(datetime.fromisoformat(entry["at"]), zone) if entry.get("at") else "—"
    outcome = entry.get("outcome") or "—"
    mark = "✅" if outcome in OK_OUTCOMES else "⚠️"
    what = code(entry.get("action") or "—")
    first = f"{mark} {who} · {escape(when)}"
    account = entry.get("account_id")
    en = f"{what} · {escape(outcome)}"
    zh = f"{what} · {escape(outcome)}"
    if account:
        en += f" · account {code(account)}"
        zh += f" · 账户 {code(account)}"
    detail = (entry.get("detail") or "").replace("\n", " ")
    if detail:
        if len(detail) > DETAIL_CHARS:
            detail = detail[: DETAIL_CHARS - 1] + "…"
        en += f" · {escape(detail)}"
        zh += f" · {escape(detail)}"
    return Text(f"{first}\n{en}", f"{first}\n{zh}")


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


def export_card(what: str, count: int, file_name: str) -> dict:
    """Says what the file message just sent holds."""
    noun = EXPORTS[what]
    title = Text("Export sent", "导出已发送")
    body = Text(
        "{file}: {count} {noun}, CSV (UTF-8), times in the configured zone.",
        "{file}：{count} 条{noun}，CSV（UTF-8），时间为配置的时区。",
    ).format(file=Text.markup(code(file_name)), count=count, noun=noun)
    return card(header(title, "green"), [markdown(body)], summary=title)
