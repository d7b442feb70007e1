"""Chats: `GET /open-apis/im/v1/chats/:chat_id` (chat info) and the bot's membership.

Feishu's rules (get chat information page): the app needs im:chat or im:chat:readonly (see
scopes.py); the bot must be in the chat, else 232011 "Operator can NOT be out of the chat."
(HTTP 400); an id that is not a chat id answers 232006. A message the bot sends to a chat it is
not in fails with 230002 "Bot/User can NOT be out of the chat." (`check_can_send`).

By default the bot is in every chat (any `oc_` id); `remove` / `add` change that. A chat the
emulator knows as a one-to-one chat (see `State.p2p_chat_id`) answers chat_mode "p2p".
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

from .context import Context
from .protocol import ApiError, Request
from .state import State

CHAT_ID_INVALID = 232006  # documented: "Your request specifies a chat_id which is invalid."
OPERATOR_NOT_IN_CHAT = 232011  # documented: the caller (the bot) is not in the chat
BOT_NOT_IN_CHAT = 230002  # documented for send message: the bot is not in the chat


@dataclass
class Chats:
    """The emulated chats' settings: the chats the bot left, and names set by tests."""

    without_bot: set[str] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)


# Chats live beside the tenant's state (one store per emulator), dropped with it.
_CHATS: weakref.WeakKeyDictionary[State, Chats] = weakref.WeakKeyDictionary()


def chats(state: State) -> Chats:
    """This tenant's chats; hold `state.lock` while using it."""
    with state.lock:
        return _CHATS.setdefault(state, Chats())


def clear(state: State) -> None:
    with state.lock:
        _CHATS.pop(state, None)


def remove(state: State, chat_id: str) -> None:
    with state.lock:
        chats(state).without_bot.add(chat_id)


def add(state: State, chat_id: str, name: str | None = None) -> None:
    with state.lock:
        store = chats(state)
        store.without_bot.discard(chat_id)
        if name is not None:
            store.names[chat_id] = name


def has_bot(state: State, chat_id: str) -> bool:
    with state.lock:
        return chat_id not in chats(state).without_bot


def check_can_send(ctx: Context, chat_id: str) -> None:
    """230002 when the bot sends to a chat it is not in."""
    if not has_bot(ctx.state, chat_id):
        raise ApiError(400, BOT_NOT_IN_CHAT, "Bot/User can NOT be out of the chat.")


def _is_p2p(state: State, chat_id: str) -> bool:
    with state.lock:
        return chat_id in state.p2p_chats.values() or chat_id.startswith("oc_p2p_")


def chat_json(ctx: Context, chat_id: str) -> dict[str, Any]:
    """The chat as the get-chat answer shows it to a bot that is a member."""
    with ctx.state.lock:
        p2p = _is_p2p(ctx.state, chat_id)
        name = chats(ctx.state).names.get(chat_id, "" if p2p else f"Group {chat_id}")
    return {
        "avatar": "",
        "name": name,
        "description": "",
        "i18n_names": {},
        "add_member_permission": "all_members",
        "share_card_permission": "allowed",
        "at_all_permission": "all_members",
        "edit_permission": "all_members",
        "owner_id_type": "open_id",
        "owner_id": "",
        "chat_mode": "p2p" if p2p else "group",
        "chat_type": "private",
        "chat_tag": "inner",
        "external": False,
        "tenant_key": ctx.tenant_key,
        "user_count": "1" if p2p else "2",
        "bot_count": "1",
        "chat_status": "normal",
    }


def chat_get(ctx: Context, req: Request) -> dict[str, Any]:
    chat_id = req.params["chat_id"]
    if not chat_id.startswith("oc_"):
        raise ApiError(400, CHAT_ID_INVALID, "Your request specifies a chat_id which is invalid.")
    if not has_bot(ctx.state, chat_id):
        raise ApiError(400, OPERATOR_NOT_IN_CHAT, "Operator can NOT be out of the chat.")
    return {"code": 0, "msg": "success", "data": chat_json(ctx, chat_id)}
