"""The `/referral` command language: text in, a typed command or a usage error out. Pure.

`GRAMMAR` is the one list of subcommands: their usage lines and descriptions feed the help card,
and `handlers/commands.py` checks at import that each one has a handler.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from cards.text import Text

PREFIX = "/referral"
MENTION = re.compile(r"@_user_\d+")
EMAIL = re.compile(r"^[A-Za-z0-9._%+\-']+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
ACCOUNT_ID = re.compile(r"^\d{1,32}$")
COUNTRY_CODE = re.compile(r"^\+?(\d{1,4})$")
NUMBER = re.compile(r"^\d{4,15}$")
CHINA_MOBILE = re.compile(r"^1\d{10}$")


@dataclass(frozen=True)
class RegisterByEmail:
    email: str


@dataclass(frozen=True)
class RegisterByMobile:
    code: str
    number: str


@dataclass(frozen=True)
class Show:
    account_id: str


@dataclass(frozen=True)
class Enable:
    account_id: str


@dataclass(frozen=True)
class Disable:
    account_id: str


@dataclass(frozen=True)
class ListAccounts:
    pass


@dataclass(frozen=True)
class PostDigest:
    pass


@dataclass(frozen=True)
class Help:
    pass


Command = (
    RegisterByEmail | RegisterByMobile | Show | Enable | Disable | ListAccounts | PostDigest | Help
)


class NotACommand(Exception):
    """The text is not addressed to this bot's command language at all."""


class UsageError(Exception):
    """The text is a command, but wrong; `problem` says what, `usage` how to write it."""

    def __init__(self, problem: Text, usage: str) -> None:
        super().__init__(problem.en)
        self.problem = problem
        self.usage = usage


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: Text
    parse: Callable[[list[str], str], Command]


def _no_args(command: Command) -> Callable[[list[str], str], Command]:
    def parse(args: list[str], usage: str) -> Command:
        if args:
            raise UsageError(Text("This command takes no arguments.", "该命令不需要参数。"), usage)
        return command

    return parse


def _account_id(kind: type[Show] | type[Enable] | type[Disable]):
    def parse(args: list[str], usage: str) -> Command:
        if len(args) != 1:
            raise UsageError(Text("Give exactly one account ID.", "请提供一个账户 ID。"), usage)
        if not ACCOUNT_ID.match(args[0]):
            raise UsageError(
                Text(
                    f"'{args[0]}' is not an account ID: account IDs are digits.",
                    f"“{args[0]}” 不是账户 ID：账户 ID 由数字组成。",
                ),
                usage,
            )
        return kind(args[0])

    return parse


def _register(args: list[str], usage: str) -> Command:
    if len(args) == 1 and "@" in args[0]:
        if not EMAIL.match(args[0]) or len(args[0]) > 254:
            raise UsageError(
                Text(f"'{args[0]}' is not a valid email.", f"“{args[0]}” 不是有效的邮箱。"), usage
            )
        return RegisterByEmail(args[0])
    if len(args) == 1 and CHINA_MOBILE.match(args[0]):
        return RegisterByMobile("86", args[0])
    if len(args) == 2 and args[0].startswith("+"):
        code, number = COUNTRY_CODE.match(args[0]), NUMBER.match(args[1])
        if code and number:
            return RegisterByMobile(code.group(1), args[1])
        raise UsageError(
            Text(
                f"'{' '.join(args)}' is not a mobile number: write +<code> <digits>.",
                f"“{' '.join(args)}” 不是手机号：请写成 +<区号> <号码>。",
            ),
            usage,
        )
    if not args:
        raise UsageError(Text("Give an email or a mobile number.", "请提供邮箱或手机号。"), usage)
    raise UsageError(
        Text(
            f"'{' '.join(args)}' is neither an email nor a mobile number.",
            f"“{' '.join(args)}” 既不是邮箱也不是手机号。",
        ),
        usage,
    )


GRAMMAR: tuple[Subcommand, ...] = (
    Subcommand(
        "register",
        "/referral register <email | +code number | number>",
        Text("Register an employee's referral account", "为员工注册内推账户"),
        _register,
    ),
    Subcommand(
        "show",
        "/referral show <account_id>",
        Text("Show an account's balance and status", "查看账户余额与状态"),
        _account_id(Show),
    ),
    Subcommand(
        "enable",
        "/referral enable <account_id>",
        Text("Enable an account", "启用账户"),
        _account_id(Enable),
    ),
    Subcommand(
        "disable",
        "/referral disable <account_id>",
        Text("Disable an account (no withdrawals)", "停用账户（不可提取）"),
        _account_id(Disable),
    ),
    Subcommand(
        "list",
        "/referral list",
        Text("List the accounts the bot knows", "列出已知账户"),
        _no_args(ListAccounts()),
    ),
    Subcommand(
        "digest",
        "/referral digest",
        Text("Post the status digest here", "在此发送账户汇总"),
        _no_args(PostDigest()),
    ),
    Subcommand("help", "/referral help", Text("Show this help", "显示帮助"), _no_args(Help())),
)
SUBCOMMANDS = {sub.name: sub for sub in GRAMMAR}
GENERAL_USAGE = "/referral <" + " | ".join(SUBCOMMANDS) + "> …"


def strip_mentions(text: str) -> str:
    """Remove `@_user_N` placeholders and normalise spaces (full-width ones included)."""
    return " ".join(MENTION.sub(" ", text).replace("\u3000", " ").split())


def parse(text: str) -> Command:
    """Parse a message's text; raise NotACommand or UsageError."""
    words = strip_mentions(text).split()
    if not words or words[0].lower() != PREFIX:
        raise NotACommand(text)
    if len(words) == 1:
        return Help()
    name, args = words[1].lower(), words[2:]
    sub = SUBCOMMANDS.get(name)
    if sub is None:
        raise UsageError(
            Text(f"Unknown command '{words[1]}'.", f"未知命令 “{words[1]}”。"), GENERAL_USAGE
        )
    return sub.parse(args, sub.usage)
