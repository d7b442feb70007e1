import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from card_checks import all_content, assert_valid_card, buttons

from bot.domain.accounts import Account, AccountRecord, AccountStatus, Cash, Referrer
from cards.account_list import account_list_card

NOW = datetime(2026, 11, 21, 9, 5, tzinfo=UTC)
UTC_ZONE = "UTC"
SHANGHAI = "Asia/Shanghai"


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
    card = account_list_card([], now=NOW, zone=UTC_ZONE)
    assert_valid_card(card)
    assert "/referral register <email>" in all_content(card, "en_us")
    assert "/referral register <email>" in all_content(card, "zh_cn")
    assert "注册" in all_content(card, "zh_cn")
    assert buttons(card) == []
    assert card["header"]["subtitle"]["i18n_content"] == {"zh_cn": "共 0 个", "en_us": "0 accounts"}


def test_records_with_status_balance_and_seen() -> None:
    card = account_list_card([record(0), record(1)], now=NOW, zone=UTC_ZONE)
    assert_valid_card(card)
    assert card["header"]["title"]["i18n_content"] == {
        "zh_cn": "内推账户列表",
        "en_us": "Referral accounts",
    }
    assert card["header"]["subtitle"]["i18n_content"] == {"zh_cn": "共 2 个", "en_us": "2 accounts"}
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert "**user0@example.com** · `6942778198054500000`" in en
    assert "<font color='green'>Enabled</font> · 1,200 points · CNY 1,234.50" in en
    assert "<font color='red'>Disabled</font>" in en
    assert "<font color='green'>已启用</font> · 1,200 积分 · CNY 1,234.50" in zh
    assert "seen 5 min ago · 2026-11-21 09:00\n" in en
    assert "5 分钟前查询 · 2026-11-21 09:00\n" in zh
    # The zone once, in the footer, not after every time.
    assert en.count("UTC") == 1 and "Times in UTC" in en
    assert zh.count("UTC") == 1 and "时间均为 UTC 时区" in zh
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
        zone=UTC_ZONE,
    )
    assert_valid_card(card)
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert "`111`\nnot fetched yet" in en
    assert "`111`\n尚未查询" in zh
    assert "last seen unknown" in en
    assert "0 points · no cash" in en and "0 积分 · 无现金" in zh


def test_relative_times() -> None:
    def seen(delta: timedelta) -> tuple[str, str]:
        card = account_list_card([record(0, seen_at=NOW - delta)], now=NOW, zone=UTC_ZONE)
        return all_content(card, "en_us"), all_content(card, "zh_cn")

    assert "seen just now" in seen(timedelta(seconds=30))[0]
    assert "刚刚查询" in seen(timedelta(seconds=30))[1]
    assert "seen just now" in seen(timedelta(seconds=-90))[0]
    assert "seen 3 h ago · 2026-11-21 06:05" in seen(timedelta(hours=3))[0]
    assert "2 天前查询" in seen(timedelta(days=2, hours=1))[1]


def test_times_are_shown_in_the_configured_zone() -> None:
    card = account_list_card([record(0)], now=NOW, zone=SHANGHAI)
    assert "seen 5 min ago · 2026-11-21 17:00" in all_content(card, "en_us")
    assert "5 分钟前查询 · 2026-11-21 17:00" in all_content(card, "zh_cn")
    assert all_content(card, "en_us").count("Asia/Shanghai") == 1
    assert all_content(card, "zh_cn").count("Asia/Shanghai") == 1
    assert "UTC" not in all_content(card, "en_us")
    # Whatever zone the stored time carries; naive datetimes are UTC.
    cst = timezone(timedelta(hours=8))
    for seen_at in (datetime(2026, 11, 21, 17, 0, tzinfo=cst), datetime(2026, 11, 21, 9, 0)):
        card = account_list_card([record(0, seen_at=seen_at)], now=NOW, zone="Europe/Berlin")
        assert "seen 5 min ago · 2026-11-21 10:00" in all_content(card, "en_us")
        assert "Times in Europe/Berlin" in all_content(card, "en_us")


