"""The command language, without a server."""

from datetime import date

import pytest

from handlers import parser
from handlers.accounts.commands import (
    Disable,
    Enable,
    ListAccounts,
    RegisterByEmail,
    RegisterByMention,
    RegisterByMobile,
    Show,
)
from handlers.digest.commands import PostDigest
from handlers.help.commands import Help
from handlers.parser import NotACommand, UsageError, Who
from handlers.people.commands import Find, Me, WhoAmI
from handlers.reconcile.commands import Reconcile
from handlers.referrals.commands import Referrals
from handlers.registry import loaded
from handlers.reports.commands import Audit, Export
from handlers.rewards.commands import Reward, Rewards
from handlers.withdrawals.commands import Withdraw, Withdrawals


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/referral register hire@open.com", RegisterByEmail("hire@open.com")),
        ("/referral register +86 18900001111", RegisterByMobile("86", "18900001111")),
        ("/referral register +1 4155550100", RegisterByMobile("1", "4155550100")),
        ("/referral register 18900001111", RegisterByMobile("86", "18900001111")),
        ("/referral show 6942778198054125570", Show(Who(account_id="6942778198054125570"))),
        ("/referral enable 6942778198054125570", Enable(Who(account_id="6942778198054125570"))),
        ("/referral disable 6942778198054125570", Disable(Who(account_id="6942778198054125570"))),
        ("/referral show hire@open.com", Show(Who(email="hire@open.com"))),
        ("/referral show +1 4155550100", Show(Who(mobile=("1", "4155550100")))),
        ("/referral show +852 61234567", Show(Who(mobile=("852", "61234567")))),
        ("/referral show +85261234567", Show(Who(mobile=("852", "61234567")))),
        ("/referral register +85261234567", RegisterByMobile("852", "61234567")),
        ("/referral disable +14155550100", Disable(Who(mobile=("1", "4155550100")))),
        (
            "/referral show 18900001111",
            Show(Who(account_id="18900001111", mobile=("86", "18900001111"))),
        ),
        ("/referral disable @_user_2", Disable(Who(mention="@_user_2"))),
        ("/referral register @_user_1", RegisterByMention("@_user_1")),
        ("/referral find Zhang San", Find("Zhang San")),
        ("/referral me", Me()),
        ("/referral whoami", WhoAmI()),
        ("/referral WHOAMI", WhoAmI()),
        ("/referral withdraw 42", Withdraw(Who(account_id="42"), "all")),
        ("/referral withdraw hire@open.com CASH", Withdraw(Who(email="hire@open.com"), "cash")),
        (
            "/referral withdraw +86 18900001111 points",
            Withdraw(Who(mobile=("86", "18900001111")), "points"),
        ),
        ("/referral withdrawals", Withdrawals()),
        ("/referral withdrawals @_user_1", Withdrawals(Who(mention="@_user_1"))),
        ("/referral reconcile", Reconcile()),
        (
            "/referral reconcile 2026-10-01 2026-10-31",
            Reconcile(date(2026, 10, 1), date(2026, 10, 31)),
        ),
        ("/referral list", ListAccounts()),
        ("/referral digest", PostDigest()),
        ("/referral help", Help()),
        ("/referral", Help()),
        ("  /REFERRAL   Show   42 ", Show(Who(account_id="42"))),
        ("@_user_1 /referral show 42", Show(Who(account_id="42"))),
        ("@_user_1\u3000/referral list", ListAccounts()),
    ],
)
def test_commands_parse_to_typed_values(text, expected):
    assert parser.parse(text) == expected


def test_the_bots_own_mention_is_never_a_who():
    assert parser.parse("/referral show @_user_1 @_user_2", ignore={"@_user_1"}) == Show(
        Who(mention="@_user_2")
    )
    assert parser.parse("/referral list @_user_2", ignore={"@_user_2"}) == ListAccounts()
    with pytest.raises(UsageError):
        parser.parse("/referral list @_user_2")  # someone else: list takes no arguments


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
        ("/referral show not-an-email@", "/referral show"),
        ("/referral me @_user_2", "/referral me"),
        ("/referral find", "/referral find"),
        ("/referral withdraw", "/referral withdraw"),
        ("/referral withdraw 42 everything", "/referral withdraw"),
        ("/referral reconcile 2026-10-01", "/referral reconcile"),
        ("/referral reconcile 2026-10-31 2026-10-01", "/referral reconcile"),
        ("/referral reconcile 2026-13-01 2026-10-01", "/referral reconcile"),
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
    names = [sub.name for sub in loaded().commands.values()]
    assert names == [
        "register",
        "show",
        "enable",
        "disable",
        "list",
        "find",
        "me",
        "whoami",
        "withdraw",
        "withdrawals",
        "referrals",
        "reward",
        "rewards",
        "reconcile",
        "audit",
        "export",
        "digest",
        "help",
    ]
    for sub in loaded().commands.values():
        assert sub.usage.startswith(f"/referral {sub.name}")
        assert sub.summary.en and sub.summary.zh


def test_audit_takes_an_optional_who():
    assert parser.parse("/referral audit") == Audit()
    assert parser.parse("/referral audit 6900001") == Audit(parser.Who(account_id="6900001"))
    assert parser.parse("/referral audit hire@open.com") == Audit(parser.Who(email="hire@open.com"))
    assert parser.parse("/referral audit @_user_1") == Audit(parser.Who(mention="@_user_1"))
    with pytest.raises(parser.UsageError) as err:
        parser.parse("/referral audit not-an-account")
    assert err.value.usage == "/referral audit [<who>]"


@pytest.mark.parametrize("what", ["accounts", "withdrawals", "audit", "Accounts"])
def test_export_names_a_table(what: str):
    assert parser.parse(f"/referral export {what}") == Export(what.lower())


@pytest.mark.parametrize("args", ["", " people", " accounts audit"])
def test_export_refuses_anything_else(args: str):
    with pytest.raises(parser.UsageError) as err:
        parser.parse(f"/referral export{args}")
    assert err.value.usage == "/referral export accounts|withdrawals|audit|rewards|referrals"
    assert "accounts" in err.value.problem.en and err.value.problem.zh


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "/referral reward 6900001 2000 points Referral hired: Li Si",
            Reward(parser.Who(account_id="6900001"), "2000", "points", "Referral hired: Li Si"),
        ),
        (
            "/referral reward +852 61234567 3000.50 cny bonus",
            Reward(parser.Who(mobile=("852", "61234567")), "3000.50", "cny", "bonus"),
        ),
        ("/referral referrals", Referrals()),
        ("/referral rewards hire@open.com", Rewards(parser.Who(email="hire@open.com"))),
    ],
)
def test_referral_and_reward_commands(text, expected):
    assert parser.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("/referral reward 6900001 2000 points", "Say whom"),
        ("/referral reward 6900001 -5 points why", "not an amount"),
        ("/referral reward 6900001 0 points why", "more than zero"),
        ("/referral reward 6900001 1.5 points why", "whole numbers"),
        ("/referral reward 6900001 10.123 CNY why", "two decimals"),
        ("/referral reward 6900001 100 XYZ why", "not a currency"),
        ("/referral reward 6900001 abc CNY why", "not an amount"),
    ],
)
def test_a_bad_reward_is_a_usage_error(text, says):
    with pytest.raises(UsageError) as caught:
        parser.parse(text)
    assert says in caught.value.problem.en and caught.value.problem.zh
    assert caught.value.usage.startswith("/referral reward <who>")
