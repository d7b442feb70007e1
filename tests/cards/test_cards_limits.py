"""Every card that grows with data stays within Feishu's 200 elements and 30 KB, and pages or
truncates what does not fit. (The walker in card_checks asserts both limits on every card.)"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from card_checks import MAX_CARD_ELEMENTS, all_content, assert_valid_card, buttons, element_count

from bot.domain.accounts import Account, AccountRecord, AccountStatus, Cash
from bot.domain.withdrawals import Amounts, Kind, State, Withdrawal
from cards.account_list import account_list_card
from cards.notice import BalanceLine, balance_notice_card
from cards.text import Text
from cards.withdrawal import withdrawals_card

NOW = datetime(2026, 11, 21, 9, 5, tzinfo=UTC)


def bare(i: int) -> AccountRecord:
    """No contact and one currency: the smallest block, so the most of them by bytes."""
    account = Account(f"{i}", AccountStatus.ENABLED, points=1, cash=(Cash("CNY", Decimal("1")),))
    return AccountRecord(f"{i}", contact=None, account=account, seen_at=NOW)


def shown(card: dict) -> list[str]:
    return [
        b["behaviors"][0]["value"]["account_id"]
        for b in buttons(card)
        if b["element_id"].startswith("show_")
    ]


def test_29_bare_accounts_stay_within_200_elements_and_page_the_rest() -> None:
    records = [bare(i) for i in range(29)]
    first = account_list_card(records, now=NOW, zone="UTC")
    assert_valid_card(first)
    assert element_count(first) <= MAX_CARD_ELEMENTS
    on_first = shown(first)
    assert 20 <= len(on_first) < 29
    assert f"… and {29 - len(on_first)} more" in all_content(first, "en_us")
    (next_button,) = [b for b in buttons(first) if b["element_id"] == "btn_next"]
    offset = next_button["behaviors"][0]["value"]["offset"]
    second = account_list_card(records, now=NOW, zone="UTC", offset=offset)
    assert_valid_card(second)
    assert on_first + shown(second) == [r.account_id for r in records]


def test_every_page_of_a_long_bare_list_is_within_the_limits() -> None:
    records = [bare(i) for i in range(400)]
    seen, offset = [], 0
    while True:
        card = account_list_card(records, now=NOW, zone="UTC", offset=offset)
        assert_valid_card(card)
        seen += shown(card)
        nexts = [b for b in buttons(card) if b["element_id"] == "btn_next"]
        if not nexts:
            break
        offset = nexts[0]["behaviors"][0]["value"]["offset"]
    assert seen == [r.account_id for r in records]


def test_a_notice_of_hundreds_of_small_changes_is_truncated_within_200_elements() -> None:
    lines = [BalanceLine(Text.same("A"), str(i), 1, (), i, ()) for i in range(300)]
    card = balance_notice_card(lines)
    assert_valid_card(card)
    assert element_count(card) <= MAX_CARD_ELEMENTS
    text = all_content(card, "en_us")
    listed = sum(1 for i in range(300) if f"`{i}`" in text)
    assert f"… and {300 - listed} more" in text


def test_a_page_of_hundreds_of_withdrawals_stays_within_200_elements_and_pages_on() -> None:
    items = [
        Withdrawal(
            id=i,
            account_id="1",
            kind=Kind.POINTS,
            state=State.CANCELLED,
            amounts=Amounts(points=1),
            requested_by="ou_a",
            requested_at=NOW,
            expires_at=NOW + timedelta(days=1),
        )
        for i in range(300)
    ]
    card = withdrawals_card(items, total=300, offset=0, zone="UTC")
    assert_valid_card(card)
    assert element_count(card) <= MAX_CARD_ELEMENTS
    (next_button,) = [b for b in buttons(card) if b["element_id"] == "btn_next"]
    offset = next_button["behaviors"][0]["value"]["offset"]
    assert 0 < offset < 300
    assert f"#{offset - 1} " in all_content(card, "en_us")
    assert f"#{offset} " not in all_content(card, "en_us")


def test_the_walker_refuses_a_card_over_either_limit() -> None:
    import pytest
    from card_checks import walk

    def doc(elements: list[dict]) -> dict:
        return {"schema": "2.0", "header": {}, "body": {"elements": elements}}

    list(walk(doc([{"tag": "hr"}] * 200)))  # exactly 200 is allowed
    with pytest.raises(AssertionError, match="201 elements"):
        list(walk(doc([{"tag": "hr"}] * 201)))
    # plain_text inside a button counts too, and a card inside a callback answer is checked.
    button = {"tag": "button", "text": {"tag": "plain_text", "content": "x"}}
    with pytest.raises(AssertionError, match="202 elements"):
        list(walk({"card": {"type": "raw", "data": doc([button] * 101)}}))
    with pytest.raises(AssertionError, match="30 KB"):
        list(walk(doc([{"tag": "markdown", "content": "x" * 31 * 1024}])))
