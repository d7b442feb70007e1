"""The card listing the accounts the bot knows, each with a Show button, a page at a time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from bot.domain.accounts import AccountRecord
from cards.account import status_tag
from cards.layout import (
    MAX_CARD_BYTES,
    MAX_CARD_ELEMENTS,
    button,
    card,
    card_size,
    element_count,
    hr,
    row,
)
from cards.money import balance_text
from cards.names import named, record_name
from cards.text import Text, header, join, markdown, plural
from cards.when import seen, zone_footer

TITLE = Text("Referral accounts", "内推账户列表")
SHOW = Text("Show", "查看")
NEXT = Text("Next", "下一页")
FIRST_PAGE = Text("First page", "第一页")
NOT_FETCHED = Text("not fetched yet", "尚未查询")
SEEN_UNKNOWN = Text("last seen unknown", "查询时间未知")
EMPTY = Text(
    "No referral accounts yet. Register one with `/referral register <email>`.",
    "还没有内推账户。使用 `/referral register <email>` 注册一个。",
)
# The action the digest's "Show all accounts" button also sends; `offset` picks the page.
LIST_ACTION = "list"
# Feishu refuses a JSON 2.0 card of more than 200 elements; every object with a `tag` counts,
# plain_text and columns included. (Shared by the builders that grow with data; its natural
# home is cards/layout.py beside card_size.)
# Room kept for config, the range and "and N more" lines and the buttons; the hr between two
# blocks.
_BUDGET = MAX_CARD_BYTES - 2048
_SEPARATOR = card_size(hr()) + 2


def _count(n: int) -> Text:
    return Text(plural(n, "account"), f"共 {n:,} 个")


def _more(n: int) -> Text:
    return Text(f"… and {n:,} more", f"… 还有 {n:,} 个")


def _range(first: int, last: int, total: int) -> Text:
    """Which records a page shows, counted from 1: "Accounts 29–56 of 400"."""
    if first == last:
        return Text(f"Account {first:,} of {total:,}", f"第 {first:,} 个，共 {total:,} 个")
    return Text(
        f"Accounts {first:,}–{last:,} of {total:,}", f"第 {first:,}–{last:,} 个，共 {total:,} 个"
    )


def _nothing_more(total: int) -> Text:
    return Text(
        f"No more accounts: the list has {plural(total, 'account')}.",
        f"没有更多账户了：列表共 {total:,} 个。",
    )


def list_value(offset: int) -> dict[str, str | int]:
    """The callback value of a button that posts the page starting at `offset`."""
    return {"action": LIST_ACTION, "offset": offset}


def record_text(record: AccountRecord, now: datetime, *, zone: str) -> Text:
    """The lines describing one record: who (name and ID), status and balance, last seen."""
    lines = [named(record.account_id, record_name(record))]
    account = record.account
    if account is None:
        lines.append(NOT_FETCHED)
    else:
        label, colour = status_tag(account)
        status = Text(
            f"<font color='{colour}'>{label.md_en}</font> · ",
            f"<font color='{colour}'>{label.md_zh}</font> · ",
        )
        lines.append(status + balance_text(account.points, account.cash))
        lines.append(seen(record.seen_at, now, zone=zone) if record.seen_at else SEEN_UNKNOWN)
    return join(lines)


def record_block(record: AccountRecord, index: int, now: datetime, *, zone: str) -> dict:
    """One record: its text on the left, its Show button (`show_{index}`) on the right."""
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
                "elements": [markdown(record_text(record, now, zone=zone))],
            },
            {"tag": "column", "width": "auto", "vertical_align": "center", "elements": [show]},
        ],
    }


def account_list_card(
    records: Sequence[AccountRecord],
    *,
    now: datetime,
    zone: str,
    offset: int = 0,
    limit: int = 50,
    title: Text = TITLE,
    empty: Text = EMPTY,
    page_value: Callable[[int], dict] = list_value,
) -> dict:
    """The records from `offset` on, at most `limit` of them and never more than fit the card
    size limit, with a Next button while more remain. Times are shown in the IANA `zone`.
    `page_value(offset)` is the paging buttons' callback value (a search pages its matches)."""
    total = len(records)
    head = header(title, "blue", subtitle=_count(total))
    summary = title + Text.same(f" ({total})")
    if not records:
        return card(head, [markdown(empty)], summary=title)
    offset = max(offset, 0)
    if offset >= total:
        first_page = button(FIRST_PAGE, page_value(0), element_id="btn_first")
        return card(head, [markdown(_nothing_more(total)), first_page], summary=summary)

    blocks: list[dict] = []
    footer = zone_footer(zone)
    used = card_size(head) + card_size(footer)
    room = MAX_CARD_ELEMENTS - element_count(head) - _FIXED_ELEMENTS
    # Element ids count from 0 on every page: unique within the card and short at any offset.
    for index, record in enumerate(records[offset : offset + max(limit, 0)]):
        block = record_block(record, index, now, zone=zone)
        if not blocks and used + card_size(block) > _BUDGET:
            # A name too long for a card of its own: the page still shows the account.
            block = record_block(_nameless(record), index, now, zone=zone)
        size = card_size(block) + _SEPARATOR
        count = element_count(block) + 1  # and its hr
        if used + size > _BUDGET or count > room:
            break
        blocks.append(block)
        used += size
        room -= count
    shown = len(blocks)
    remaining = total - offset - shown

    elements: list[dict] = []
    if shown and (offset or remaining):
        elements.append(markdown(_range(offset + 1, offset + shown, total), size="notation"))
    for block in blocks:
        if elements:
            elements.append(hr())
        elements.append(block)
    if remaining:
        elements.append(markdown(_more(remaining), size="notation"))
    if any(record.seen_at for record in records[offset : offset + shown]):
        elements.append(footer)
    pager = []
    if offset:
        pager.append(button(FIRST_PAGE, page_value(0), element_id="btn_first"))
    if remaining:
        # Past a record that fits no card at all rather than offer the same page again.
        pager.append(button(NEXT, page_value(offset + max(shown, 1)), element_id="btn_next"))
    if pager:
        elements.append(row(*pager))
    return card(head, elements, summary=summary)


def _nameless(record: AccountRecord) -> AccountRecord:
    """The record without what names its holder, which can be of any length."""
    account = record.account
    if account is not None:
        account = replace(account, referrer=None)
    return replace(record, contact=None, account=account)


# The elements besides the records: the range, "and N more" and zone lines, the pager's row.
_FIXED_ELEMENTS = element_count(
    [
        markdown(EMPTY),
        markdown(EMPTY),
        markdown(EMPTY),
        row(
            button(FIRST_PAGE, list_value(0), element_id="btn_first"),
            button(NEXT, list_value(0), element_id="btn_next"),
        ),
    ]
)
