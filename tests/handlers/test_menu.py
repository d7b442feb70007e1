"""The bot menu: every argument-free command the contract lists runs from it, and an item that
is no command gets an answer saying so."""

from __future__ import annotations

import pytest

from bot.emulator import Employee
from handlers.parser import UsageError
from handlers.registry import loaded
from tests.conftest import ADMIN, OUTSIDER, VERIFICATION_TOKEN, card_text, wait_for

# interface.md, "Chat commands": a menu item's event_key may be any of these.
CONTRACT_MENU_KEYS = ("list", "digest", "help", "me", "withdrawals", "audit", "reconcile")


def test_the_menu_runs_exactly_the_commands_that_need_no_arguments():
    menu_keys = loaded().menu_keys()
    assert set(CONTRACT_MENU_KEYS) <= set(menu_keys)
    for sub in loaded().commands.values():
        if sub.name not in menu_keys:
            with pytest.raises(UsageError):
                sub.parse([], sub.usage)


@pytest.mark.parametrize("key", CONTRACT_MENU_KEYS)
def test_every_menu_key_of_the_contract_runs_its_command(lark, emulator, bot, key):
    # The admin is an employee too, so `me` has someone to look up.
    emulator.add_employee(Employee(open_id=ADMIN, email="admin@open.com", name_en="Li Si"))
    typed = lark.ask(f"/referral {key}", chat_id="oc_typed").content
    lark.push(emulator.bot_menu_event(ADMIN, key, token=VERIFICATION_TOKEN))
    chat = emulator.p2p_chat_id(ADMIN)
    answers = wait_for(lambda: emulator.messages_in(chat), what="the menu's answer")
    chosen = answers[-1].content
    assert chosen["header"]["title"] == typed["header"]["title"]
    assert chosen["header"].get("template") != "red", card_text(chosen)
    ran = [(e["chat_id"], e["outcome"]) for e in bot.services.audit.entries() if e["action"] == key]
    assert ran == [("oc_typed", "ok"), (f"p2p:{ADMIN}", "ok")]


def test_a_menu_item_that_is_no_command_gets_a_clear_answer(lark, emulator, bot):
    lark.push(emulator.bot_menu_event(OUTSIDER, "frobnicate", token=VERIFICATION_TOKEN))
    chat = emulator.p2p_chat_id(OUTSIDER)
    (answer,) = wait_for(lambda: emulator.messages_in(chat), what="the answer")
    text = card_text(answer.content)
    assert "'frobnicate' is not a command" in text
    for key in CONTRACT_MENU_KEYS:
        assert key in text
    assert emulator.calls_for("get_account_assets") == []
