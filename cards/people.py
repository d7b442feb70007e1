"""Cards about finding people's accounts: nobody found, and "you have no account"."""

from __future__ import annotations

from cards.layout import button, card
from cards.text import Text, code, header, markdown

REGISTER = Text("Register", "注册")


def no_account_card(looked_for: str, register: str | None, value: dict | None = None) -> dict:
    """No known account matches `looked_for`; `register` is the command that would create one,
    `value` the Register button's callback value (when an email or mobile is known)."""
    title = Text("No account found", "未找到账户")
    lines = Text(
        "No referral account the bot knows belongs to {who}.",
        "机器人已知的内推账户中没有属于 {who} 的。",
    ).format(who=looked_for)
    if register:
        # The command holds a contact from outside: `code` shows it escaped if it must.
        lines = lines + Text("\nTo create one: {command}", "\n如需创建：{command}").format(
            command=Text.markup(code(register))
        )
    elements = [markdown(lines)]
    if value is not None:
        elements.append(button(REGISTER, value, element_id="btn_register", kind="primary"))
    return card(header(title, "orange"), elements, summary=title)


def no_own_account_card() -> dict:
    """`/referral me` for someone with no account."""
    title = Text("No referral account yet", "你还没有内推账户")
    detail = Text(
        "No referral account is linked to you. Ask HR to register you "
        "(they send /referral register with your email or mobile).",
        "还没有与你关联的内推账户。请联系 HR 为你注册"
        "（使用你的邮箱或手机号发送 /referral register）。",
    )
    return card(header(title, "blue"), [markdown(detail)], summary=title)
