"""Withdrawal cards: the request (Approve / Cancel), which becomes the receipt in place, and
the history list. People are shown by name with Feishu's `<at>` tag."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.domain.accounts import Referrer
from bot.domain.withdrawals import Amounts, State, Withdrawal
from cards.account import field
from cards.layout import (
    MAX_CARD_BYTES,
    button,
    card,
    card_size,
    element_count,
    hr,
    row,
    stack,
)
from cards.money import amounts_text as money_text
from cards.names import named, who
from cards.text import Text, code, header, join, markdown, mention, plural, words
from cards.when import stamp, zone_footer

APPROVE = Text("Approve", "批准")
CANCEL = Text("Cancel", "取消")
NEXT = Text("Next", "下一页")
FIRST_PAGE = Text("First page", "第一页")

TITLES: dict[State, tuple[Text, str]] = {
    State.REQUESTED: (Text("Withdrawal request", "提取申请"), "orange"),
    State.APPROVED: (Text("Withdrawal approved: paying out", "提取已批准：处理中"), "blue"),
    State.WITHDRAWN: (Text("Withdrawal receipt", "提取回执"), "green"),
    State.FAILED: (Text("Withdrawal failed", "提取失败"), "red"),
    State.CANCELLED: (Text("Withdrawal cancelled", "提取已取消"), "grey"),
    State.EXPIRED: (Text("Withdrawal request expired", "提取申请已过期"), "grey"),
    State.CLOSED: (Text("Withdrawal closed: nothing paid out", "提取已关闭：未支付"), "grey"),
    State.UNCERTAIN: (
        Text("Withdrawal not confirmed by Feishu", "提取结果未经飞书确认"),
        "yellow",
    ),
}
STATE_WORDS: dict[State, Text] = {
    State.REQUESTED: Text("waiting for approval", "待批准"),
    State.APPROVED: Text("approved, paying out", "已批准，处理中"),
    State.WITHDRAWN: Text("withdrawn", "已提取"),
    State.FAILED: Text("failed", "失败"),
    State.CANCELLED: Text("cancelled", "已取消"),
    State.EXPIRED: Text("expired", "已过期"),
    State.CLOSED: Text("closed, nothing paid out", "已关闭，未支付"),
    State.UNCERTAIN: Text("outcome uncertain", "结果未确定"),
}
# Why a request was closed: there was nothing left to pay out (at approval, or found when an
# uncertain withdrawal was settled).
CLOSED_WHY = Text(
    "Nothing was paid out: the balance was found empty (paid out elsewhere, such as in "
    "Feishu's console).",
    "未支付任何款项：余额已为空（已在别处提取，例如飞书管理后台）。",
)
UNCERTAIN_WHY = Text(
    "Feishu may have paid this out without confirming it. The bot settles it with the same "
    "order ID at the next balance read or reconciliation; do not pay it out again meanwhile. "
    "To check now, look for the order ID in Feishu's console.",
    "飞书可能已支付但未确认。机器人会在下次读取余额或对账时使用同一订单号确认结果，"
    "在此之前请勿重复支付。如需立即核实，请在飞书管理后台查找该订单号。",
)
# How a payout Feishu never confirmed was settled (see bot/domain/settlement.py), instead of
# its time.
SETTLED_WITHOUT_TIME = {
    "reconciliation": Text(
        "Confirmed by Feishu's reconciliation (which tells no time)",
        "经飞书对账确认（对账不提供时间）",
    ),
    "balance": Text(
        "Inferred from the balance: the approved amounts left the account, but Feishu sent no "
        "receipt",
        "根据余额推断：批准的金额已离开账户，但飞书未返回回执",
    ),
}


def person(open_id: str | None) -> Text:
    """Feishu shows each reader the person's name for this tag."""
    return Text.markup(mention(open_id))


def amounts_text(amounts: Amounts) -> Text:
    """ "1,200 points · CNY 300.00 · USD 12.50", or "nothing"."""
    return money_text(amounts.points, amounts.cash)


