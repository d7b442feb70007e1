import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from card_checks import all_content, assert_valid_card, buttons, texts

from bot.accounts import Account, AccountRecord, AccountStatus, Cash
from cards.account_list import account_list_card

NOW = datetime(2026, 11, 21, 9, 5, tzinfo=UTC)


def record(i: int, **kwargs: object) -> AccountRecord:
    account = Account(
        f"69427781980545{i:05d}",
        AccountStatus.ENABLED if i % 2 == 0 else AccountStatus.DISABLED,
        points=1200,
        cash=(Cash("CNY", Decimal("1234.5")),),
    )
    fields: dict = {
        "contact": f"user{i}@example.com",
        "account": account,
        "seen_at": datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
    }
    fields.update(kwargs)
    return AccountRecord(f"69427781980545{i:05d}", **fields)


def test_empty_list_says_how_to_register() -> None:
    card = account_list_card([], now=NOW)
    assert_valid_card(card)
    assert "/referral register <email>" in all_content(card, "en_us")
    assert "/referral register <email>" in all_content(card, "zh_cn")
    assert "注册" in all_content(card, "zh_cn")
    assert buttons(card) == []
    assert card["header"]["subtitle"]["i18n_content"] == {"zh_cn": "共 0 个", "en_us": "0 accounts"}


def test_records_with_status_balance_and_seen() -> None:
    card = account_list_card([record(0), record(1)], now=NOW)
    assert_valid_card(card)
    assert card["header"]["title"]["i18n_content"] == {
        "zh_cn": "内推账户列表",
        "en_us": "Referral accounts",
    }
    assert card["header"]["subtitle"]["i18n_content"] == {"zh_cn": "共 2 个", "en_us": "2 accounts"}
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert "`6942778198054500000` · user0@example.com" in en
    assert "<font color='green'>Enabled</font> · 1,200 points · CNY 1,234.50" in en
    assert "<font color='red'>Disabled</font>" in en
    assert "<font color='green'>已启用</font> · 1,200 积分 · CNY 1,234.50" in zh
    assert "seen 5 min ago · 2026-11-21 09:00 UTC" in en
    assert "5 分钟前查询 · 2026-11-21 09:00 UTC" in zh
    assert "more" not in en
    show0, show1 = buttons(card)
    assert show0["behaviors"] == [
        {"type": "callback", "value": {"action": "show", "account_id": "6942778198054500000"}}
    ]
    assert show1["behaviors"][0]["value"] == {"action": "show", "account_id": "6942778198054500001"}
    assert show0["text"]["i18n_content"] == {"zh_cn": "查看", "en_us": "Show"}


def test_not_fetched_and_unknown_seen() -> None:
    card = account_list_card(
        [
            AccountRecord("111", contact=None),
            record(2, seen_at=None),
            record(3, account=Account("6942778198054500003", AccountStatus.ENABLED)),
        ],
        now=NOW,
    )
    assert_valid_card(card)
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert "`111`\nnot fetched yet" in en
    assert "`111`\n尚未查询" in zh
    assert "last seen unknown" in en
    assert "0 points · no cash bonus" in en and "0 积分 · 无现金奖励" in zh


def test_relative_times() -> None:
    def seen(delta: timedelta) -> tuple[str, str]:
        card = account_list_card([record(0, seen_at=NOW - delta)], now=NOW)
        return all_content(card, "en_us"), all_content(card, "zh_cn")

    assert "seen just now" in seen(timedelta(seconds=30))[0]
    assert "刚刚查询" in seen(timedelta(seconds=30))[1]
    assert "seen just now" in seen(timedelta(seconds=-90))[0]
    assert "seen 3 h ago · 2026-11-21 06:05 UTC" in seen(timedelta(hours=3))[0]
    assert "2 天前查询" in seen(timedelta(days=2, hours=1))[1]
    # Other time zones and naive datetimes are shown in UTC.
    cst = timezone(timedelta(hours=8))
    card = account_list_card(
        [record(0, seen_at=datetime(2026, 11, 21, 17, 0, tzinfo=cst))], now=NOW
    )
    assert "seen 5 min ago · 2026-11-21 09:00 UTC" in all_content(card, "en_us")
    card = account_list_card([record(0, seen_at=datetime(2026, 11, 21, 9, 0))], now=NOW)
    assert "seen 5 min ago · 2026-11-21 09:00 UTC" in all_content(card, "en_us")


def test_500_records_are_truncated_under_30_kb() -> None:
    records = [record(i) for i in range(500)]
    card = account_list_card(records, now=NOW)
    assert_valid_card(card)  # includes the 30 KB check
    assert len(json.dumps(card).encode()) < 30 * 1024
    shown = len(buttons(card))
    assert 10 <= shown <= 50
    last = card["body"]["elements"][-1]
    assert last["i18n_content"] == {
        "zh_cn": f"… 还有 {500 - shown} 个",
        "en_us": f"… and {500 - shown} more",
    }
    assert card["header"]["subtitle"]["i18n_content"]["en_us"] == "500 accounts"
    ids = [b["behaviors"][0]["value"]["account_id"] for b in buttons(card)]
    assert ids == [r.account_id for r in records[:shown]]


def test_limit_is_respected() -> None:
    card = account_list_card([record(i) for i in range(8)], now=NOW, limit=3)
    assert_valid_card(card)
    assert len(buttons(card)) == 3
    assert "… and 5 more" in all_content(card, "en_us")
    assert [b["element_id"] for b in buttons(card)] == ["show_0", "show_1", "show_2"]


def test_huge_contacts_still_fit() -> None:
    records = [record(i, contact="x" * 5000 + "@example.com") for i in range(20)]
    card = account_list_card(records, now=NOW)
    assert_valid_card(card)
    assert texts(card)[-1]["i18n_content"]["en_us"].startswith("… and ")
