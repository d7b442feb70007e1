"""The reconciliation report card: the window, what was checked, and either "everything
matches" or the accounts whose withdrawn points differ between Feishu's record and the bot's.

Mismatch lines stop before the card would pass Feishu's 30 KB limit; the rest is counted in an
"and N more" line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from cards.layout import MAX_CARD_BYTES, card, card_size
from cards.money import points_text
from cards.names import named
from cards.text import Text, escape, header, join, markdown, plain, plural

TITLE = Text("Reconciliation", "对账")
EVERYTHING_MATCHES = Text(
    "✅ Everything matches: Feishu's record of withdrawn points agrees with the bot's.",
    "✅ 全部一致：飞书记录的已提取积分与机器人的记录相符。",
)
NO_WITHDRAWALS = Text(
    "No withdrawals through the bot in this window.",
    "此期间没有通过机器人的提取。",
)
POINTS_ONLY = Text(
    "Points withdrawn through the bot, counted by the time Feishu recorded each withdrawal. "
    "Feishu reconciles points only, not cash.",
    "统计通过机器人提取的积分，以飞书记录的交易时间为准。飞书仅核对积分，不核对现金。",
)
# Lines shown at most, whatever their size: a chat card is read, not searched.
MAX_LINES = 100


@dataclass(frozen=True)
class MismatchLine:
    """An account whose withdrawn points differ. `period` names the part of a split window
    ("2026-10-01 – 2026-10-31") when the report was asked for in several parts."""

    account_id: str
    feishu_points: int
    bot_points: int
    period: str | None = None


@dataclass(frozen=True)
class ReconcileView:
    """Everything the report shows: the window (whole days in `zone`, both included), the
    accounts and points sent to Feishu, and what Feishu reported as not matching; `names` maps
    an account ID to its holder's name or contact, in plain words (see `cards.names`)."""

    first_day: date
    last_day: date
    zone: str
    accounts: int
    points: int
    mismatches: Sequence[MismatchLine] = ()
    names: Mapping[str, Text] = field(default_factory=dict)


def window_text(first_day: date, last_day: date, zone: str) -> Text:
    """ "2026-10-01 – 2026-10-31 (Asia/Shanghai)"; one day is shown once."""
    days = first_day.isoformat()
    if last_day != first_day:
        days += f" – {last_day.isoformat()}"
    return Text.same(f"{days} ({zone})")


def checked_text(view: ReconcileView) -> Text:
    if not view.accounts:
        return NO_WITHDRAWALS
    points = points_text(view.points)
    return Text(
        f"Checked **{plural(view.accounts, 'account', shown=f'{view.accounts:,}')}** · "
        f"**{points.md_en}** withdrawn through the bot",
        f"已核对 **{view.accounts:,} 个账户** · 通过机器人提取 **{points.md_zh}**",
    )


def mismatch_line(line: MismatchLine, name: Text | None = None) -> Text:
    """**Chen Jing** · `id` · Feishu: 300 points · bot: 200 points."""
    who = named(line.account_id, name)
    if line.period:
        who += Text.markup(f" · {escape(line.period)}")
    feishu, bot = points_text(line.feishu_points), points_text(line.bot_points)
    return who + Text(
        f" · Feishu: {feishu.md_en} · bot: {bot.md_en}",
        f" · 飞书记录：{feishu.md_zh} · 机器人记录：{bot.md_zh}",
    )


def _heading(count: int) -> Text:
    mismatches = plural(count, "mismatch", "mismatches", shown=f"{count:,}")
    return Text(
        f"**{mismatches}**: points withdrawn by Feishu's record and by the bot's",
        f"**{count:,} 处不一致**：飞书记录与机器人记录的已提取积分",
    )


def _more(n: int) -> Text:
    return Text(f"… and {n:,} more", f"… 还有 {n:,} 项")


def _line_bytes(line: Text) -> int:
    # Each line lands in `content` and in both `i18n_content` values, ASCII-escaped.
    return 2 * len(json.dumps(line.md_en)) + len(json.dumps(line.md_zh)) + 6


def reconcile_card(view: ReconcileView, *, max_lines: int = MAX_LINES) -> dict:
    """The report; never larger than Feishu's card limit however many mismatches there are."""
    window = window_text(view.first_day, view.last_day, view.zone)
    matches = not view.mismatches
    head = header(TITLE, "green" if matches else "red", subtitle=window)
    summary = TITLE + Text.same(" · ") + window
    top = [markdown(checked_text(view))]
    if matches:
        return card(
            head,
            [*top, markdown(EVERYTHING_MATCHES), markdown(POINTS_ONLY, size="notation")],
            summary=summary,
        )

    lines = [mismatch_line(m, view.names.get(m.account_id)) for m in view.mismatches]
    heading = _heading(len(lines))
    # Room for the "and N more" line and the card's own envelope.
    empty = card(head, [*top, markdown(heading), markdown(POINTS_ONLY)], summary=summary)
    budget = MAX_CARD_BYTES - card_size(empty) - 500
    shown = 0
    for line in lines[:max_lines]:
        size = _line_bytes(line)
        if size > budget:
            break
        budget -= size
        shown += 1
    while True:
        body = join([heading, *lines[:shown]])
        hidden = len(lines) - shown
        if hidden:
            body = join([body, _more(hidden)])
        document = card(
            head,
            [*top, markdown(body), markdown(POINTS_ONLY, size="notation")],
            summary=summary,
        )
        # The estimate above is close but not exact; shed lines until the card truly fits.
        if card_size(document) < MAX_CARD_BYTES or shown == 0:
            return document
        shown -= 1


def reconcile_failed_card(first_day: date, last_day: date, zone: str, reason: Text) -> dict:
    """The scheduled report when Feishu would not reconcile: the window and why, in plain
    words."""
    window = window_text(first_day, last_day, zone)
    head = header(TITLE, "red", subtitle=window)
    detail = Text("Could not reconcile this window: ", "未能完成此期间的对账：") + reason
    # Plain text: Feishu's message may hold characters markdown would read.
    return card(
        head, [{"tag": "div", "text": plain(detail)}], summary=TITLE + Text.same(" · ") + window
    )