def withdrawal_card(
    request: Withdrawal,
    *,
    zone: str,
    referrer: Referrer | None = None,
    contact: str | None = None,
    notice: Text | None = None,
) -> dict:
    """The request in its current state: Approve and Cancel while it waits, the receipt once
    Feishu has paid it out; the account named by its `referrer` (or `contact`) and ID;
    `notice` (plain words) in bold above."""
    title, colour = TITLES[request.state]
    lines = [field(ACCOUNT, who(request.account_id, referrer, contact))]
    lines.append(field(Text("Requested by", "申请人"), person(request.requested_by)))
    if request.state is State.WITHDRAWN and request.withdrawn is not None:
        lines.append(field(Text("Withdrawn", "已提取"), amounts_text(request.withdrawn)))
        if request.trans_time is not None:
            lines.append(
                field(
                    Text("Recorded by Feishu", "飞书记账时间"),
                    Text.same(stamp(request.trans_time, zone)),
                )
            )
        elif request.settled_by in SETTLED_WITHOUT_TIME:
            lines.append(SETTLED_WITHOUT_TIME[request.settled_by])
    else:
        lines.append(field(Text("To withdraw", "提取金额"), amounts_text(request.amounts)))
    if request.approved_by:
        lines.append(field(Text("Approved by", "批准人"), person(request.approved_by)))
    if request.order_id:
        lines.append(field(Text("Order ID", "订单号"), Text.markup(code(request.order_id))))
    if request.state is State.REQUESTED:
        lines.append(field(Text("Expires", "过期时间"), Text.same(stamp(request.expires_at, zone))))
    if request.state is State.EXPIRED:
        lines.append(field(Text("Expired", "已过期"), Text.same(stamp(request.expires_at, zone))))
    if request.state is State.CANCELLED:
        lines.append(field(Text("Cancelled by", "取消人"), person(request.decided_by)))
    if request.state is State.CLOSED:
        lines.append(CLOSED_WHY)
    if request.state is State.UNCERTAIN:
        lines.append(UNCERTAIN_WHY)
    if request.state in (State.FAILED, State.UNCERTAIN) and request.error:
        lines.append(field(Text("Reason", "原因"), Text.same(request.error)))
    timed = request.state in (State.REQUESTED, State.EXPIRED) or (
        request.state is State.WITHDRAWN and request.trans_time is not None
    )
    elements = []
    if notice is not None:
        elements.append(markdown(Text("**{notice}**", "**{notice}**").format(notice=words(notice))))
    elements.append(markdown(join(lines)))
    if request.state is State.REQUESTED:
        value = {"withdrawal": request.id}
        # Never Approve for nothing: approving an empty amount would call withdraw for it.
        approve = (
            []
            if request.amounts.empty
            else [
                button(
                    APPROVE,
                    {"action": "approve", **value},
                    element_id="btn_approve",
                    kind="primary",
                )
            ]
        )
        elements.append(hr())
        elements.append(
            row(*approve, button(CANCEL, {"action": "cancel", **value}, element_id="btn_cancel"))
        )
    if timed:
        elements.append(zone_footer(zone))
    head = header(title, colour, subtitle=Text.same(f"#{request.id}"))
    return card(head, elements, summary=title + Text.same(f" #{request.id}"))


ACCOUNT = Text("Account", "账户")
HISTORY = Text("Withdrawals", "提取记录")
_BUDGET = MAX_CARD_BYTES - 1024
_PAGER_ELEMENTS = element_count(
    row(button(FIRST_PAGE, {}, element_id="btn_first"), button(NEXT, {}, element_id="btn_next"))
)


def _history_line(item: Withdrawal, zone: str, name: Text | None) -> Text:
    state = STATE_WORDS[item.state]
    shown = item.withdrawn if item.withdrawn is not None else item.amounts
    account = named(item.account_id, name)
    second = [
        Text.same(f"{stamp(item.requested_at, zone)} · ") + person(item.requested_by),
    ]
    if item.approved_by:
        second.append(Text(" · approved by ", " · 批准人 ") + person(item.approved_by))
    if item.order_id:
        second.append(Text.markup(f" · {code(item.order_id)}"))
    heading = Text.same(f"#{item.id} · ") + account + Text.markup(" · ") + state
    return join([heading, amounts_text(shown), join(second, "")])


def withdrawals_card(
    items: Sequence[Withdrawal],
    *,
    total: int,
    offset: int,
    zone: str,
    account_id: str | None = None,
    names: Mapping[str, Text] | None = None,
) -> dict:
    """A page of the withdrawals, newest first, with a Next button while more remain; each
    account named by `names` (account ID to its holder's name or contact, plain words) and ID."""
    names = names or {}
    title = HISTORY
    if account_id:
        title += Text.markup(" · ") + names.get(account_id, Text.same(account_id))
    head = header(title, "blue", subtitle=Text(plural(total, "withdrawal"), f"共 {total:,} 笔"))
    if not items:
        empty = (
            Text("No withdrawals yet.", "还没有提取记录。")
            if not offset
            else Text("No more withdrawals.", "没有更多记录了。")
        )
        return card(head, [markdown(empty)], summary=title)
    footer = zone_footer(zone)
    blocks = (markdown(_history_line(item, zone, names.get(item.account_id))) for item in items)
    elements = stack(
        blocks,
        head=head,
        budget=_BUDGET - card_size(footer),
        reserved=_PAGER_ELEMENTS + element_count(footer),
    )
    shown = (len(elements) + 1) // 2
    elements.append(footer)
    value = {"action": "withdrawals", **({"account_id": account_id} if account_id else {})}
    pager = []
    if offset:
        pager.append(button(FIRST_PAGE, {**value, "offset": 0}, element_id="btn_first"))
    if offset + shown < total:
        pager.append(
            button(NEXT, {**value, "offset": offset + max(shown, 1)}, element_id="btn_next")
        )
    if pager:
        elements.append(row(*pager))
    return card(head, elements, summary=title)
