"""The card listing the accounts the bot knows, each with a Show button."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.accounts import AccountRecord
from cards.account import status_tag
from cards.layout import MAX_CARD_BYTES, button, card, card_size, hr
from cards.money import format_cash, format_points
from cards.text import Text, code, escape_md, header, join, markdown
from cards.when import seen

TITLE = Text("Referral accounts", "内推账户列表")
SHOW = Text("Show", "查看")
NOT_FETCHED = Text("not fetched yet", "尚未查询")
SEEN_UNKNOWN = Text("last seen unknown", "查询时间未知")
EMPTY = Text(
    "No referral accounts yet. Register one with `/referral register <email>`.",
    "还没有内推账户。使用 `/referral register <email>` 注册一个。",
)
# Room kept for config and the "and N more" line; the hr between two blocks.
_BUDGET = MAX_CARD_BYTES - 1024
_SEPARATOR = card_size(hr()) + 2


def _count(n: int) -> Text:
    return Text(f"{n} account" + ("" if n == 1 else "s"), f"共 {n} 个")


def _more(n: int) -> Text:
    return Text(f"… and {n} more", f"… 还有 {n} 个")


def record_text(record: AccountRecord, now: datetime) -> Text:
    """The lines describing one record: ID and contact, status and balance, last seen."""
    first = code(record.account_id)
    if record.contact:
        first += " · " + escape_md(record.contact)
    lines = [Text.same(first)]
    account = record.account
    if account is None:
        lines.append(NOT_FETCHED)
    else:
        label, colour = status_tag(account)
        money = " · ".join(format_cash(c) for c in account.cash)
        points = format_points(account.points)
        lines.append(
            Text(
                f"<font color='{colour}'>{label.en}</font> · {points} points"
                + (f" · {money}" if money else " · no cash bonus"),
                f"<font color='{colour}'>{label.zh}</font> · {points} 积分"
                + (f" · {money}" if money else " · 无现金奖励"),
            )
        )
        lines.append(seen(record.seen_at, now) if record.seen_at else SEEN_UNKNOWN)
    return join(lines)


def record_block(record: AccountRecord, index: int, now: datetime) -> dict:
    """One record: its text on the left, its Show button on the right."""
    show = button(
        SHOW,
        {"action": "show", "account_id": record.account_id},
        element_id=f"show_{index}",
    )
    return {
        "tag": "column_set",
        "horizontal_spacing": "8px",
        "columns": [
            {
                "tag": "column",
                "width": "weighted",
                "weight": 1,
                "elements": [markdown(record_text(record, now))],
            },
            {"tag": "column", "width": "auto", "vertical_align": "center", "elements": [show]},
        ],
    }


def account_list_card(records: Sequence[AccountRecord], *, now: datetime, limit: int = 50) -> dict:
    """All records, at most `limit` of them and never more than fit the card size limit."""
    head = header(TITLE, "blue", subtitle=_count(len(records)))
    if not records:
        return card(head, [markdown(EMPTY)], summary=TITLE)

    elements: list[dict] = []
    shown = 0
    used = card_size(head)
    for index, record in enumerate(records[: max(limit, 0)]):
        block = record_block(record, index, now)
        size = card_size(block) + _SEPARATOR
        if used + size > _BUDGET:
            break
        if elements:
            elements.append(hr())
        elements.append(block)
        shown += 1
        used += size
    hidden = len(records) - shown
    if hidden:
        elements.append(markdown(_more(hidden), size="notation"))
    return card(head, elements, summary=TITLE + Text.same(f" ({len(records)})"))
