"""IM operations: send, reply, patch (update a sent card), delayed card update, bot info."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from . import cards, chats
from .context import Context
from .protocol import (
    CARD_TOKEN_INVALID,
    CARD_TOKEN_USED_UP,
    CARD_V2_TO_V1,
    IM_CONTENT_TOO_LONG,
    IM_MESSAGE_RECALLED,
    IM_RATE_LIMIT,
    ApiError,
    Request,
    im_param_error,
)
from .state import CardToken, Message

RECEIVE_ID_TYPES = ("open_id", "union_id", "user_id", "email", "chat_id")
MSG_TYPES = (
    "text",
    "post",
    "image",
    "file",
    "audio",
    "media",
    "sticker",
    "interactive",
    "share_chat",
    "share_user",
    "system",
)
CARD_LIMIT = 30 * 1024
TEXT_LIMIT = 150 * 1024
UUID_WINDOW = 3600.0
CARD_TOKEN_TTL = 30 * 60.0
CARD_TOKEN_MAX_USES = 2
CHAT_RATE_MSG = "Request trigger frequency limit, ext=the chat's message rate limit was reached"


def new_message_id() -> str:
    return "om_" + secrets.token_hex(16)


def p2p_chat_id(ctx: Context, id_type: str, receive_id: str) -> str:
    """The one-to-one chat a message to a person lands in. A person found in the directory
    (by open_id, union_id, user_id or email) has one chat with the bot, whichever id the bot
    used; an unknown open_id gets its own chat too (other unknown ids: oc_p2p_<id>)."""
    with ctx.state.lock:
        if id_type == "email":
            emp = next((e for e in ctx.state.employees if e.has_email(receive_id)), None)
        else:
            emp = ctx.state.employee_by(id_type, receive_id)
        if emp is not None:
            return ctx.state.p2p_chat_id(emp.open_id)
        if id_type == "open_id":
            return ctx.state.p2p_chat_id(receive_id)
        return f"oc_p2p_{receive_id}"


def message_json(ctx: Context, msg: Message) -> dict[str, Any]:
    created = str(int(msg.created_at * 1000))
    data: dict[str, Any] = {
        "message_id": msg.message_id,
        "msg_type": msg.msg_type,
        "create_time": created,
        "update_time": created,
        "deleted": msg.recalled,
        "updated": bool(msg.updates),
        "chat_id": msg.chat_id,
        "sender": {
            "id": ctx.app_id,
            "id_type": "app_id",
            "sender_type": "app",
            "tenant_key": ctx.tenant_key,
        },
        "body": {"content": msg.raw_content},
    }
    if msg.reply_to:
        data["root_id"] = msg.reply_to
        data["parent_id"] = msg.reply_to
        data["upper_message_id"] = msg.reply_to
    return data


def _success(data: dict[str, Any]) -> dict[str, Any]:
    return {"code": 0, "msg": "success", "data": data}


def _parse_content(msg_type: Any, content: Any) -> dict[str, Any]:
    if not isinstance(msg_type, str) or msg_type not in MSG_TYPES:
        raise im_param_error("invalid msg_type")
    if not isinstance(content, str) or not content:
        raise im_param_error("content is required and must be a JSON string")
    limit = TEXT_LIMIT if msg_type == "text" else CARD_LIMIT
    if len(content.encode("utf-8")) > limit:
        raise ApiError(
            400, IM_CONTENT_TOO_LONG, "The length of the message content reaches its limit"
        )
    try:
        parsed = json.loads(content)
    except ValueError:
        raise im_param_error("invalid content, it is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise im_param_error("invalid content, it must be a JSON object")
    if msg_type == "text" and not isinstance(parsed.get("text"), str):
        raise im_param_error("invalid content, text message needs a text field")
    if msg_type == "interactive":
        cards.check(parsed)
    return parsed


def _dedup(ctx: Context, uuid: Any) -> Message | None:
    if not uuid:
        return None
    if not isinstance(uuid, str) or len(uuid) > 50:
        raise im_param_error("invalid uuid")
    seen = ctx.state.uuids.get(uuid)
    if seen is None or time.time() - seen[1] > UUID_WINDOW:
        return None
    return ctx.state.messages.get(seen[0])


def _send(ctx: Context, body: dict[str, Any], chat_id: str, **fields: Any) -> dict[str, Any]:
    """Post a message the bot sent: once per uuid, within the chat's rate limit."""
    msg_type = body.get("msg_type")
    content = _parse_content(msg_type, body.get("content"))
    with ctx.state.lock:
        first = _dedup(ctx, body.get("uuid"))
        if first is not None:
            return _success(message_json(ctx, first))
        ctx.check_limit("per_chat", chat_id, IM_RATE_LIMIT, CHAT_RATE_MSG)
        msg = Message(
            message_id=new_message_id(),
            chat_id=chat_id,
            msg_type=msg_type,
            content=content,
            created_at=time.time(),
            uuid=body.get("uuid") or None,
            raw_content=body["content"],
            **fields,
        )
        ctx.state.add_message(msg)
        if msg.uuid:
            ctx.state.uuids[msg.uuid] = (msg.message_id, msg.created_at)
        return _success(message_json(ctx, msg))


