"""The status digest card: totals, what changed since the last scheduled digest, what could not
be read. The header says which kind it is, scheduled or asked for on demand, and its moment.

Lines go most important first (failures, status changes, balance changes, new accounts) and stop
before the card would pass Feishu's 30 KB limit; the rest is counted in an "and N more" line
beside a Show all button that posts the full account list.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.accounts import Account
from bot.domain.digest_model import Change, Totals
from cards.account import status_tag
from cards.chart import totals_charts
from cards.layout import MAX_CARD_BYTES, button, card, card_size, hr
from cards.money import balance_text as money_balance
from cards.money import change_text
from cards.names import named
from cards.text import Text, code, header, join, markdown, plural, words
from cards.when import stamp, zone_footer

TITLE = Text("Referral accounts digest", "内推账户摘要")
SCHEDULED = Text("Scheduled · {when}", "定时 · {when}")
ON_DEMAND = Text("On demand · {when}", "按需 · {when}")
SHOW_ALL = Text("Show all accounts", "查看全部账户")
# The card_actions table already answers this value with the account list card.
SHOW_ALL_VALUE = {"action": "list"}
NO_ACCOUNTS = Text(
    "No referral accounts known yet. Register one with `/referral register <email>`.",
    "还没有已知的内推账户。使用 `/referral register <email>` 注册一个。",
)
NO_CHANGES = Text("No changes since the last scheduled digest.", "自上一份定时摘要以来没有变化。")
# Changes are told against the last scheduled digest only: one on demand is no baseline.
FIRST = Text(
    "This is the first scheduled digest: changes will show from the next one.",
    "这是第一份定时摘要，下一份起将显示变化。",
)
NO_BASELINE = Text(
    "No scheduled digest yet: changes will show once one has been posted.",
    "还没有定时摘要，发送过一份后将显示变化。",
)
SINCE = Text(
    "Changes since the scheduled digest of {when}",
    "自 {when} 的定时摘要以来的变化",
)
# Lines shown at most, whatever their size: a chat card is read, not searched.
MAX_LINES = 60


@dataclass(frozen=True)
class DigestView:
    """Everything the digest card shows. `failures` and `undelivered` pair an ID (account or
    chat) with the reason in plain words (shown escaped); `names` maps an account ID to its
    holder's name or contact, in plain words (see `cards.names`)."""

    taken_at: datetime  # the digest's moment
    known: int
    accounts: Sequence[Account]
    totals: Totals
    changes: Sequence[Change] = ()
    failures: Sequence[tuple[str, Text]] = ()
    undelivered: Sequence[tuple[str, Text]] = ()
    since: datetime | None = None
    zone: str = "UTC"
    first: bool = False  # no scheduled digest came before: nothing to compare with
    names: Mapping[str, Text] = field(default_factory=dict)
    # Totals to chart, oldest first: the scheduled digests before this one, then this one.
    history: Sequence[tuple[datetime, Totals]] = ()
    scheduled: bool = True  # False: asked for on demand


def delta_text(change: Change) -> Text | None:
    """The balance movement of a change, e.g. "+100 points · +CNY 50.00"; None if none."""
    if not change.points_delta and not any(c.amount for c in change.cash_delta):
        return None
    return change_text(change.points_delta, change.cash_delta)


def balance_text(account: Account) -> Text:
    return money_balance(account.points, account.cash)


def _who(account_id: str, names: Mapping[str, Text]) -> Text:
    return named(account_id, names.get(account_id))


def change_line(change: Change, names: Mapping[str, Text] | None = None) -> Text:
    who = _who(change.account_id, names or {})
    label, colour = status_tag(change.after)
    status = Text(
        f"<font color='{colour}'>{label.md_en}</font>",
        f"<font color='{colour}'>{label.md_zh}</font>",
    )
    if change.is_new:
        return (
            who
            + Text(" · new · ", " · 新账户 · ")
            + status
            + Text.markup(" · ")
            + balance_text(change.after)
        )
    parts = [who]
    if change.status_changed:
        assert change.before is not None
        old, _ = status_tag(change.before)
        parts.append(old + Text.markup(" → ") + status)
    delta = delta_text(change)
    if delta is not None:
        parts.append(delta)
    return join(parts, " · ")


def failure_line(account_id: str, reason: Text, names: Mapping[str, Text] | None = None) -> Text:
    return (
        _who(account_id, names or {})
        + Text(" · could not fetch: ", " · 查询失败：")
        + words(reason)
    )


