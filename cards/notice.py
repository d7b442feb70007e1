"""Notice cards: the batched balance changes for HR, the referrer's own message, and the
leaver prompt (Withdraw, Disable, Keep) with its outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.accounts import Account, Cash
from cards.account import field, status_tag
from cards.layout import (
    MAX_CARD_BYTES,
    button,
    card,
    hr,
    row,
    stack,
)
from cards.money import balance_text, change_text
from cards.names import named
from cards.text import Text, header, join, markdown, plural

# Room for the header, the "and N more" line and the card's envelope; at most this many lines
# (two elements each with its hr), and never more than Feishu's 200 elements hold.
_BUDGET = MAX_CARD_BYTES - 2048
MAX_LINES = 150


@dataclass(frozen=True)
class BalanceLine:
    """One account's change in a notice: who (the referrer's name or contact in plain words,
    None when neither is known; see `cards.names`), by how much, and the balance now."""

    who: Text | None
    account_id: str
    points_delta: int
    cash_delta: tuple[Cash, ...]
    points: int
    cash: tuple[Cash, ...]


TITLE = Text("Referral balances changed", "内推余额变动")


def balance_notice_card(lines: Sequence[BalanceLine]) -> dict:
    """Every account whose balance changed in the window, within 30 KB: "… and N more"."""
    head = header(
        TITLE, "turquoise", subtitle=Text(plural(len(lines), "account"), f"{len(lines):,} 个账户")
    )
    blocks = (
        markdown(
            join(
                [
                    named(line.account_id, line.who),
                    Text("Change: ", "变动：") + change_text(line.points_delta, line.cash_delta),
                    Text("Now: ", "现在：") + balance_text(line.points, line.cash),
                ]
            )
        )
        for line in lines
    )
    # Feishu's element limit: the header's, the "and N more" line, and two per line shown.
    elements = stack(blocks, head=head, budget=_BUDGET, reserved=1, limit=MAX_LINES)
    shown = (len(elements) + 1) // 2
    if shown < len(lines):
        more = len(lines) - shown
        elements.append(
            markdown(Text(f"… and {more:,} more", f"… 还有 {more:,} 个"), size="notation")
        )
    return card(head, elements, summary=TITLE + Text.same(f" ({len(lines)})"))


def referrer_card(
    points_delta: int, cash_delta: Sequence[Cash], points: int, cash: Sequence[Cash]
) -> dict:
    """To the referrer: their bonus grew, by how much and what it is now."""
    title = Text("Your referral bonus grew", "你的内推奖励增加了")
    grew = [c for c in cash_delta if c.amount > 0]
    text = join(
        [
            Text("Added: ", "新增：") + change_text(max(points_delta, 0), grew),
            Text("Your balance now: ", "当前余额：") + balance_text(points, cash),
            Text("Thank you for your referral!", "感谢你的内推！"),
        ]
    )
    return card(header(title, "green"), [markdown(text)], summary=title)


ACCOUNT = Text("Account", "账户")
LEAVER_TITLE = Text("A referrer has left", "内推人已离职")
KEEP = Text("Keep", "保留")
WITHDRAW = Text("Withdraw", "提取")
DISABLE = Text("Disable", "停用")


def leaver_card(name: Text, account: Account, *, decided: Text | None = None) -> dict:
    """Naming the person (`name` in plain words, each reader's language), the account, its
    status and balance; Withdraw, Disable and Keep while nobody has decided, then what was
    decided (`decided`: markdown of ours, e.g. who with `mention`)."""
    label, _ = status_tag(account)
    text = join(
        [
            field(ACCOUNT, named(account.account_id, name)),
            field(Text("Status", "状态"), label),
            field(Text("Balance", "余额"), balance_text(account.points, account.cash)),
        ]
    )
    elements = [markdown(text)]
    if decided is not None:
        elements.append(markdown(Text("**{decided}**", "**{decided}**").format(decided=decided)))
    else:
        value = {"account_id": account.account_id}
        actions = []
        if account.enabled and (account.points or any(c.amount for c in account.cash)):
            actions.append(
                button(WITHDRAW, {"action": "withdraw", **value}, element_id="btn_withdraw")
            )
        if account.enabled:
            actions.append(
                button(
                    DISABLE, {"action": "disable", **value}, element_id="btn_disable", kind="danger"
                )
            )
        keep = {"action": "keep", **value, "name": name.en[:100], "name_zh": name.zh[:100]}
        actions.append(button(KEEP, keep, element_id="btn_keep"))
        elements += [hr(), row(*actions)]
    return card(header(LEAVER_TITLE, "orange"), elements, summary=LEAVER_TITLE)


def leaver_disabled_card(name: Text, account: Account) -> dict:
    """`REFERRAL_BOT_OFFBOARDING=disable`: what the bot did, and the balance left."""
    title = Text("A referrer has left: account disabled", "内推人已离职：账户已停用")
    text = join(
        [
            field(ACCOUNT, named(account.account_id, name)),
            Text(
                "The bot disabled the account. Balance left (withdraw it after enabling the "
                "account, or leave it): ",
                "机器人已停用该账户。剩余余额（可重新启用后提取，或保留）：",
            )
            + balance_text(account.points, account.cash),
        ]
    )
    return card(header(title, "grey"), [markdown(text)], summary=title)
