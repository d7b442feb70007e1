"""The usage card: every command on one line, compact enough for one screen."""

from __future__ import annotations

from collections.abc import Sequence

from cards.layout import card
from cards.text import Text, command, header, join, markdown

TITLE = Text("referral-bot help", "使用帮助")
GROUP_HINT = Text("In a group, @mention the bot first.", "群聊中请先 @机器人。")


def help_card(commands: Sequence[tuple[str, Text]], note: Text | None = None) -> dict:
    """`commands` are (usage, description) pairs, e.g. ("/referral show <id>", Text(...));
    `note` a line under them (what a placeholder in the usages means)."""
    elements = []
    if commands:
        lines = join(Text.markup(command(usage) + " ") + desc for usage, desc in commands)
        elements.append(markdown(lines))
    if note is not None:
        elements.append(markdown(note, size="notation"))
    elements.append(markdown(GROUP_HINT, size="notation"))
    return card(header(TITLE, "blue"), elements, summary=TITLE)