def test_one_account_and_one_point_are_singular() -> None:
    card = account_list_card(
        [record(0, account=Account("6942778198054500000", AccountStatus.ENABLED, points=1))],
        now=NOW,
        zone=UTC_ZONE,
    )
    assert card["header"]["subtitle"]["i18n_content"] == {"zh_cn": "共 1 个", "en_us": "1 account"}
    assert "<font color='green'>Enabled</font> · 1 point · no cash" in all_content(card, "en_us")


def test_accounts_are_named_in_each_readers_language_with_the_id_beside() -> None:
    def holder(i: int, referrer: Referrer | None, contact: str | None) -> AccountRecord:
        account = Account(f"69{i}", AccountStatus.ENABLED, referrer=referrer)
        return AccountRecord(f"69{i}", contact=contact, account=account)

    records = [
        holder(1, Referrer(name_zh="陈静", name_en="Chen Jing"), "chen.jing@open.com"),
        holder(2, Referrer(name_zh="王芳"), None),  # no English name: the Chinese one
        holder(3, Referrer(name_en="Li Lei"), None),  # and the other way round
        holder(4, Referrer(email="x@open.com"), "+86 18900001111"),  # no name: the contact
        holder(5, None, None),  # nothing known: the ID alone
    ]
    card = account_list_card(records, now=NOW, zone=UTC_ZONE)
    assert_valid_card(card)
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert "**Chen Jing** · `691`" in en and "**陈静** · `691`" in zh
    assert "chen.jing@open.com" not in en  # the name stands for the contact
    assert "**王芳** · `692`" in en and "**王芳** · `692`" in zh
    assert "**Li Lei** · `693`" in en and "**Li Lei** · `693`" in zh
    assert "**+86 18900001111** · `694`" in en and "**+86 18900001111** · `694`" in zh
    assert "\n`695`\n" in f"\n{en}\n"


def show_buttons(card: dict) -> list[dict]:
    return [b for b in buttons(card) if b["element_id"].startswith("show_")]


def shown_ids(card: dict) -> list[str]:
    return [b["behaviors"][0]["value"]["account_id"] for b in show_buttons(card)]


def pager(card: dict) -> dict[str, dict]:
    """The paging buttons' callback values by label."""
    return {
        b["text"]["content"]: b["behaviors"][0]["value"]
        for b in buttons(card)
        if not b["element_id"].startswith("show_")
    }


def test_500_records_are_truncated_under_30_kb_with_a_next_button() -> None:
    records = [record(i) for i in range(500)]
    card = account_list_card(records, now=NOW, zone=SHANGHAI)
    assert_valid_card(card)  # includes the 30 KB check
    assert len(json.dumps(card).encode()) < 30 * 1024
    shown = len(show_buttons(card))
    assert 10 <= shown <= 50
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert f"Accounts 1–{shown} of 500" in en and f"第 1–{shown} 个，共 500 个" in zh
    assert f"… and {500 - shown} more" in en and f"… 还有 {500 - shown} 个" in zh
    assert card["header"]["subtitle"]["i18n_content"]["en_us"] == "500 accounts"
    assert shown_ids(card) == [r.account_id for r in records[:shown]]
    assert pager(card) == {"Next": {"action": "list", "offset": shown}}
    (next_button,) = [b for b in buttons(card) if b["element_id"] == "btn_next"]
    assert next_button["text"]["i18n_content"] == {"zh_cn": "下一页", "en_us": "Next"}


def test_next_buttons_lead_through_every_record_once() -> None:
    records = [record(i) for i in range(400)]
    seen_ids: list[str] = []
    offset, pages = 0, 0
    while True:
        card = account_list_card(records, now=NOW, zone=SHANGHAI, offset=offset)
        assert_valid_card(card)
        pages += 1
        page_ids = shown_ids(card)
        assert page_ids
        en = all_content(card, "en_us")
        first, last = offset + 1, offset + len(page_ids)
        assert (
            f"Accounts {first}–{last} of 400" if first < last else f"Account {first} of 400"
        ) in en
        seen_ids += page_ids
        values = pager(card)
        if offset:
            assert values["First page"] == {"action": "list", "offset": 0}
        else:
            assert "First page" not in values and "Previous" not in values
        if "Next" not in values:
            assert "more" not in en
            break
        assert values["Next"]["offset"] == last
        offset = values["Next"]["offset"]
    assert seen_ids == [r.account_id for r in records]
    assert pages > 2