def message_create(ctx: Context, req: Request) -> dict[str, Any]:
    id_type = req.query.get("receive_id_type")
    if id_type not in RECEIVE_ID_TYPES:
        raise im_param_error("invalid receive_id_type")
    body = req.json()
    receive_id = body.get("receive_id")
    if not isinstance(receive_id, str) or not receive_id:
        raise im_param_error("invalid receive_id")
    if id_type == "chat_id" and not receive_id.startswith("oc_"):
        raise im_param_error("invalid receive_id")
    if id_type == "open_id" and not receive_id.startswith("ou_"):
        raise im_param_error("invalid receive_id")
    chat_id = receive_id if id_type == "chat_id" else p2p_chat_id(ctx, id_type, receive_id)
    chats.check_can_send(ctx, chat_id)
    return _send(ctx, body, chat_id, receive_id=receive_id, receive_id_type=id_type)


def message_reply(ctx: Context, req: Request) -> dict[str, Any]:
    parent = req.params["message_id"]
    if not parent.startswith("om_"):
        raise im_param_error("invalid message_id")
    body = req.json()
    with ctx.state.lock:
        if parent in ctx.state.messages:
            chat_id = ctx.state.messages[parent].chat_id
        else:
            chat_id = ctx.state.user_messages.get(parent, "oc_unknown")
    return _send(ctx, body, chat_id, reply_to=parent)


def _update_multi(card: dict[str, Any]) -> bool:
    config = card.get("config")
    return isinstance(config, dict) and config.get("update_multi") is True


def _is_v2(card: dict[str, Any]) -> bool:
    return str(card.get("schema", "")) == "2.0"


def _check_version(old: dict[str, Any], new: dict[str, Any]) -> None:
    if _is_v2(old) and not _is_v2(new):
        raise ApiError(400, CARD_V2_TO_V1, "card json 2.0 cannot be updated to card json 1.0")


def _current(msg: Message) -> dict[str, Any]:
    return msg.updates[-1] if msg.updates else msg.content


def message_patch(ctx: Context, req: Request) -> dict[str, Any]:
    message_id = req.params["message_id"]
    content = req.json().get("content")
    with ctx.state.lock:
        msg = ctx.state.messages.get(message_id)
        if msg is None:
            raise im_param_error("invalid message_id (not a message this app sent)")
        if msg.recalled:
            raise ApiError(400, IM_MESSAGE_RECALLED, "The message was recalled")
        if msg.msg_type != "interactive":
            raise im_param_error("only interactive (card) messages can be updated")
        new = _parse_content("interactive", content)
        if not _update_multi(_current(msg)) or not _update_multi(new):
            raise im_param_error(
                "card is not shared: config.update_multi must be true in the old and new card"
            )
        _check_version(_current(msg), new)
        ctx.check_limit("per_message_update", message_id, IM_RATE_LIMIT, CHAT_RATE_MSG)
        msg.updates.append(new)
        return _success({})


def issue_card_token(ctx: Context, message_id: str) -> str:
    token = "c-" + secrets.token_hex(20)
    with ctx.state.lock:
        ctx.state.card_tokens[token] = CardToken(token, message_id, time.time())
    return token


def card_update(ctx: Context, req: Request) -> dict[str, Any]:
    body = req.json()
    token = body.get("token")
    card = body.get("card")
    if isinstance(card, str):
        try:
            card = json.loads(card)
        except ValueError:
            card = None
    if not isinstance(token, str) or not isinstance(card, dict):
        raise im_param_error("token and card are required")
    if len(json.dumps(card, ensure_ascii=False).encode("utf-8")) > CARD_LIMIT:
        raise ApiError(400, IM_CONTENT_TOO_LONG, "card content exceeds 30 KB")
    cards.check(card)
    with ctx.state.lock:
        entry = ctx.state.card_tokens.get(token)
        if entry is None or time.time() - entry.issued_at > CARD_TOKEN_TTL:
            raise ApiError(400, CARD_TOKEN_INVALID, "card update token is invalid or expired")
        if entry.uses >= CARD_TOKEN_MAX_USES:
            raise ApiError(400, CARD_TOKEN_USED_UP, "card update token has been used 2 times")
        msg = ctx.state.messages.get(entry.message_id)
        if msg is not None:
            _check_version(_current(msg), card)
        entry.uses += 1
        if msg is not None:
            msg.updates.append(card)
        return {"code": 0, "msg": "success"}


def bot_info(ctx: Context, req: Request) -> dict[str, Any]:
    return {
        "code": 0,
        "msg": "ok",
        "bot": {
            "activate_status": 2,
            "app_name": ctx.bot_name,
            "avatar_url": "",
            "ip_white_list": [],
            "open_id": ctx.bot_open_id,
        },
    }
