"""Cards that say something went wrong (or is going wrong and being waited out), or that the
sender may not use the bot."""

from __future__ import annotations

from cards.layout import card
from cards.text import Text, command, header, markdown, plain

USAGE = Text("Usage", "用法")
NOT_ALLOWED = Text("You are not allowed", "你没有权限")
NOT_ALLOWED_DETAIL = Text(
    "Only HR admins listed in REFERRAL_BOT_ADMINS may run commands or press buttons on "
    "these cards. Ask an admin to add you if you need access.",
    "只有 REFERRAL_BOT_ADMINS 中列出的 HR 管理员才能执行命令或点击卡片按钮。"
    "如需使用，请联系管理员添加。",
)


def error_card(title: Text, detail: Text, *, usage: str | None = None) -> dict:
    """A red card with what went wrong and, when given, the right usage to copy."""
    elements = [{"tag": "div", "text": plain(detail)}]
    if usage is not None:
        elements.append(
            markdown(
                Text(f"**{USAGE.md_en}**\n", f"**{USAGE.md_zh}**\n") + Text.markup(command(usage))
            )
        )
    return card(header(title, "red"), elements, summary=title)


def waiting_card(title: Text, detail: Text) -> dict:
    """An orange card: the work is held up and the bot keeps at it (the card is updated later)."""
    return card(header(title, "orange"), [{"tag": "div", "text": plain(detail)}], summary=title)


def not_allowed_card() -> dict:
    """Shown to anyone who is not an HR admin."""
    return card(
        header(NOT_ALLOWED, "red"),
        [{"tag": "div", "text": plain(NOT_ALLOWED_DETAIL)}],
        summary=NOT_ALLOWED,
    )
