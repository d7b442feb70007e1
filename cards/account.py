"""The card for one referral account: balance, referrer and the enable/disable buttons."""

from __future__ import annotations

from bot.accounts import Account, Cash, Referrer
from cards.layout import button, card, hr, row
from cards.money import format_cash, format_points
from cards.text import Text, code, header, join, markdown, words

TITLE = Text("Referral account", "内推账户")
ENABLED = Text("Enabled", "已启用")
DISABLED = Text("Disabled", "已停用")
NO_CASH = Text("no cash bonus", "无现金奖励")

DISABLE = Text("Disable", "停用")
ENABLE = Text("Enable", "启用")
REFRESH = Text("Refresh", "刷新")
WITHDRAW = Text("Withdraw", "提取")
DISABLE_CONFIRM_TITLE = Text("Disable this referral account?", "确定停用该内推账户？")
DISABLE_CONFIRM_TEXT = Text(
    "Once disabled, the account stops receiving balance-change events and its balance "
    "cannot be withdrawn until it is enabled again.",
    "停用后，该账户将不再接收余额变动事件，在重新启用之前余额无法提现。",
)


def status_tag(account: Account) -> tuple[Text, str]:
    """The status as (label, colour) for a `text_tag`."""
    return (ENABLED, "green") if account.enabled else (DISABLED, "red")


def cash_lines(cash: tuple[Cash, ...]) -> Text:
    """Each cash bonus on its own line, or the "no cash bonus" line."""
    if not cash:
        return NO_CASH
    return join(Text.markup("- ") + Text.same(format_cash(item)) for item in cash)


def field(label: Text, value: Text) -> Text:
    """A bold label and its value on one markdown line."""
    return Text("**{label}**: {value}", "**{label}**：{value}").format(label=label, value=value)


def referrer_text(referrer: Referrer) -> Text:
    """Referrer's name in the reader's language (falling back to the other) and contacts."""
    name_en = referrer.name_en or referrer.name_zh
    name_zh = referrer.name_zh or referrer.name_en
    lines = [
        field(
            Text("Referrer", "内推人"),
            Text.data(name_en, name_zh) if name_en and name_zh else Text("(no name)", "（无姓名）"),
        )
    ]
    if referrer.email:
        lines.append(field(Text("Email", "邮箱"), Text.same(referrer.email)))
    if referrer.mobile:
        lines.append(field(Text("Mobile", "手机"), Text.same(referrer.mobile)))
    return join(lines)


def account_card(
    account: Account,
    *,
    contact: str | None = None,
    notice: Text | None = None,
    read_only: bool = False,
) -> dict:
    """The account with its status, balance, referrer and the actions that apply to it
    (none when `read_only`: a person looking at their own account); `notice` (plain words,
    such as an error Feishu gave) in bold above."""
    elements: list[dict] = []
    if notice is not None:
        elements.append(markdown(Text("**{notice}**", "**{notice}**").format(notice=words(notice))))

    lines = [field(Text("Account ID", "账户 ID"), Text.markup(code(account.account_id)))]
    if contact:
        lines.append(field(Text("Contact", "联系方式"), Text.same(contact)))
    lines.append(field(Text("Points", "积分"), Text.same(format_points(account.points))))
    cash = cash_lines(account.cash)
    if account.cash:
        lines.append(Text("**Cash bonus**:\n", "**现金奖励**：\n") + cash)
    else:
        lines.append(field(Text("Cash bonus", "现金奖励"), cash))
    elements.append(markdown(join(lines)))

    if account.referrer is not None:
        elements.append(hr())
        elements.append(markdown(referrer_text(account.referrer)))

    label, colour = status_tag(account)
    head = header(
        TITLE,
        "green" if account.enabled else "grey",
        subtitle=Text.same(account.account_id),
        tags=[(label, colour)],
    )
    summary = TITLE + Text.same(f" {account.account_id}")
    if read_only:
        return card(head, elements, summary=summary)
    value = {"account_id": account.account_id}
    if account.enabled:
        toggle = button(
            DISABLE,
            {"action": "disable", **value},
            element_id="btn_disable",
            kind="danger",
            confirm=(DISABLE_CONFIRM_TITLE, DISABLE_CONFIRM_TEXT),
        )
    else:
        toggle = button(
            ENABLE, {"action": "enable", **value}, element_id="btn_enable", kind="primary"
        )
    refresh = button(REFRESH, {"action": "refresh", **value}, element_id="btn_refresh")
    actions = [toggle, refresh]
    if account.enabled and (account.points or any(c.amount for c in account.cash)):
        # A disabled account cannot withdraw; an empty one has nothing to.
        actions.insert(
            1, button(WITHDRAW, {"action": "withdraw", **value}, element_id="btn_withdraw")
        )
    elements.append(hr())
    elements.append(row(*actions))
    return card(head, elements, summary=summary)
