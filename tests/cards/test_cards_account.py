import json
from decimal import Decimal

from card_checks import all_content, assert_valid_card, buttons, texts, walk

from bot.domain.accounts import Account, AccountStatus, Cash, Referrer
from cards.account import account_card
from cards.text import Text

ACCOUNT_ID = "6942778198054125570"


def make(status: AccountStatus = AccountStatus.ENABLED, **kwargs: object) -> Account:
    return Account(ACCOUNT_ID, status, **kwargs)  # type: ignore[arg-type]


def test_enabled_account_card() -> None:
    card = account_card(
        make(points=1200, cash=(Cash("CNY", Decimal("1234.5")), Cash("USD", Decimal("100")))),
        contact="hr@example.com",
    )
    assert_valid_card(card)
    assert card["header"]["template"] == "green"
    assert card["header"]["title"]["i18n_content"] == {
        "zh_cn": "内推账户",
        "en_us": "Referral account",
    }
    [tag] = card["header"]["text_tag_list"]
    assert tag["color"] == "green"
    assert tag["text"]["i18n_content"] == {"zh_cn": "已启用", "en_us": "Enabled"}
    en = all_content(card, "en_us")
    zh = all_content(card, "zh_cn")
    assert f"**Account**: **hr@example.com** · `{ACCOUNT_ID}`" in en  # no name: the contact
    assert f"**账户**：**hr@example.com** · `{ACCOUNT_ID}`" in zh
    assert "**Balance**: 1,200 points · CNY 1,234.50 · USD 100.00" in en
    assert "**余额**：1,200 积分 · CNY 1,234.50 · USD 100.00" in zh
    assert "no cash" not in en
    json.dumps(card)


def test_the_id_shows_once_and_a_contact_that_is_the_referrers_once() -> None:
    referrer = Referrer(id="ou_1", name_en="Chen Jing", email="Chen.Jing@open.com")
    card = account_card(make(referrer=referrer), contact="chen.jing@open.com")
    assert_valid_card(card)
    for language in ("en_us", "zh_cn"):
        text = all_content(card, language)
        assert text.count(ACCOUNT_ID) == 1, text  # not in the header as well as the body
        assert text.lower().count("chen.jing@open.com") == 1, text
    assert "Contact" not in all_content(card, "en_us")
    assert "**Email**: Chen.Jing@open.com" in all_content(card, "en_us")
    # No name: the contact names the account, and is not repeated as the Email.
    nameless = account_card(
        make(referrer=Referrer(email="chen.jing@open.com")), contact="chen.jing@open.com"
    )
    assert f"**Account**: **chen.jing@open.com** · `{ACCOUNT_ID}`" in all_content(nameless, "en_us")
    assert all_content(nameless, "en_us").count("chen.jing@open.com") == 1
    # A mobile written HR's way and Feishu's way is one mobile.
    mobile = Referrer(id="ou_1", name_en="Chen Jing", mobile="+8618900001111")
    card = account_card(make(referrer=mobile), contact="+86 18900001111")
    assert "Contact" not in all_content(card, "en_us")
    # A contact that is not the referrer's stays.
    card = account_card(make(referrer=referrer), contact="+86 18900001111")
    assert "**Contact**: +86 18900001111" in all_content(card, "en_us")


def test_enabled_account_has_disable_with_confirm_and_refresh() -> None:
    disable, refresh = buttons(account_card(make()))
    assert disable["type"] == "danger"
    assert disable["element_id"] == "btn_disable"
    assert disable["behaviors"] == [
        {"type": "callback", "value": {"action": "disable", "account_id": ACCOUNT_ID}}
    ]
    assert disable["text"]["i18n_content"] == {"zh_cn": "停用", "en_us": "Disable"}
    confirm = disable["confirm"]
    assert confirm["title"]["i18n_content"]["zh_cn"] == "确定停用该内推账户？"
    text = confirm["text"]["i18n_content"]
    assert "stops receiving balance-change events" in text["en_us"]
    assert "cannot be withdrawn until it is enabled again" in text["en_us"]
    assert "不再接收余额变动事件" in text["zh_cn"] and "无法提现" in text["zh_cn"]
    assert refresh["type"] == "default"
    assert refresh["behaviors"][0]["value"] == {"action": "refresh", "account_id": ACCOUNT_ID}
    assert "confirm" not in refresh


