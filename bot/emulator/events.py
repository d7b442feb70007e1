"""The Feishu -> bot side: event and card-callback envelopes (schema 2.0), encryption,
signatures and delivery. Builders are pure; `deliver` does the HTTP POST."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from Crypto.Cipher import AES
from Crypto.Util.Padding import pad

from . import contact, scopes
from .state import Employee

DEFAULT_TENANT = "tenant_emulated"
MENU_EVENT_KEY_MAX = 30


def _event_id() -> str:
    return secrets.token_hex(16)


def _ms(value: int | str | None = None) -> str:
    return str(value) if value is not None else str(int(time.time() * 1000))


def _header(
    event_type: str,
    *,
    token: str,
    app_id: str,
    tenant_key: str,
    event_id: str | None,
    create_time: int | str | None,
) -> dict[str, Any]:
    return {
        "event_id": event_id or _event_id(),
        "event_type": event_type,
        "create_time": _ms(create_time),
        "token": token,
        "app_id": app_id,
        "tenant_key": tenant_key,
    }


def user_ids(
    open_id: str, union_id: str | None = None, user_id: str | None = None
) -> dict[str, str]:
    """A person's id triple; missing ids default like `Employee`'s (on_<x>, u_<x>)."""
    suffix = open_id.removeprefix("ou_")
    return {
        "open_id": open_id,
        "union_id": f"on_{suffix}" if union_id is None else union_id,
        "user_id": f"u_{suffix}" if user_id is None else user_id,
    }


def _envelope(
    event_type: str,
    event: dict[str, Any],
    *,
    token: str,
    app_id: str,
    tenant_key: str,
    event_id: str | None,
    create_time: int | str | None,
) -> dict[str, Any]:
    header = _header(
        event_type,
        token=token,
        app_id=app_id,
        tenant_key=tenant_key,
        event_id=event_id,
        create_time=create_time,
    )
    return {"schema": "2.0", "header": header, "event": event}


def user_mention(
    key: str,
    open_id: str,
    name: str,
    *,
    union_id: str | None = None,
    user_id: str | None = None,
    tenant_key: str = DEFAULT_TENANT,
) -> dict[str, Any]:
    """A `mentions` entry for a person; the message text refers to it by `key` ("@_user_1")."""
    return {
        "key": key,
        "id": user_ids(open_id, union_id, user_id),
        "name": name,
        "tenant_key": tenant_key,
    }


def bot_mention(
    name: str = "referral-bot",
    open_id: str = "ou_bot",
    *,
    index: int = 1,
    tenant_key: str = DEFAULT_TENANT,
) -> dict[str, Any]:
    """A `mentions` entry; the message text refers to it as `@_user_<index>`."""
    return {
        "key": f"@_user_{index}",
        "id": {"open_id": open_id, "union_id": "", "user_id": ""},
        "name": name,
        "tenant_key": tenant_key,
    }


def message_event(
    text: str,
    *,
    token: str,
    open_id: str = "ou_admin",
    chat_id: str = "oc_chat",
    chat_type: str = "p2p",
    message_id: str | None = None,
    event_id: str | None = None,
    mentions: list[dict[str, Any]] | None = None,
    app_id: str = "cli_x",
    create_time: int | str | None = None,
    tenant_key: str = DEFAULT_TENANT,
    root_id: str = "",
    parent_id: str = "",
    union_id: str | None = None,
    user_id: str | None = None,
) -> dict[str, Any]:
    """An `im.message.receive_v1` push for a text message, as Feishu sends it.

    `mentions`: entries from `user_mention` / `bot_mention`, whose keys the text holds.
    `union_id` / `user_id`: the sender's other ids (default: derived from `open_id`)."""
    created = _ms(create_time)
    message: dict[str, Any] = {
        "message_id": message_id or "om_" + secrets.token_hex(16),
        "root_id": root_id,
        "parent_id": parent_id,
        "create_time": created,
        "update_time": created,
        "chat_id": chat_id,
        "chat_type": chat_type,
        "message_type": "text",
        "content": json.dumps({"text": text}, ensure_ascii=False),
    }
    if mentions:
        message["mentions"] = mentions
    return {
        "schema": "2.0",
        "header": _header(
            "im.message.receive_v1",
            token=token,
            app_id=app_id,
            tenant_key=tenant_key,
            event_id=event_id,
            create_time=created,
        ),
        "event": {
            "sender": {
                "sender_id": user_ids(open_id, union_id, user_id),
                "sender_type": "user",
                "tenant_key": tenant_key,
            },
            "message": message,
        },
    }


