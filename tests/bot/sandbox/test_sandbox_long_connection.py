"""`referral-bot sandbox --long-connection` (issue 13): the demo over the long connection. The
page's JSON API over real HTTP; the bot dials the emulator's socket and takes every push there,
and serves no webhook paths."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from bot.sandbox import Sandbox
from tests.bot.sandbox.conftest import ADMIN, OUTSIDER, Page
from tests.conftest import buttons, card_text


@pytest.fixture
def page() -> Iterator[Page]:
    with Sandbox(port=0, long_connection=True) as sandbox, requests.Session() as http:
        yield Page(sandbox, http)


def test_the_bot_is_on_the_long_connection_and_serves_no_webhook_paths(page: Page) -> None:
    world = page.sandbox.world
    assert world.bot.settings.transport == "long_connection"
    assert world.bot.connection.state.status == "connected"
    assert world.emulator.ws_connections == 1
    for path in ("/webhook/event", "/webhook/card"):
        answer = requests.post(world.bot.url + path, json={"type": "url_verification"}, timeout=5)
        assert answer.status_code == 404, path
    health = requests.get(world.bot.url + "/healthz", timeout=5).json()
    assert health["connection"]["state"] == "connected"


def test_a_command_is_pushed_over_the_connection_and_answered(page: Page) -> None:
    said = page.say("/referral register hire@open.com")
    assert said["status"] == 200

    reply = page.reply(said, page.p2p())

    assert "Account registered" in card_text(reply["content"])
    pushed = page.sandbox.world.emulator.ws_log
    assert [(p["event_type"], p["acked"]) for p in pushed] == [("im.message.receive_v1", True)]
    # In the group (the page @-mentions the bot first), the seeded accounts are listed.
    listed = card_text(page.ask("/referral list", page.group)["content"])
    seeded = [a["account_id"] for a in page.tenant()["accounts"]]
    assert len(seeded) == 4 and all(account_id in listed for account_id in seeded)


def test_a_button_press_is_answered_in_the_ack_like_the_http_answer(page: Page) -> None:
    card = page.ask("/referral register hire@open.com")
    disable = next(v for v in buttons(card["content"]) if v["action"] == "disable")

    answer = page.press(card["id"], disable)

    assert answer["status"] == 200 and answer["error"] is None
    assert answer["toast"]["type"] == "success"
    assert answer["toast"]["i18n"]["en_us"] == "Account disabled"
    assert "Disabled" in card_text(answer["card"])
    shown = next(item for item in page.feed(page.p2p()) if item["id"] == card["id"])
    assert "Disabled" in card_text(shown["content"])
    assert [v["action"] for v in buttons(shown["content"])] == ["enable", "refresh"]
    emulator = page.sandbox.world.emulator
    assert emulator.account(disable["account_id"])["status"] == 2
    assert emulator.ws_log[-1]["event_type"] == "card.action.trigger"
    # Someone who may not press it: an error toast and no card, as over HTTP.
    refused = page.press(
        card["id"], {"action": "enable", "account_id": disable["account_id"]}, OUTSIDER
    )
    assert refused["status"] == 200
    assert refused["toast"]["type"] == "error" and refused["card"] is None


def test_a_bonus_added_in_the_tenant_reaches_the_bot_over_the_connection(page: Page) -> None:
    card = page.ask("/referral register hire@open.com", open_id=ADMIN)
    account_id = next(v["account_id"] for v in buttons(card["content"]))
    added = page.post(f"/api/accounts/{account_id}/bonus", {"points": "250"})
    assert added.status_code == 200, added.text
    assert added.json()["event"] == {
        "type": "hire.referral_account.assets_update_v1",
        "event_id": added.json()["event"]["event_id"],
        "status": 200,
        "error": None,
    }


def test_the_sandbox_command_takes_the_flag() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "sandbox", "--long-connection", "--port", "0"]
        + ["--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            found = re.search(r"over the long connection: open (http://127\.0\.0\.1:\d+)", line)
            url = found.group(1) if found else None
        assert url, f"no URL printed; stderr: {process.stderr.read() if process.poll() else ''}"
        said = requests.post(
            url + "/api/say",
            json={"chat_id": "oc_hr_group", "open_id": ADMIN, "text": "/referral help"},
            timeout=15,
        )
        assert said.json()["status"] == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
        stderr = process.stderr.read()
        assert "Traceback" not in stderr, stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
