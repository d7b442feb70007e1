import json
from decimal import Decimal

from card_checks import all_content, assert_valid_card, buttons, texts, walk

from bot.accounts import Account, AccountStatus, Cash, Referrer
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
    assert f"`{ACCOUNT_ID}`" in en and f"`{ACCOUNT_ID}`" in zh
    assert "hr@example.com" in en
    assert "**Points**: 1,200" in en and "**积分**：1,200" in zh
    assert "- CNY 1,234.50\n- USD 100.00" in en
    assert "- CNY 1,234.50\n- USD 100.00" in zh
    assert "no cash bonus" not in en
    json.dumps(card)


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


def test_no_cash_bonus_and_no_contact() -> None:
    card = account_card(make())
    assert_valid_card(card)
    assert "**Cash bonus**: no cash bonus" in all_content(card, "en_us")
    assert "**现金奖励**：无现金奖励" in all_content(card, "zh_cn")
    assert "Contact" not in all_content(card, "en_us")
    assert "**Points**: 0" in all_content(card, "en_us")


def test_referrer_shown_only_when_present() -> None:
    without = account_card(make())
    assert "Referrer" not in all_content(without, "en_us")
    assert "内推人" not in all_content(without, "zh_cn")

    referrer = Referrer(
        id="ou_1", name_zh="张三", name_en="San Zhang", email="san@example.com", mobile="+86 138"
    )
    card = account_card(make(referrer=referrer))
    assert_valid_card(card)
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert "**Referrer**: San Zhang" in en and "**内推人**：张三" in zh
    assert "san@example.com" in en and "san@example.com" in zh
    assert "+86 138" in en


def test_referrer_name_falls_back_to_the_other_language_and_contacts_are_optional() -> None:
    card = account_card(make(referrer=Referrer(name_zh="李四")))
    assert_valid_card(card)
    assert "**Referrer**: 李四" in all_content(card, "en_us")
    assert "Email" not in all_content(card, "en_us")
    nameless = account_card(make(referrer=Referrer(id="ou_2", email="x@example.com")))
    assert_valid_card(nameless)
    assert "x@example.com" in all_content(nameless, "en_us")


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