def test_disabled_account_has_enable_and_refresh() -> None:
    card = account_card(make(AccountStatus.DISABLED))
    assert_valid_card(card)
    assert card["header"]["template"] == "grey"
    [tag] = card["header"]["text_tag_list"]
    assert tag["color"] == "red"
    assert tag["text"]["i18n_content"] == {"zh_cn": "已停用", "en_us": "Disabled"}
    enable, refresh = buttons(card)
    assert enable["type"] == "primary"
    assert enable["behaviors"] == [
        {"type": "callback", "value": {"action": "enable", "account_id": ACCOUNT_ID}}
    ]
    assert "confirm" not in enable
    assert refresh["behaviors"][0]["value"]["action"] == "refresh"
    assert [b["behaviors"][0]["value"]["action"] for b in buttons(card)] == ["enable", "refresh"]


def test_no_cash_and_no_contact() -> None:
    card = account_card(make())
    assert_valid_card(card)
    assert "**Balance**: 0 points · no cash" in all_content(card, "en_us")
    assert "**余额**：0 积分 · 无现金" in all_content(card, "zh_cn")
    assert "Contact" not in all_content(card, "en_us")


def test_an_emptied_account_reads_like_one_that_never_had_cash() -> None:
    emptied = account_card(make(cash=(Cash("CNY", Decimal(0)), Cash("USD", Decimal(0)))))
    assert "**Balance**: 0 points · no cash" in all_content(emptied, "en_us")
    assert "0.00" not in all_content(emptied, "en_us")


def test_the_account_is_named_by_its_referrer_in_the_readers_language() -> None:
    without = account_card(make())
    assert f"**Account**: `{ACCOUNT_ID}`" in all_content(without, "en_us")  # the ID alone
    assert "Email" not in all_content(without, "en_us")

    referrer = Referrer(
        id="ou_1", name_zh="张三", name_en="San Zhang", email="san@example.com", mobile="+86 138"
    )
    card = account_card(make(referrer=referrer))
    assert_valid_card(card)
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert f"**Account**: **San Zhang** · `{ACCOUNT_ID}`" in en
    assert f"**账户**：**张三** · `{ACCOUNT_ID}`" in zh
    assert "**Email**: san@example.com" in en and "**邮箱**：san@example.com" in zh
    assert "+86 138" in en
    assert card["config"]["summary"]["i18n_content"] == {
        "en_us": "Referral account · San Zhang",
        "zh_cn": "内推账户 · 张三",
    }


def test_referrer_name_falls_back_to_the_other_language_and_contacts_are_optional() -> None:
    card = account_card(make(referrer=Referrer(name_zh="李四")))
    assert_valid_card(card)
    assert f"**Account**: **李四** · `{ACCOUNT_ID}`" in all_content(card, "en_us")
    assert "Email" not in all_content(card, "en_us")
    nameless = account_card(make(referrer=Referrer(id="ou_2", email="x@example.com")))
    assert_valid_card(nameless)
    assert "**Email**: x@example.com" in all_content(nameless, "en_us")


def test_notice_comes_first() -> None:
    card = account_card(make(), notice=Text("Account registered", "账户已注册"))
    assert_valid_card(card)
    first = card["body"]["elements"][0]
    assert first["i18n_content"] == {"zh_cn": "**账户已注册**", "en_us": "**Account registered**"}


def test_markdown_in_data_is_escaped() -> None:
    card = account_card(make(referrer=Referrer(name_en="*Evil* <at id=all></at>")))
    source = "\n".join(node["content"] for node in texts(card))
    assert "<at" not in source and "*Evil*" not in source
    assert "*Evil* <at id=all></at>" in all_content(card, "en_us")  # shown as it was typed


def test_buttons_sit_in_a_column_set_not_a_v1_action() -> None:
    card = account_card(make())
    last = card["body"]["elements"][-1]
    assert last["tag"] == "column_set"
    assert all(node.get("tag") != "action" for node in walk(card))
