"""What a stranger types stays text, over real HTTP: the cards Feishu receives (the emulator's
copy) carry no live mention or link, and show what was typed; a hostile find text survives the
paging button's round trip as text."""

from __future__ import annotations

from bot.domain.accounts import Account, AccountStatus, Referrer
from tests.cards.card_checks import HOSTILE, assert_inert, markdown_sources
from tests.conftest import Feishu, buttons, card_text, card_text_zh

EVIL = "<at id=all></at> [x](https://evil)"


def live(card: dict) -> list[str]:
    """Markdown that would mention everyone or link somewhere."""
    return [s for s in markdown_sources(card) if "<at id=all" in s or "](https:" in s]


def test_find_with_a_mention_and_a_link_answers_with_text(lark: Feishu, emulator):
    reply = lark.ask(f"/referral find {EVIL}")
    (sent,) = [m for m in emulator.messages if m.message_id == reply.message_id]
    assert sent.msg_type == "interactive"
    card = sent.content
    assert live(card) == []
    assert f"No known account matches “{EVIL}”" in card_text(card)
    assert f"没有已知账户匹配“{EVIL}”" in card_text_zh(card)
    assert f"Accounts matching “{EVIL}”" in card["header"]["title"]["content"]


def test_a_hostile_find_text_pages_as_text(lark: Feishu, bot):
    """Enough matches for two pages: the Next button carries the text as typed, and the page it
    brings is the same search, still inert."""
    accounts = bot.services.accounts
    for i in range(40):
        referrer = Referrer(f"ou_p{i}", name_en=f"{HOSTILE} {i}", name_zh=f"{HOSTILE} {i}")
        accounts.remember(Account(f"69{i:05}", AccountStatus.ENABLED, referrer=referrer))
    reply = lark.ask(f"/referral find {HOSTILE}")
    first = reply.content
    assert_inert(first)
    assert "40 accounts" in card_text(first)
    (page,) = [value for value in buttons(first) if value["action"] == "find"]
    assert page["text"] == HOSTILE and page["offset"] > 0

    result, _ = lark.press(reply, page)
    assert result.status == 200
    second = result.body["card"]["data"]
    assert_inert(second)
    assert f"Accounts matching “{HOSTILE}”" in card_text(second)
    shown = [v["account_id"] for v in buttons(second) if v["action"] == "show"]
    # The page after the first: each account named by its (hostile) name, shown as text.
    assert shown and shown[0] == f"69{page['offset']:05}"
    assert f"**{HOSTILE} {page['offset']}** · `{shown[0]}`" in card_text(second)


def test_a_menu_key_that_is_no_command_is_shown_as_text():
    from handlers.messages import unknown_item_card

    card = unknown_item_card(HOSTILE)
    assert_inert(card)
    assert HOSTILE in card_text(card)
