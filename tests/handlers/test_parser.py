"""The command language, without a server."""

import pytest

from handlers import parser
from handlers.parser import (
    Disable,
    Enable,
    Help,
    ListAccounts,
    NotACommand,
    PostDigest,
    RegisterByEmail,
    RegisterByMobile,
    Show,
    UsageError,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/referral register hire@open.com", RegisterByEmail("hire@open.com")),
        ("/referral register +86 18900001111", RegisterByMobile("86", "18900001111")),
        ("/referral register +1 4155550100", RegisterByMobile("1", "4155550100")),
        ("/referral register 18900001111", RegisterByMobile("86", "18900001111")),
        ("/referral show 6942778198054125570", Show("6942778198054125570")),
        ("/referral enable 6942778198054125570", Enable("6942778198054125570")),
        ("/referral disable 6942778198054125570", Disable("6942778198054125570")),
        ("/referral list", ListAccounts()),
        ("/referral digest", PostDigest()),
        ("/referral help", Help()),
        ("/referral", Help()),
        ("  /REFERRAL   Show   42 ", Show("42")),
        ("@_user_1 /referral show 42", Show("42")),
        ("@_user_1\u3000/referral list @_user_2", ListAccounts()),
    ],
)
def test_commands_parse_to_typed_values(text, expected):
    assert parser.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "usage"),
    [
        ("/referral register not-an-email@", "/referral register"),
        ("/referral register", "/referral register"),
        ("/referral register +86", "/referral register"),
        ("/referral register +86 12ab", "/referral register"),
        ("/referral register 12345", "/referral register"),
        ("/referral register a@b.com extra", "/referral register"),
        ("/referral show abc", "/referral show"),
        ("/referral show 12-34", "/referral show"),
        ("/referral show", "/referral show"),
        ("/referral show 1 2", "/referral show"),
        ("/referral enable x1", "/referral enable"),
        ("/referral disable", "/referral disable"),
        ("/referral list everything", "/referral list"),
        ("/referral frobnicate 1", "/referral <register"),
    ],
)
def test_wrong_arguments_are_usage_errors_naming_the_usage(text, usage):
    with pytest.raises(UsageError) as caught:
        parser.parse(text)
    assert caught.value.usage.startswith(usage)
    assert caught.value.problem.en and caught.value.problem.zh


def test_unknown_subcommand_says_which():
    with pytest.raises(UsageError) as caught:
        parser.parse("/referral frobnicate")
    assert "frobnicate" in caught.value.problem.en


@pytest.mark.parametrize("text", ["hello", "", "@_user_1", "/referrals list", "referral list"])
def test_other_text_is_not_a_command(text):
    with pytest.raises(NotACommand):
        parser.parse(text)


def test_every_subcommand_has_usage_and_both_languages():
    names = [sub.name for sub in parser.GRAMMAR]
    assert names == ["register", "show", "enable", "disable", "list", "digest", "help"]
    for sub in parser.GRAMMAR:
        assert sub.usage.startswith(f"/referral {sub.name}")
        assert sub.summary.en and sub.summary.zh
