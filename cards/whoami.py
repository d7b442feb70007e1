"""`/referral whoami`: the IDs the settings take, each in a code span (one tap copies it)."""

from __future__ import annotations

from cards.layout import card
from cards.text import Text, code, header, markdown

TITLE = Text("Your IDs for the settings", "用于配置的 ID")


def whoami_card(open_id: str | None, chat_id: str | None) -> dict:
    """The asker's `open_id`, and the group's `chat_id` when asked in a group (None in the
    one-to-one chat, whose id no setting takes)."""
    if open_id:
        you = Text(f"Your open_id: {code(open_id)}", f"你的 open_id：{code(open_id)}")
    else:
        you = Text("Feishu did not say who sent this.", "飞书未提供发送者信息。")
    elements = [markdown(you)]
    if chat_id:
        elements.append(
            markdown(
                Text(f"This group's chat_id: {code(chat_id)}", f"本群的 chat_id：{code(chat_id)}")
            )
        )
        where = Text(
            "REFERRAL_BOT_ADMINS and REFERRAL_BOT_WITHDRAW_APPROVERS take open_ids; "
            "REFERRAL_BOT_DIGEST_CHATS and REFERRAL_BOT_NOTICE_CHATS take chat_ids.",
            "REFERRAL_BOT_ADMINS 和 REFERRAL_BOT_WITHDRAW_APPROVERS 填 open_id；"
            "REFERRAL_BOT_DIGEST_CHATS 和 REFERRAL_BOT_NOTICE_CHATS 填 chat_id。",
        )
    else:
        where = Text(
            "REFERRAL_BOT_ADMINS and REFERRAL_BOT_WITHDRAW_APPROVERS take open_ids. For a "
            "group's chat_id, add the bot to the group and send @bot /referral whoami there.",
            "REFERRAL_BOT_ADMINS 和 REFERRAL_BOT_WITHDRAW_APPROVERS 填 open_id。"
            "如需群的 chat_id，请把机器人加入该群，并在群里发送 @机器人 /referral whoami。",
        )
    elements.append(markdown(where, size="notation"))
    return card(header(TITLE, "blue"), elements, summary=TITLE)
