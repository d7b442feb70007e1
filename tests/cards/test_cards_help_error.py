import json

from card_checks import all_content, assert_valid_card, buttons

from cards.error import error_card, not_allowed_card
from cards.help import help_card
from cards.text import Text

COMMANDS = [
    (
        "/referral register <email>",
        Text("Register the account of an employee", "注册员工的内推账户"),
    ),
    ("/referral show <account_id>", Text("Show an account and its balance", "查看账户及余额")),
    ("/referral list", Text("List known accounts", "列出已知账户")),
]


def test_help_card_lists_every_command_in_one_element() -> None:
    card = help_card(COMMANDS)
    assert_valid_card(card)
    assert card["header"]["title"]["i18n_content"] == {
        "zh_cn": "使用帮助",
        "en_us": "referral-bot help",
    }
    first = card["body"]["elements"][0]
    assert first["tag"] == "markdown"
    assert first["i18n_content"]["en_us"].splitlines() == [
        "`/referral register <email>` Register the account of an employee",
        "`/referral show <account_id>` Show an account and its balance",
        "`/referral list` List known accounts",
    ]
    assert first["i18n_content"]["zh_cn"].splitlines()[1] == (
        "`/referral show <account_id>` 查看账户及余额"
    )
    assert "@mention the bot first" in all_content(card, "en_us")
    assert "群聊中请先 @机器人" in all_content(card, "zh_cn")
    assert len(card["body"]["elements"]) == 2
    assert buttons(card) == []
    json.dumps(card)


def test_help_card_without_commands_still_valid() -> None:
    assert_valid_card(help_card([]))


def test_error_card_with_usage() -> None:
    card = error_card(
        Text("Unknown account", "未知账户"),
        Text("No account 123 was found.", "未找到账户 123。"),
        usage="/referral show <account_id>",
    )
    assert_valid_card(card)
    assert card["header"]["template"] == "red"
    assert card["header"]["title"]["i18n_content"] == {
        "zh_cn": "未知账户",
        "en_us": "Unknown account",
    }
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert "No account 123 was found." in en and "未找到账户 123。" in zh
    assert "**Usage**\n`/referral show <account_id>`" in en
    assert "**用法**\n`/referral show <account_id>`" in zh


def test_error_card_without_usage() -> None:
    card = error_card(Text("Oops", "出错了"), Text("Try again later.", "请稍后再试。"))
    assert_valid_card(card)
    assert "Usage" not in all_content(card, "en_us")
    assert "用法" not in all_content(card, "zh_cn")
    assert len(card["body"]["elements"]) == 1


def test_not_allowed_card() -> None:
    card = not_allowed_card()
    assert_valid_card(card)
    assert card["header"]["template"] == "red"
    assert card["header"]["title"]["i18n_content"] == {
        "zh_cn": "你没有权限",
        "en_us": "You are not allowed",
    }
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    # Staff are told whom to ask; the setting's name is for the log and `doctor`.
    assert "REFERRAL_BOT" not in en and "REFERRAL_BOT" not in zh
    assert "HR admins" in en and "HR 管理员" in zh
    assert "ask your HR team" in en and "请联系你的 HR 团队" in zh
    assert buttons(card) == []
