"""A running sandbox (emulator, bot, page server) and a client of its JSON API over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from bot.sandbox import Sandbox
from tests.conftest import wait_for

ADMIN = "ou_hr_admin"
OUTSIDER = "ou_colleague"
APPROVER = "ou_hr_approver"  # the second admin: approves what ADMIN asks to withdraw


@dataclass
class Page:
    """What the page's JavaScript does, as plain HTTP calls."""

    sandbox: Sandbox
    http: requests.Session

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.sandbox.url + path, timeout=10)

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.http.post(self.sandbox.url + path, json=body, timeout=10)

    @property
    def group(self) -> str:
        return self.sandbox.world.hr_chat

    def p2p(self, open_id: str = ADMIN) -> str:
        assert self.sandbox.world.person(open_id) is not None
        return self.sandbox.world.p2p_chat(open_id)

    def feed(self, chat_id: str) -> list[dict]:
        response = self.get(f"/api/feed/{chat_id}")
        assert response.status_code == 200, response.text
        return response.json()["items"]

    def say(
        self,
        text: str,
        chat_id: str | None = None,
        open_id: str = ADMIN,
        mentions: list[dict] | None = None,
    ) -> dict:
        """Send as the page does; `mentions`: [{key, open_id}] for the `@_user_N` in the text."""
        chat_id = chat_id or self.p2p(open_id)
        body = {"chat_id": chat_id, "open_id": open_id, "text": text}
        if mentions is not None:
            body["mentions"] = mentions
        response = self.post("/api/say", body)
        assert response.status_code == 200, response.text
        return response.json()

    def reply(self, said: dict, chat_id: str) -> dict:
        """The bot's answer to a message, as the chat feed shows it."""
        return wait_for(
            lambda: next(
                (
                    item
                    for item in self.feed(chat_id)
                    if item["kind"] == "bot" and item["reply_to"] == said["message_id"]
                ),
                None,
            ),
            10,
            f"no reply to {said['message_id']}",
        )

    def ask(
        self,
        text: str,
        chat_id: str | None = None,
        open_id: str = ADMIN,
        mentions: list[dict] | None = None,
    ) -> dict:
        chat_id = chat_id or self.p2p(open_id)
        return self.reply(self.say(text, chat_id, open_id, mentions), chat_id)

    def bot_cards(self, chat_id: str) -> list[dict]:
        return [item for item in self.feed(chat_id) if item["kind"] == "bot"]

    def choose(self, event_key: str, open_id: str = ADMIN) -> dict:
        """Choose a bot menu item, as the page's menu bar does."""
        response = self.post("/api/menu", {"open_id": open_id, "event_key": event_key})
        assert response.status_code == 200, response.text
        return response.json()

    def enter(self, open_id: str = ADMIN) -> dict:
        """Open the person's one-to-one chat with the bot, as the page does the first time."""
        response = self.post("/api/enter", {"open_id": open_id})
        assert response.status_code == 200, response.text
        return response.json()

    def press(self, message_id: str, value: dict, open_id: str = ADMIN) -> dict:
        response = self.post(
            "/api/press", {"message_id": message_id, "open_id": open_id, "value": value}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def tenant(self) -> dict:
        response = self.get("/api/tenant")
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(port=0) as running:
        yield running


@pytest.fixture
def page(sandbox: Sandbox) -> Iterator[Page]:
    with requests.Session() as http:
        yield Page(sandbox, http)
