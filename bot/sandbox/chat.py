"""Feishu's client side of the sandbox: people's messages and button presses, as Feishu pushes
them to the bot, and each chat's feed as a Feishu client would show it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from bot.emulator import events
from bot.sandbox.world import BOT_NAME, BOT_OPEN_ID, World


@dataclass(frozen=True)
class Said:
    """A message a person typed on the page."""

    message_id: str
    chat_id: str
    open_id: str
    text: str  # as the chat shows it: mentions by name, not by `@_user_1` key
    at: float


class UnknownChat(LookupError):
    pass


class Chats:
    """Sends what people type and press to the bot, and reads back what the chats show."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._lock = threading.Lock()
        self._said: list[Said] = []
        # message_id -> (card from a callback answer, how many updates the message had then).
        # Feishu shows the answer's card until a later update of that message replaces it.
        self._answered: dict[str, tuple[dict[str, Any], int]] = {}

    @property
    def _bot_url(self) -> str:
        assert self._world.bot is not None, "the sandbox is not started"
        return self._world.bot.url

    def chat_ids(self) -> set[str]:
        return {self._world.hr_chat} | {p.p2p_chat for p in self._world.people}

    def say(self, chat_id: str, open_id: str, text: str) -> dict[str, Any]:
        """Post `text` as `open_id`; in the group it @-mentions the bot, as Feishu users must."""
        if chat_id not in self.chat_ids():
            raise UnknownChat(chat_id)
        emulator = self._world.emulator
        in_group = chat_id == self._world.hr_chat
        mentions = None
        sent, shown = text, text
        if in_group:
            # Feishu puts a placeholder key in the text and the mentioned user in `mentions`.
            mention = events.bot_mention(BOT_NAME, BOT_OPEN_ID, tenant_key=emulator.tenant_key)
            mentions = [mention]
            sent = f"{mention['key']} {text}"
            shown = f"@{BOT_NAME} {text}"
        event = events.message_event(
            sent,
            token=self._world.verification_token,
            open_id=open_id,
            chat_id=chat_id,
            chat_type="group" if in_group else "p2p",
            mentions=mentions,
            app_id=emulator.app_id,
            tenant_key=emulator.tenant_key,
        )
        message_id = event["event"]["message"]["message_id"]
        emulator.note_user_message(message_id, chat_id)
        with self._lock:
            self._said.append(Said(message_id, chat_id, open_id, shown, time.time()))
        result = events.deliver(
            self._bot_url + "/webhook/event", event, encrypt_key=self._world.encrypt_key
        )
        return {"message_id": message_id, "status": result.status, "answer": result.body}

    def press(self, message_id: str, value: dict[str, Any], open_id: str) -> dict[str, Any]:
        """Press a card button: a signed card.action.trigger callback, answered in place."""
        emulator = self._world.emulator
        emulator.message(message_id)  # KeyError when the bot never sent it
        callback = emulator.card_action(
            value, open_id=open_id, message_id=message_id, token=self._world.verification_token
        )
        result = events.deliver(
            self._bot_url + "/webhook/card", callback, encrypt_key=self._world.encrypt_key
        )
        body = result.body if isinstance(result.body, dict) else {}
        card = body.get("card") or {}
        answer_card = card.get("data") if card.get("type") == "raw" else None
        if result.status == 200 and isinstance(answer_card, dict):
            updates = len(emulator.message(message_id).updates)
            with self._lock:
                self._answered[message_id] = (answer_card, updates)
        return {
            "status": result.status,
            "toast": body.get("toast"),
            "card": answer_card,
            "error": None if result.status == 200 else body,
        }

    def feed(self, chat_id: str) -> list[dict[str, Any]]:
        """Everything a chat shows, oldest first: people's messages and the bot's cards."""
        if chat_id not in self.chat_ids():
            raise UnknownChat(chat_id)
        people = {p.open_id: p for p in self._world.people}
        with self._lock:
            said = [s for s in self._said if s.chat_id == chat_id]
            answered = dict(self._answered)
        items: list[dict[str, Any]] = []
        for s in said:
            person = people.get(s.open_id)
            items.append(
                {
                    "id": s.message_id,
                    "kind": "user",
                    "open_id": s.open_id,
                    "name_en": person.name_en if person else s.open_id,
                    "name_zh": person.name_zh if person else s.open_id,
                    "text": s.text,
                    "at": s.at,
                }
            )
        for message in self._world.emulator.messages:
            if message.chat_id != chat_id:
                continue
            shown = message.updates[-1] if message.updates else message.content
            if message.message_id in answered:
                answer, updates_then = answered[message.message_id]
                if len(message.updates) <= updates_then:
                    shown = answer
            items.append(
                {
                    "id": message.message_id,
                    "kind": "bot",
                    "msg_type": message.msg_type,
                    "content": shown,
                    "reply_to": message.reply_to,
                    "at": message.created_at,
                }
            )
        items.sort(key=lambda item: item["at"])
        return items