def undelivered_line(chat_id: str, reason: Text) -> Text:
    return Text(
        "The last digest could not be posted to {chat}: {reason}",
        "上一份摘要未能发送到 {chat}：{reason}",
    ).format(chat=Text.markup(code(chat_id)), reason=words(reason))


def totals_text(view: DigestView) -> Text:
    t = view.totals
    lines = [
        Text(
            f"**{plural(view.known, 'account')}** · {t.enabled:,} enabled · "
            f"{t.disabled:,} disabled",
            f"**共 {view.known:,} 个账户** · {t.enabled:,} 个已启用 · {t.disabled:,} 个已停用",
        ),
        Text("Total: ", "合计：") + money_balance(t.points, t.cash),
    ]
    if view.failures:
        n = len(view.failures)
        lines.append(
            Text(
                f"<font color='red'>{n} could not be fetched</font> (not in the totals)",
                f"<font color='red'>{n} 个查询失败</font>（未计入合计）",
            )
        )
    return join(lines)


def _section(title: Text, lines: Sequence[Text]) -> dict:
    return markdown(join([Text("**{title}**", "**{title}**").format(title=title), *lines]))


def _line_bytes(line: Text) -> int:
    # Each line lands in both `content` and the two `i18n_content` values, ASCII-escaped.
    return 2 * len(json.dumps(line.md_en)) + len(json.dumps(line.md_zh)) + 6


def _more(n: int) -> Text:
    return Text(f"… and {n:,} more", f"… 还有 {n:,} 项")


SECTIONS = (
    Text("Could not fetch", "查询失败"),
    Text("Status changes", "状态变化"),
    Text("Balance changes", "余额变化"),
    Text("New accounts", "新账户"),
)


def _ranked_lines(view: DigestView) -> list[tuple[int, Text]]:
    """(section, line) pairs, most important first."""
    lines = [(0, failure_line(a, r, view.names)) for a, r in view.failures]
    lines += [(1 + c.rank, change_line(c, view.names)) for c in view.changes]
    lines.sort(key=lambda pair: pair[0])
    return lines


def digest_card(view: DigestView, *, max_lines: int = MAX_LINES) -> dict:
    """The digest card; never larger than Feishu's card limit however many lines there are."""
    template = "red" if view.failures or view.undelivered else "blue"
    kind = SCHEDULED if view.scheduled else ON_DEMAND
    subtitle = kind.format(when=stamp(view.taken_at, view.zone))
    head = header(TITLE, template, subtitle=subtitle)
    summary = TITLE + Text.same(" · ") + subtitle
    # The subtitle's time, and every other, is local to the zone the footer names.
    footer = zone_footer(view.zone)
    if not view.known:
        return card(head, [markdown(NO_ACCOUNTS), footer], summary=summary)

    top = [markdown(totals_text(view))]
    top.extend(totals_charts(view.history, view.zone, scheduled=view.scheduled))
    if view.undelivered:
        top.append(markdown(join(undelivered_line(c, r) for c, r in view.undelivered)))
    if view.first:
        note = FIRST if view.scheduled else NO_BASELINE
    elif view.since is not None:
        note = SINCE.format(when=stamp(view.since, view.zone))
    else:
        note = NO_CHANGES
    top.append(markdown(note, size="notation"))
    show_all = button(SHOW_ALL, SHOW_ALL_VALUE, element_id="show_all", kind="primary_filled")

    ranked = _ranked_lines(view)
    if not ranked and not view.first:
        top.append(markdown(NO_CHANGES))
    # Room for the "and N more" line, section titles and the card's own envelope.
    budget = MAX_CARD_BYTES - card_size(card(head, [*top, hr(), show_all, footer], summary=summary))
    budget -= 1500
    shown = 0
    for _, line in ranked[:max_lines]:
        size = _line_bytes(line)
        if size > budget:
            break
        budget -= size
        shown += 1

    while True:
        elements = list(top)
        visible = ranked[:shown]
        for index, title in enumerate(SECTIONS):
            lines = [line for section, line in visible if section == index]
            if lines:
                elements.extend([hr(), _section(title, lines)])
        hidden = len(ranked) - shown
        if hidden:
            elements.append(markdown(_more(hidden), size="notation"))
        elements += [show_all, footer]
        document = card(head, elements, summary=summary)
        # The estimate above is close but not exact; shed lines until the card truly fits.
        if card_size(document) < MAX_CARD_BYTES or shown == 0:
            return document
        shown -= 1