def card_action(
    value: dict[str, Any],
    *,
    open_id: str,
    message_id: str,
    chat_id: str,
    token: str,
    card_token: str | None = None,
    event_id: str | None = None,
    app_id: str = "cli_x",
    tenant_key: str = DEFAULT_TENANT,
    tag: str = "button",
    create_time: int | str | None = None,
) -> dict[str, Any]:
    """A `card.action.trigger` callback (lark_oapi.event.callback.model.p2_card_action_trigger)."""
    operator = {"tenant_key": tenant_key, **user_ids(open_id)}
    return {
        "schema": "2.0",
        "header": _header(
            "card.action.trigger",
            token=token,
            app_id=app_id,
            tenant_key=tenant_key,
            event_id=event_id,
            create_time=create_time,
        ),
        "event": {
            "operator": operator,
            "token": card_token or "c-" + secrets.token_hex(20),
            "action": {"value": value, "tag": tag},
            "host": "im_message",
            "context": {"open_message_id": message_id, "open_chat_id": chat_id},
        },
    }


def assets_update_event(
    account_id: str,
    points: int,
    cash: dict[str, Decimal | float | str],
    *,
    token: str,
    event_id: str | None = None,
    app_id: str = "cli_x",
    tenant_key: str = DEFAULT_TENANT,
    modify_time: int | str | None = None,
) -> dict[str, Any]:
    """A `hire.referral_account.assets_update_v1` event (P2HireReferralAccountAssetsUpdateV1)."""
    cash_bonus = [
        {"currency_type": cur, "amount": float(Decimal(str(amount)).quantize(Decimal("0.01")))}
        for cur, amount in sorted(cash.items())
    ]
    return {
        "schema": "2.0",
        "header": _header(
            "hire.referral_account.assets_update_v1",
            token=token,
            app_id=app_id,
            tenant_key=tenant_key,
            event_id=event_id,
            create_time=None,
        ),
        "event": {
            "account_id": account_id,
            "assets": {"confirmed_bonus": {"point_bonus": int(points), "cash_bonus": cash_bonus}},
            "modify_time": _ms(modify_time),
        },
    }


def p2p_chat_entered_event(
    open_id: str,
    chat_id: str,
    *,
    token: str,
    union_id: str | None = None,
    user_id: str | None = None,
    last_message_id: str | None = None,
    last_message_create_time: int | str | None = None,
    event_id: str | None = None,
    app_id: str = "cli_x",
    tenant_key: str = DEFAULT_TENANT,
    create_time: int | str | None = None,
) -> dict[str, Any]:
    """`im.chat.access_event.bot_p2p_chat_entered_v1`: a person opened their one-to-one chat
    with the bot (P2ImChatAccessEventBotP2pChatEnteredV1)."""
    event: dict[str, Any] = {
        "chat_id": chat_id,
        "operator_id": user_ids(open_id, union_id, user_id),
    }
    if last_message_id is not None:
        event["last_message_id"] = last_message_id
    if last_message_create_time is not None:
        event["last_message_create_time"] = str(last_message_create_time)
    return _envelope(
        "im.chat.access_event.bot_p2p_chat_entered_v1",
        event,
        token=token,
        app_id=app_id,
        tenant_key=tenant_key,
        event_id=event_id,
        create_time=create_time,
    )


def bot_menu_event(
    open_id: str,
    event_key: str,
    *,
    token: str,
    operator_name: str | None = None,
    union_id: str | None = None,
    user_id: str | None = None,
    timestamp: int | None = None,
    event_id: str | None = None,
    app_id: str = "cli_x",
    tenant_key: str = DEFAULT_TENANT,
    create_time: int | str | None = None,
) -> dict[str, Any]:
    """`application.bot.menu_v6`: a person pressed a "push event" item of the bot's menu
    (P2ApplicationBotMenuV6). `timestamp`: when, in whole seconds, an integer (the SDK's type;
    the API page calls it a string); `event_key`: 1 to 30 characters."""
    if not isinstance(event_key, str) or not 1 <= len(event_key) <= MENU_EVENT_KEY_MAX:
        raise ValueError(f"event_key must be 1 to {MENU_EVENT_KEY_MAX} characters")
    operator: dict[str, Any] = {"operator_id": user_ids(open_id, union_id, user_id)}
    if operator_name is not None:
        operator["operator_name"] = operator_name
    event = {
        "operator": operator,
        "event_key": event_key,
        "timestamp": int(time.time()) if timestamp is None else int(timestamp),
    }
    return _envelope(
        "application.bot.menu_v6",
        event,
        token=token,
        app_id=app_id,
        tenant_key=tenant_key,
        event_id=event_id,
        create_time=create_time,
    )