def test_limit_is_respected() -> None:
    records = [record(i) for i in range(8)]
    card = account_list_card(records, now=NOW, zone=UTC_ZONE, limit=3)
    assert_valid_card(card)
    assert len(show_buttons(card)) == 3
    assert "… and 5 more" in all_content(card, "en_us")
    assert [b["element_id"] for b in buttons(card)] == ["show_0", "show_1", "show_2", "btn_next"]
    assert pager(card) == {"Next": {"action": "list", "offset": 3}}

    middle = account_list_card(records, now=NOW, zone=UTC_ZONE, offset=3, limit=3)
    assert_valid_card(middle)
    assert shown_ids(middle) == [r.account_id for r in records[3:6]]
    # Ids count from 0 on every page, so they stay short however far the list goes.
    assert [b["element_id"] for b in show_buttons(middle)] == ["show_0", "show_1", "show_2"]
    assert "Accounts 4–6 of 8" in all_content(middle, "en_us")
    assert "第 4–6 个，共 8 个" in all_content(middle, "zh_cn")
    assert pager(middle) == {
        "First page": {"action": "list", "offset": 0},
        "Next": {"action": "list", "offset": 6},
    }

    last = account_list_card(records, now=NOW, zone=UTC_ZONE, offset=6, limit=3)
    assert_valid_card(last)
    assert shown_ids(last) == [r.account_id for r in records[6:]]
    assert "Accounts 7–8 of 8" in all_content(last, "en_us")
    assert "more" not in all_content(last, "en_us")
    assert pager(last) == {"First page": {"action": "list", "offset": 0}}
    (first_page,) = [b for b in buttons(last) if b["element_id"] == "btn_first"]
    assert first_page["text"]["i18n_content"] == {"zh_cn": "第一页", "en_us": "First page"}


def test_a_list_that_fits_has_no_pager_or_range() -> None:
    card = account_list_card([record(i) for i in range(3)], now=NOW, zone=UTC_ZONE)
    assert pager(card) == {}
    assert "Accounts 1" not in all_content(card, "en_us")


def test_an_offset_past_the_end_says_there_is_nothing_more() -> None:
    records = [record(i) for i in range(5)]
    for offset in (5, 400):
        card = account_list_card(records, now=NOW, zone=UTC_ZONE, offset=offset)
        assert_valid_card(card)
        assert shown_ids(card) == []
        assert "No more accounts: the list has 5 accounts." in all_content(card, "en_us")
        assert "没有更多账户了" in all_content(card, "zh_cn")
        assert pager(card) == {"First page": {"action": "list", "offset": 0}}
    negative = account_list_card(records, now=NOW, zone=UTC_ZONE, offset=-3)
    assert shown_ids(negative) == [r.account_id for r in records]


def test_huge_contacts_still_fit() -> None:
    records = [record(i, contact="x" * 5000 + "@example.com") for i in range(20)]
    card = account_list_card(records, now=NOW, zone=UTC_ZONE)
    assert_valid_card(card)
    shown = len(show_buttons(card))
    assert 0 < shown < 20
    assert f"… and {20 - shown} more" in all_content(card, "en_us")
    assert pager(card) == {"Next": {"action": "list", "offset": shown}}


def test_a_contact_too_long_for_any_card_still_lets_the_list_go_on() -> None:
    records = [record(0), record(1, contact="x" * 40_000 + "@example.com"), record(2)]
    ids = []
    offset = 0
    while True:
        card = account_list_card(records, now=NOW, zone=UTC_ZONE, offset=offset)
        assert_valid_card(card)
        ids += shown_ids(card)
        if "Next" not in pager(card):
            break
        offset = pager(card)["Next"]["offset"]
    assert ids == [r.account_id for r in records]
