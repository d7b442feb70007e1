"""Whether the bot is in each digest and notice chat: get chat information answers only to a
member, and it only reads."""

from __future__ import annotations

from lark_oapi.api.im.v1 import GetChatRequest

from bot.config import Settings
from bot.feishu.openapi import OpenApi, OpenApiError
from bot.ops.doctor.report import SCOPE_MISSING, Check, refusal, scope_fix

CHAT_SCOPE = "im:chat:readonly"  # to read a chat (im:chat does too)
NOT_IN_CHAT = 232011  # get chat information: the bot is not in the chat
CHAT_ID_INVALID = 232006  # get chat information: no chat has this id
CHAT_SETTINGS = {"digest": "REFERRAL_BOT_DIGEST_CHATS", "notices": "REFERRAL_BOT_NOTICE_CHATS"}


def check_chats(settings: Settings, api: OpenApi | None = None) -> list[Check]:
    """Each digest and notice chat has the bot in it (get chat information answers only to a
    member). Without `api` (no tenant token) nothing is asked."""
    roles: dict[str, list[str]] = {}
    for chat_id in settings.digest_chats:
        roles.setdefault(chat_id, []).append("digest")
    for chat_id in settings.notice_chats:
        roles.setdefault(chat_id, []).append("notices")
    if not roles:
        return [Check("chats", True, "none listed, nothing to check")]
    checks: list[Check] = []
    for chat_id, kinds in roles.items():
        name = f"chat {chat_id} ({' and '.join(kinds)})"
        if api is None:
            checks.append(Check(name, True, "not checked: no tenant token", warning=True))
            continue
        try:
            found = _chat_name(api, chat_id)
        except OpenApiError as err:
            if err.code == SCOPE_MISSING:
                # Every chat answers the same: one line naming the scope instead.
                return [
                    Check(
                        f"permission {CHAT_SCOPE}",
                        False,
                        f"missing (getting chat {chat_id} answers {err.code}), so whether the "
                        f"bot is in its {len(roles)} chat(s) cannot be checked: {scope_fix(err)}",
                    )
                ]
            checks.append(Check(name, False, _unusable_chat(chat_id, kinds, err)))
            continue
        checks.append(Check(name, True, found or "(no name)"))
    return checks


def _unusable_chat(chat_id: str, kinds: list[str], err: OpenApiError) -> str:
    """Why nothing can be posted to a listed chat, and what to fix. A chat that cannot be
    checked fails too: the digest or notices would go nowhere, and no one would hear of it."""
    if err.code == NOT_IN_CHAT:
        return f"the bot is not in chat {chat_id}: add the bot to the group (group settings → Bots)"
    settings = " and ".join(CHAT_SETTINGS[kind] for kind in kinds)
    if err.code == CHAT_ID_INVALID:
        return (
            f"there is no chat {chat_id} (code {err.code}), so nothing can be posted to it: "
            f"fix {settings}"
        )
    return f"could not check that chat {chat_id} can be posted to: {refusal(err)}"


def _chat_name(api: OpenApi, chat_id: str) -> str:
    request = GetChatRequest.builder().chat_id(chat_id).build()
    response = api.call("chat_get", lambda: api.client.im.v1.chat.get(request), idempotent=True)
    return (response.data.name if response.data else None) or ""
