"""Feishu's client side of the sandbox: people's messages, @-mentions, button presses, bot menu
choices and opening the one-to-one chat, as Feishu pushes them to the bot; and each chat's feed
as a Feishu client would show it."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.emulator import events
from bot.sandbox import mentions
from bot.sandbox.mentions import BadMention, Mentioned
from bot.sandbox.world import BOT_NAME, BOT_OPEN_ID, MenuItem, World


@dataclass(frozen=True)
class Said:
    """A message a person typed on the page."""

    message_id: str
    chat_id: str
    open_id: str
    text: str  # as the chat shows it: mentions by name, not by `@_user_1` key
    parts: tuple[dict[str, Any], ...]  # the same in pieces, each mention with its names
    at: float


@dataclass(frozen=True)
class Chose:
    """A bot menu item a person chose on the page."""

    event_id: str
    chat_id: str
    open_id: str
    item: MenuItem
    at: float


class UnknownChat(LookupError):
    pass


class NotYourChat(PermissionError):
    """Someone's one-to-one chat with the bot, written to by someone else."""


class UnknownMenuItem(LookupError):
    """An event key the bot menu has no item for (Feishu only pushes the items it shows)."""


class Chats:
    """Sends what people type, press and choose to the bot, and reads back what chats show."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._lock = threading.Lock()
        self._said: list[Said] = []
        self._chose: list[Chose] = []
        # message_id -> (card from a callback answer, how many updates the message had then).
        # Feishu shows the answer's card until a later update of that message replaces it.
        self._answered: dict[str, tuple[dict[str, Any], int]] = {}

    def _push(self, path: str, payload: dict[str, Any]) -> events.DeliveryResult:
        """Deliver an event or callback to the bot, encrypted and signed as Feishu does."""
        return self._world.push(path, payload)

    def chat_ids(self) -> set[str]:
        return {self._world.hr_chat} | {self._world.p2p_chat(p.open_id) for p in self._world.people}

    def readable_chat_ids(self) -> set[str]:
        """The chats whose feed can be read: the page's, and the one-to-one chat of everyone in
        the directory (what the bot told a referrer who is not one of the page's people)."""
        return self.chat_ids() | {self._world.p2p_chat(e.open_id) for e in self._world.directory}

    def people(self) -> list[dict[str, Any]]:
        """Whom the page can @-mention: the emulator's directory, without those who left."""
        rows = []
        for listed in self._world.directory:
            employee = self._world.emulator.employee(listed.open_id)
            if employee is None or employee.resigned:
                continue
            rows.append(
                {
                    "open_id": employee.open_id,
                    "name": employee.display_name,
                    "name_en": employee.name_en,
                    "name_zh": employee.name_zh,
                    "email": employee.email,
                }
            )
        return rows

    def say(
        self, chat_id: str, open_id: str, text: str, mentioned: Sequence[tuple[str, str]] = ()
    ) -> dict[str, Any]:
        """Post `text` as `open_id`. `mentioned`: (key, open_id) for each `@_user_N` in the
        text. In the group the message @-mentions the bot first, as Feishu users must."""
        self._check_member(chat_id, open_id)
        emulator = self._world.emulator
        in_group = chat_id == self._world.hr_chat
        mentions.check(text, mentioned)
        whom = dict(mentioned)
        # Feishu numbers a message's mentions as they appear, the bot's (in the group) first.
        sent, keys = mentions.renumbered(text, first=2 if in_group else 1)
        entries = [self._person_mention(whom[old], new) for old, new in keys.items()]
        if in_group:
            entries.insert(0, self._bot_mention("@_user_1"))
            sent = f"@_user_1 {sent}"
        event = emulator.message_event(
            sent,
            open_id=open_id,
            token=self._world.verification_token,
            chat_id=chat_id,
            chat_type="group" if in_group else "p2p",
            mentions=[entry for entry, _ in entries] or None,
        )
        message_id = event["event"]["message"]["message_id"]
        people = {who.key: who for _, who in entries}
        said = Said(
            message_id,
            chat_id,
            open_id,
            mentions.shown(sent, people),
            tuple(mentions.parts(sent, people)),
            time.time(),
        )
        with self._lock:
            self._said.append(said)
        result = self._push("/webhook/event", event)
        return {"message_id": message_id, "status": result.status, "answer": result.body}

    def _check_member(self, chat_id: str, open_id: str) -> None:
        if chat_id not in self.chat_ids():
            raise UnknownChat(chat_id)
        if chat_id != self._world.hr_chat and chat_id != self._world.p2p_chat(open_id):
            raise NotYourChat(chat_id)

    def _person_mention(self, open_id: str, key: str) -> tuple[dict[str, Any], Mentioned]:
        employee = self._world.emulator.employee(open_id)
        if employee is None:
            raise BadMention(f"nobody in the directory has the open_id {open_id!r}")
        entry = self._world.emulator.user_mention(open_id, key)
        name = entry["name"]
        return entry, Mentioned(
            key, open_id, name, employee.name_en or name, employee.name_zh or name
        )

    def _bot_mention(self, key: str) -> tuple[dict[str, Any], Mentioned]:
        entry = self._world.emulator.bot_mention(key)
        return entry, Mentioned(key, BOT_OPEN_ID, entry["name"], BOT_NAME, BOT_NAME)

    def choose(self, open_id: str, event_key: str) -> dict[str, Any]:
        """Choose an item of the bot menu: Feishu pushes application.bot.menu_v6, and the bot
        answers in the person's one-to-one chat."""
        item = next((i for i in self._world.menu if i.event_key == event_key), None)
        if item is None:
            raise UnknownMenuItem(event_key)
        event = self._world.emulator.bot_menu_event(
            open_id, event_key, token=self._world.verification_token
        )
        chose = Chose(
            event["header"]["event_id"], self._world.p2p_chat(open_id), open_id, item, time.time()
        )
        with self._lock:
            self._chose.append(chose)
        result = self._push("/webhook/event", event)
        return {"event_id": chose.event_id, "status": result.status, "answer": result.body}

    def enter(self, open_id: str) -> dict[str, Any]:
        """The person opens their one-to-one chat with the bot: Feishu pushes
        im.chat.access_event.bot_p2p_chat_entered_v1 (the bot welcomes them the first time)."""
        chat_id = self._world.p2p_chat(open_id)
        shown = self.feed(chat_id)
        last = next((item for item in reversed(shown) if item["kind"] != "menu"), None)
        event = self._world.emulator.p2p_chat_entered_event(
            open_id,
            token=self._world.verification_token,
            chat_id=chat_id,
            last_message_id=last["id"] if last else None,
            last_message_create_time=int(last["at"] * 1000) if last else None,
        )
        result = self._push("/webhook/event", event)
        return {"chat_id": chat_id, "status": result.status, "answer": result.body}

    def press(
        self,
        message_id: str,
        value: dict[str, Any],
        open_id: str,
        form_value: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Press a card button: a signed card.action.trigger callback, answered in place; a
        form's submit button carries the form's values (`action.form_value`)."""
        emulator = self._world.emulator
        emulator.message(message_id)  # KeyError when the bot never sent it
        callback = emulator.card_action(
            value, open_id=open_id, message_id=message_id, token=self._world.verification_token
        )
        if form_value is not None:
            callback["event"]["action"]["form_value"] = {
                str(k): str(v) for k, v in form_value.items()
            }
        result = self._push("/webhook/card", callback)
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
        """Everything a chat shows, oldest first: people's messages and menu choices, and the
        bot's cards."""
        if chat_id not in self.readable_chat_ids():
            raise UnknownChat(chat_id)
        people = {p.open_id: p for p in self._world.people}
        with self._lock:
            said = [s for s in self._said if s.chat_id == chat_id]
            chose = [c for c in self._chose if c.chat_id == chat_id]
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
                    "parts": list(s.parts),
                    "at": s.at,
                }
            )
        for c in chose:
            person = people.get(c.open_id)
            items.append(
                {
                    "id": c.event_id,
                    "kind": "menu",
                    "open_id": c.open_id,
                    "name_en": person.name_en if person else c.open_id,
                    "name_zh": person.name_zh if person else c.open_id,
                    "event_key": c.item.event_key,
                    "item_en": c.item.name_en,
                    "item_zh": c.item.name_zh,
                    "at": c.at,
                }
            )
        for message in self._world.emulator.messages_in(chat_id):
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
            if message.msg_type == "file":
                items[-1]["file"] = self._file(shown)
        items.sort(key=lambda item: item["at"])
        return items

    def _file(self, content: dict[str, Any]) -> dict[str, Any] | None:
        """A file message's name, size and download link, as the chat's file bubble shows
        them; None when the key names no upload."""
        file_key = content.get("file_key") if isinstance(content, dict) else None
        if not isinstance(file_key, str):
            return None
        try:
            name, data = self._world.emulator.file(file_key)
        except KeyError:
            return None
        return {
            "file_key": file_key,
            "name": name,
            "size": len(data),
            "url": f"/api/files/{quote(file_key, safe='')}",
        }

    def file(self, file_key: str) -> tuple[str, bytes]:
        """The name and bytes of a file the bot uploaded; KeyError for an unknown key."""
        return self._world.emulator.file(file_key)
