"""Sending and updating interactive cards in chats (im/v1 messages and delayed card update),
and sending files (im/v1 files, then a file message)."""

from __future__ import annotations

import json
import logging
import threading

from lark_oapi.api.im.v1 import (
    CreateFileRequest,
    CreateFileRequestBody,
    CreateMessageRequest,
    CreateMessageRequestBody,
    PatchMessageRequest,
    PatchMessageRequestBody,
    ReplyMessageRequest,
    ReplyMessageRequestBody,
)
from lark_oapi.core.enum import AccessTokenType, HttpMethod
from lark_oapi.core.model import BaseRequest

from bot.feishu.openapi import OpenApi, OpenApiError
from bot.feishu.ratelimit import KeyedLimiters

log = logging.getLogger(__name__)

JSON_CONTENT = {"Content-Type": "application/json; charset=utf-8"}


class Messenger:
    """Posts cards under Feishu's message limits: 5 per second per chat, 5 updates per second
    per message. `uuid` makes a retried send land once (Feishu de-duplicates it for an hour)."""

    def __init__(self, api: OpenApi) -> None:
        self._api = api
        self._im = api.client.im.v1.message
        self._per_chat = KeyedLimiters(5, 1.0)
        self._per_message = KeyedLimiters(5, 1.0)
        self._bot_open_id: str | None = None
        self._lock = threading.Lock()

    def reply_card(
        self, message_id: str, card: dict, *, chat_id: str, uuid: str | None = None
    ) -> str:
        """Answer a user's message with a card; returns the new message's id."""
        body = ReplyMessageRequestBody.builder().msg_type("interactive").content(json.dumps(card))
        if uuid:
            body = body.uuid(uuid[:50])
        request = ReplyMessageRequest.builder().message_id(message_id).request_body(body.build())
        response = self._api.call(
            "message_reply",
            lambda: self._im.reply(request.build()),
            idempotent=bool(uuid),
            limiter=self._per_chat[chat_id],
        )
        return response.data.message_id

    def send_card(self, chat_id: str, card: dict, *, uuid: str | None = None) -> str:
        """Post a card into a chat; returns the new message's id."""
        return self._create(chat_id, "chat_id", card, uuid)

    def send_card_to_person(self, open_id: str, card: dict, *, uuid: str | None = None) -> str:
        """Post a card into the one-to-one chat with a person; returns the message's id."""
        return self._create(open_id, "open_id", card, uuid)

    def send_file(
        self,
        chat_id: str,
        path: str,
        file_name: str,
        *,
        file_type: str = "stream",
        uuid: str | None = None,
    ) -> str:
        """Upload the file at `path` (at most 30 MB, not empty) and post it into a chat as a
        file message named `file_name`; returns the message's id. `file_type` as the upload
        takes it: "xls" for a spreadsheet, "stream" for anything else."""
        file_key = self.upload_file(path, file_name, file_type)
        return self._create(chat_id, "chat_id", {"file_key": file_key}, uuid, msg_type="file")

    def upload_file(self, path: str, file_name: str, file_type: str = "stream") -> str:
        """Upload a file for a file message; returns its `file_key`."""

        def send():  # a fresh request and file each attempt: the SDK consumes both
            with open(path, "rb") as stream:
                body = (
                    CreateFileRequestBody.builder()
                    .file_type(file_type)
                    .file_name(file_name)
                    .file(stream)
                    .build()
                )
                request = CreateFileRequest.builder().request_body(body).build()
                return self._api.client.im.v1.file.create(request)

        # Idempotent enough: a repeated upload only leaves an unused key behind.
        response = self._api.call("file_upload", send, idempotent=True)
        return response.data.file_key

    def _create(
        self,
        receive_id: str,
        id_type: str,
        content: dict,
        uuid: str | None,
        *,
        msg_type: str = "interactive",
    ) -> str:
        """Post a message (a card, unless `msg_type` says otherwise) to a chat or a person."""
        body = (
            CreateMessageRequestBody.builder()
            .receive_id(receive_id)
            .msg_type(msg_type)
            .content(json.dumps(content))
        )
        if uuid:
            body = body.uuid(uuid[:50])
        request = CreateMessageRequest.builder().receive_id_type(id_type).request_body(body.build())
        response = self._api.call(
            "message_create",
            lambda: self._im.create(request.build()),
            idempotent=bool(uuid),
            limiter=self._per_chat[receive_id],  # 5/s per chat, and per person
        )
        return response.data.message_id

    def update_card(self, message_id: str, card: dict) -> None:
        """Replace a card the bot sent (both cards carry `config.update_multi: true`)."""
        request = (
            PatchMessageRequest.builder()
            .message_id(message_id)
            .request_body(PatchMessageRequestBody.builder().content(json.dumps(card)).build())
            .build()
        )
        self._api.call(
            "message_patch",
            lambda: self._im.patch(request),
            idempotent=True,
            limiter=self._per_message[message_id],
        )

    def update_card_by_token(self, token: str, card: dict) -> None:
        """Delayed update with a card callback's token (valid 30 minutes, two uses)."""
        request = (
            BaseRequest.builder()
            .http_method(HttpMethod.POST)
            .uri("/open-apis/interactive/v1/card/update")
            .token_types({AccessTokenType.TENANT})
            .headers(dict(JSON_CONTENT))
            .body({"token": token, "card": card})
            .build()
        )
        # Not idempotent: each call spends one of the token's two uses.
        self._api.call("card_update", lambda: self._api.client.request(request), idempotent=False)

    def bot_open_id(self) -> str:
        """The bot's own open_id, to tell whether a group message mentions it."""
        with self._lock:
            if self._bot_open_id is None:
                request = (
                    BaseRequest.builder()
                    .http_method(HttpMethod.GET)
                    .uri("/open-apis/bot/v3/info")
                    .token_types({AccessTokenType.TENANT})
                    .build()
                )
                response = self._api.call(
                    "bot_info", lambda: self._api.client.request(request), idempotent=True
                )
                bot = json.loads(response.raw.content or b"{}").get("bot") or {}
                if not bot.get("open_id"):
                    raise OpenApiError("bot_info", None, "answer carried no open_id")
                self._bot_open_id = bot["open_id"]
            return self._bot_open_id
