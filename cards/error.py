"""Cards that say something went wrong (or is going wrong and being waited out), or that the
sender may not use the bot."""

from __future__ import annotations

from cards.layout import card
from cards.text import Text, command, header, markdown, plain
from cards.when import zone_footer

USAGE = Text("Usage", "用法")
NOT_ALLOWED = Text("You are not allowed", "你没有权限")
# Staff read this: it names no setting (the log and `doctor` do, for whoever runs the bot).
NOT_ALLOWED_DETAIL = Text(
    "Only HR admins may run this command. Send /referral help to see what you can do, "
    "and ask your HR team if you need more.",
    "只有 HR 管理员才能执行此命令。发送 /referral help 查看你可以使用的命令，"
    "如需更多权限，请联系你的 HR 团队。",
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


def waiting_card(title: Text, detail: Text, *, zone: str | None = None) -> dict:
    """An orange card: the work is held up and the bot keeps at it (the card is updated later).
    A `detail` that tells a time gives its `zone`, named once in the footer."""
    elements = [{"tag": "div", "text": plain(detail)}]
    if zone is not None:
        elements.append(zone_footer(zone))
    return card(header(title, "orange"), elements, summary=title)


def not_allowed_card() -> dict:
    """Shown to anyone who is not an HR admin and asks for what only admins may do."""
    return card(
        header(NOT_ALLOWED, "red"),
        [{"tag": "div", "text": plain(NOT_ALLOWED_DETAIL)}],
        summary=NOT_ALLOWED,
    )
