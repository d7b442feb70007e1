"""Reward cards: the request (Approve / Cancel), which becomes the receipt in place (with the
balance read back after the import), and the list of rewards granted through the bot."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.accounts import Cash
from bot.domain.referrals import Referral
from bot.domain.rewards import Amount, Reward, State
from cards.account import field
from cards.layout import MAX_CARD_BYTES, button, card, card_size, element_count, hr, row, stack
from cards.money import balance_text, format_cash, points_text
from cards.names import named
from cards.referrals import candidate
from cards.text import Text, code, header, join, markdown, mention, plural, words
from cards.when import stamp, zone_footer

TITLES: dict[State, tuple[Text, str]] = {
    State.REQUESTED: (Text("Reward request", "奖励申请"), "orange"),
    State.APPROVED: (Text("Reward approved: importing", "奖励已批准：导入中"), "blue"),
    State.REWARDED: (Text("Reward receipt", "奖励回执"), "green"),
    State.FAILED: (Text("Reward failed", "奖励失败"), "red"),
    State.UNCERTAIN: (Text("Reward not confirmed by Feishu", "奖励结果未经飞书确认"), "yellow"),
    State.CANCELLED: (Text("Reward cancelled", "奖励已取消"), "grey"),
    State.EXPIRED: (Text("Reward request expired", "奖励申请已过期"), "grey"),
}
STATE_WORDS: dict[State, Text] = {
    State.REQUESTED: Text("waiting for approval", "待批准"),
    State.APPROVED: Text("approved, importing", "已批准，导入中"),
    State.REWARDED: Text("rewarded", "已发放"),
    State.FAILED: Text("failed", "失败"),
    State.UNCERTAIN: Text("not confirmed yet", "尚未确认"),
    State.CANCELLED: Text("cancelled", "已取消"),
    State.EXPIRED: Text("expired", "已过期"),
}
UNCERTAIN_WHY = Text(
    "Feishu has not confirmed the import yet. The bot asks again with the same reward ID, "
    "which Feishu imports at most once: do not grant it again meanwhile.",
    "飞书尚未确认导入。机器人会用同一奖励编号重试，飞书最多导入一次：在此之前请勿重复发放。",
)


def amount_text(amount: Amount) -> Text:
    """ "2,000 points" or "CNY 3,000.00"."""
    if amount.is_points:
        return points_text(amount.points)
    return Text.same(format_cash(Cash(amount.unit, amount.value)))


def person(open_id: str | None) -> Text:
    return Text.markup(mention(open_id))


def reward_card(
    reward: Reward,
    *,
    zone: str,
    referral: Referral | None = None,
    balance: tuple[int, tuple[Cash, ...]] | None = None,
    notice: Text | None = None,
) -> dict:
    """The request in its current state: Approve and Cancel while it waits; the receipt (with
    the balance read back) once Feishu imported it."""
    title, colour = TITLES[reward.state]
    lines = [field(Text("Referrer", "推荐人"), person(reward.referrer_open_id))]
    if reward.account_id:
        lines.append(field(Text("Account", "账户"), named(reward.account_id, None)))
    lines.append(field(Text("Amount", "金额"), amount_text(reward.amount)))
    lines.append(field(Text("Reason", "原因"), Text.data(reward.reason or "—")))
    if referral is not None:
        lines.append(
            field(Text("For", "对应内推"), candidate(referral.talent_name, referral.job_name))
        )
    lines.append(field(Text("Requested by", "申请人"), person(reward.requested_by)))
    if reward.approved_by:
        lines.append(field(Text("Approved by", "批准人"), person(reward.approved_by)))
    if reward.external_id:
        lines.append(field(Text("Reward ID", "奖励编号"), Text.markup(code(reward.external_id))))
    if reward.reward_id:
        lines.append(field(Text("Feishu's ID", "飞书编号"), Text.markup(code(reward.reward_id))))
    if reward.state is State.REWARDED:
        if balance is not None:
            lines.append(
                field(Text("Balance now", "当前余额"), balance_text(balance[0], balance[1]))
            )
        else:
            lines.append(
                Text(
                    "The balance could not be read after the import.",
                    "导入后未能读取余额。",
                )
            )
    if reward.state is State.REQUESTED:
        lines.append(field(Text("Expires", "过期时间"), Text.same(stamp(reward.expires_at, zone))))
    if reward.state is State.CANCELLED:
        lines.append(field(Text("Cancelled by", "取消人"), person(reward.decided_by)))
    if reward.state is State.UNCERTAIN:
        lines.append(UNCERTAIN_WHY)
    if reward.state in (State.FAILED, State.UNCERTAIN) and reward.error:
        lines.append(field(Text("Reason it failed", "失败原因"), Text.same(reward.error)))
    elements = []
    if notice is not None:
        elements.append(markdown(Text("**{n}**", "**{n}**").format(n=words(notice))))
    elements.append(markdown(join(lines)))
    if reward.state is State.REQUESTED:
        value = {"reward": reward.id}
        elements.append(hr())
        elements.append(
            row(
                button(
                    Text("Approve", "批准"),
                    {"action": "reward_approve", **value},
                    element_id="btn_approve",
                    kind="primary",
                ),
                button(
                    Text("Cancel", "取消"),
                    {"action": "reward_cancel", **value},
                    element_id="btn_cancel",
                ),
            )
        )
    elements.append(zone_footer(zone))
    head = header(title, colour, subtitle=Text.same(f"#{reward.id}"))
    return card(head, elements, summary=title + Text.same(f" #{reward.id}"))


HISTORY = Text("Rewards", "奖励记录")
_BUDGET = MAX_CARD_BYTES - 1024


def _line(item: Reward, zone: str, referral: Referral | None) -> Text:
    heading = (
        Text.same(f"#{item.id} · ")
        + amount_text(item.amount)
        + Text.markup(" · ")
        + STATE_WORDS[item.state]
    )
    second = [Text("for ", "推荐人 ") + person(item.referrer_open_id)]
    if referral is not None:
        second.append(Text.markup(" · ") + candidate(referral.talent_name, referral.job_name))
    third = [
        Text.same(f"{stamp(item.requested_at, zone)} · ") + person(item.requested_by),
    ]
    if item.approved_by:
        third.append(Text(" · approved by ", " · 批准人 ") + person(item.approved_by))
    return join([heading, join(second, ""), Text.data(item.reason or "—"), join(third, "")])


def rewards_card(
    items: Sequence[Reward],
    *,
    total: int,
    zone: str,
    referrals: dict[str, Referral] | None = None,
) -> dict:
    """The rewards granted through the bot, newest first."""
    referrals = referrals or {}
    head = header(HISTORY, "blue", subtitle=Text(plural(total, "reward"), f"共 {total:,} 笔"))
    if not items:
        return card(head, [markdown(Text("No rewards yet.", "还没有奖励记录。"))], summary=HISTORY)
    footer = zone_footer(zone)
    blocks = (
        markdown(_line(item, zone, referrals.get(item.application_id or ""))) for item in items
    )
    elements = stack(
        blocks, head=head, budget=_BUDGET - card_size(footer), reserved=element_count(footer)
    )
    elements.append(footer)
    return card(head, elements, summary=HISTORY)
