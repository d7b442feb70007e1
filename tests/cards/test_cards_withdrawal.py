"""The withdrawal card in the states the balance and Feishu's silence can leave it in."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from card_checks import all_content, assert_valid_card, buttons

from bot.domain.accounts import Cash
from bot.domain.withdrawals import Amounts, Kind, State, Withdrawal
from cards.withdrawal import withdrawal_card

NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
ZONE = "Asia/Shanghai"


def request(**changes) -> Withdrawal:
    values = dict(
        id=7,
        account_id="6900001",
        kind=Kind.ALL,
        state=State.REQUESTED,
        amounts=Amounts(1200, (Cash("CNY", Decimal("300")),)),
        requested_by="ou_a",
        requested_at=NOW,
        expires_at=NOW + timedelta(hours=24),
    )
    return Withdrawal(**{**values, **changes})


def actions(card: dict) -> list[str]:
    return [b["behaviors"][0]["value"]["action"] for b in buttons(card)]


def test_a_waiting_request_offers_approve_and_cancel():
    assert actions(withdrawal_card(request(), zone=ZONE)) == ["approve", "cancel"]


def test_a_request_for_nothing_never_offers_approve():
    card = withdrawal_card(request(amounts=Amounts()), zone=ZONE)
    assert_valid_card(card)
    assert actions(card) == ["cancel"]


def test_a_closed_request_says_nothing_was_paid_out_in_both_languages():
    card = withdrawal_card(request(state=State.CLOSED), zone=ZONE)
    assert_valid_card(card)
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert "Withdrawal closed: nothing paid out" in card["header"]["title"]["i18n_content"]["en_us"]
    assert "Nothing was paid out: the balance was found empty" in en and "未支付任何款项" in zh
    assert actions(card) == []


def test_an_uncertain_withdrawal_says_what_is_known_and_what_happens_next():
    uncertain = request(
        state=State.UNCERTAIN,
        approved_by="ou_b",
        approved_at=NOW,
        order_id="rb-7-abc",
        error="the withdraw call was given up: Feishu could not be reached",
        uncertain_at=NOW + timedelta(hours=6),
    )
    card = withdrawal_card(uncertain, zone=ZONE)
    assert_valid_card(card)
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert card["header"]["template"] == "yellow"
    assert "not confirmed by Feishu" in card["header"]["title"]["i18n_content"]["en_us"]
    assert "`rb-7-abc`" in en and "1,200 points · CNY 300.00" in en
    assert "settles it with the same order ID at the next balance read or reconciliation" in en
    assert "同一订单号" in zh and "given up" in en
    assert actions(card) == []


def test_a_receipt_settled_by_reconciliation_says_so_instead_of_a_time():
    settled = request(
        state=State.WITHDRAWN,
        approved_by="ou_b",
        order_id="rb-7-abc",
        withdrawn=Amounts(1200),
        settled_by="reconciliation",
    )
    en = all_content(withdrawal_card(settled, zone=ZONE), "en_us")
    assert "Confirmed by Feishu's reconciliation" in en and "Recorded by Feishu" not in en