def user_deleted_event(
    user: Employee | dict[str, Any],
    *,
    token: str,
    granted_scopes: Iterable[str] = scopes.DEFAULT_SCOPES,
    event_id: str | None = None,
    app_id: str = "cli_x",
    tenant_key: str = DEFAULT_TENANT,
    create_time: int | str | None = None,
) -> dict[str, Any]:
    """`contact.user.deleted_v3`: a person left (P2ContactUserDeletedV3). `event.object` is the
    whole user (status resigned) under the field scopes in `granted_scopes`;
    `event.old_object` is {open_id, department_ids}. `user`: an Employee, or the user's fields
    as a contact answer shows them (open_id required)."""
    granted = scopes.normalize(granted_scopes)
    if isinstance(user, Employee):
        whole = contact.user_json(replace(user, resigned=True))
    else:
        if not isinstance(user.get("open_id"), str) or not user["open_id"]:
            raise ValueError("the user needs an open_id")
        whole = dict(user)
    obj = scopes.visible(whole, scopes.USER_FIELD_SCOPES, granted)
    old = {"open_id": whole["open_id"], "department_ids": list(whole.get("department_ids") or [])}
    return _envelope(
        "contact.user.deleted_v3",
        {"object": obj, "old_object": old},
        token=token,
        app_id=app_id,
        tenant_key=tenant_key,
        event_id=event_id,
        create_time=create_time,
    )


def url_verification(token: str, challenge: str | None = None) -> dict[str, Any]:
    return {
        "challenge": challenge or secrets.token_hex(12),
        "token": token,
        "type": "url_verification",
    }


def encrypt(payload: dict[str, Any] | bytes | str, encrypt_key: str) -> dict[str, str]:
    """`{"encrypt": base64(iv || AES-256-CBC(sha256(key), iv, pkcs7(plaintext)))}`."""
    if isinstance(payload, dict):
        plaintext = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    elif isinstance(payload, str):
        plaintext = payload.encode("utf-8")
    else:
        plaintext = payload
    key = hashlib.sha256(encrypt_key.encode("utf-8")).digest()
    iv = secrets.token_bytes(AES.block_size)
    cipher = AES.new(key, AES.MODE_CBC, iv)
    sealed = iv + cipher.encrypt(pad(plaintext, AES.block_size))
    return {"encrypt": base64.b64encode(sealed).decode("ascii")}


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + body).hexdigest()


def signed_headers(
    body: bytes,
    encrypt_key: str,
    timestamp: str | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers Feishu puts on every push: timestamp, nonce, signature, content type."""
    ts = timestamp or str(int(time.time()))
    nc = nonce or secrets.token_hex(8)
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-Lark-Request-Timestamp": ts,
        "X-Lark-Request-Nonce": nc,
        "X-Lark-Signature": signature(ts, nc, encrypt_key, body),
        "X-Request-Id": secrets.token_hex(16),
    }


@dataclass
class DeliveryResult:
    status: int
    body: dict[str, Any] | str
    elapsed: float
    headers: dict[str, str] | None = None


def encode(payload: dict[str, Any] | bytes, encrypt_key: str = "") -> bytes:
    """The bytes Feishu would POST for `payload` (encrypted when there is a key)."""
    if isinstance(payload, dict):
        if encrypt_key:
            return json.dumps(encrypt(payload, encrypt_key)).encode("utf-8")
        return json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return payload


def deliver(
    url: str,
    payload: dict[str, Any] | bytes,
    *,
    encrypt_key: str = "",
    timeout: float = 10,
    headers: dict[str, str] | None = None,
    timestamp: int | None = None,
) -> DeliveryResult:
    """POST an event or callback to the bot like Feishu does. Raw bytes are sent unchanged;
    `timestamp` (Unix seconds, signed like any other) replays a push sent at that time."""
    body = encode(payload, encrypt_key)
    all_headers = signed_headers(body, encrypt_key, None if timestamp is None else str(timestamp))
    all_headers.update(headers or {})
    request = urllib.request.Request(url, data=body, headers=all_headers, method="POST")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            status, raw, resp_headers = resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as err:
        status, raw, resp_headers = err.code, err.read(), dict(err.headers)
    elapsed = time.monotonic() - started
    text = raw.decode("utf-8", errors="replace")
    try:
        parsed: dict[str, Any] | str = json.loads(text)
    except ValueError:
        parsed = text
    return DeliveryResult(status, parsed, elapsed, resp_headers)
