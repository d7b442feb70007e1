"""The card for one referral account: balance, referrer and the enable/disable buttons."""

from __future__ import annotations

from bot.domain.accounts import Account, Referrer
from bot.domain.people import contact_keys
from cards.layout import button, card, hr, row
from cards.money import balance_text
from cards.names import referrer_name, who
from cards.text import Text, header, join, markdown, words

TITLE = Text("Referral account", "内推账户")
ENABLED = Text("Enabled", "已启用")
DISABLED = Text("Disabled", "已停用")
ACCOUNT = Text("Account", "账户")
BALANCE = Text("Balance", "余额")

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


def field(label: Text, value: Text) -> Text:
    """A bold label and its value on one markdown line."""
    return Text("**{label}**: {value}", "**{label}**：{value}").format(label=label, value=value)


def same_contact(contact: str | None, other: str | None) -> bool:
    """Whether two contacts are one email or one mobile, however each is written."""
    if not contact or not other:
        return False
    return bool(contact_keys(contact)) and contact_keys(contact) == contact_keys(other)


def referrer_text(referrer: Referrer, shown: str | None = None) -> Text | None:
    """The referrer's email and mobile but the one `shown` already; None if nothing is left."""
    lines = []
    if referrer.email and not same_contact(referrer.email, shown):
        lines.append(field(Text("Email", "邮箱"), Text.same(referrer.email)))
    if referrer.mobile and not same_contact(referrer.mobile, shown):
        lines.append(field(Text("Mobile", "手机"), Text.same(referrer.mobile)))
    return join(lines) if lines else None


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

    # Named as every card names an account, the ID once (the header names none); each contact
    # once: the one it was registered with stands for the name when Feishu gave none, and is
    # left to the referrer's Email or Mobile line when it is theirs.
    referrer = account.referrer
    name = referrer_name(referrer)
    theirs = (referrer.email, referrer.mobile) if referrer is not None else ()
    lines = [field(ACCOUNT, who(account.account_id, referrer, contact))]
    if contact and name is not None and not any(same_contact(contact, c) for c in theirs):
        lines.append(field(Text("Contact", "联系方式"), Text.same(contact)))
    lines.append(field(BALANCE, balance_text(account.points, account.cash)))
    elements.append(markdown(join(lines)))

    shown = contact if name is None else None
    contacts = referrer_text(referrer, shown=shown) if referrer is not None else None
    if contacts is not None:
        elements.append(hr())
        elements.append(markdown(contacts))

    label, colour = status_tag(account)
    head = header(TITLE, "green" if account.enabled else "grey", tags=[(label, colour)])
    summary = TITLE + Text.markup(" · ") + (name or Text.same(account.account_id))
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
