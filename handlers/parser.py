"""The `/referral` command language: text in, a typed command or a usage error out. Pure.

The subcommands themselves (name, usage line, summary, how their arguments parse) are entries
of the registry (`handlers/registry.py`), declared by the feature folders beside their
functions; here are the words they share: how an account is named (a `Who`: its ID, the
person's email or mobile, or an @-mention, Feishu's `@_user_N` key), the parses of commands
that take no arguments or one `<who>`, and `read`, which finds the subcommand a text asks for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from bot.domain.mobiles import parse_mobile
from cards.text import Text
from handlers.registry import CommandEntry, loaded

PREFIX = "/referral"
MENTION = re.compile(r"@_user_\d+")
EMAIL = re.compile(r"^[A-Za-z0-9._%+\-']+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
ACCOUNT_ID = re.compile(r"^\d{1,32}$")
APPLICATION_ID = re.compile(r"^\d{1,32}$")  # Feishu Hire's ids are digits too
COUNTRY_CODE = re.compile(r"^\+?(\d{1,4})$")
NUMBER = re.compile(r"^\d{4,15}$")
CHINA_MOBILE = re.compile(r"^1\d{10}$")
# "+85261234567": the code and number written together (bot/domain/mobiles.py tells them apart).
JOINED_MOBILE = re.compile(r"^\+\d{6,19}$")


@dataclass(frozen=True)
class Who:
    """How a command names an account. Digits that look like a mainland mobile carry both
    readings (`account_id` and `mobile`): the records decide which one is meant."""

    account_id: str | None = None
    email: str | None = None
    mobile: tuple[str, str] | None = None  # (country code, number)
    mention: str | None = None

    def __str__(self) -> str:
        if self.mention:
            return self.mention
        if self.email:
            return self.email
        if self.mobile and not self.account_id:
            return f"+{self.mobile[0]} {self.mobile[1]}"
        return self.account_id or ""


class NotACommand(Exception):
    """The text is not addressed to this bot's command language at all."""


class UsageError(Exception):
    """The text is a command, but wrong; `problem` says what, `usage` how to write it."""

    def __init__(self, problem: Text, usage: str) -> None:
        super().__init__(problem.en)
        self.problem = problem
        self.usage = usage


def no_args(command: object) -> Callable[[list[str], str], object]:
    """The parse of a command that takes no arguments."""

    def parse(args: list[str], usage: str) -> object:
        if args:
            raise UsageError(Text("This command takes no arguments.", "该命令不需要参数。"), usage)
        return command

    return parse


WHO_HINT = Text(
    "Name the account by its ID, the person's email or mobile, or @-mention them.",
    "请用账户 ID、员工的邮箱或手机号，或 @该员工 来指明账户。",
)


def parse_who(args: list[str], usage: str) -> Who:
    """An account ID, an email, `+<code> <number>`, a bare mainland mobile, or a mention."""
    if len(args) == 1:
        (arg,) = args
        if MENTION.fullmatch(arg):
            return Who(mention=arg)
        if "@" in arg:
            if not EMAIL.match(arg) or len(arg) > 254:
                raise UsageError(
                    Text(f"'{arg}' is not a valid email.", f"“{arg}” 不是有效的邮箱。"), usage
                )
            return Who(email=arg)
        if CHINA_MOBILE.match(arg):
            return Who(account_id=arg, mobile=("86", arg))
        if ACCOUNT_ID.match(arg):
            return Who(account_id=arg)
        joined = joined_mobile(arg)
        if joined is not None:
            return Who(mobile=joined)
        raise UsageError(
            Text(f"'{arg}' names no account. ", f"“{arg}” 无法指明账户。") + WHO_HINT, usage
        )
    if len(args) == 2 and args[0].startswith("+"):
        mobile = spaced_mobile(args)
        if mobile is not None:
            return Who(mobile=mobile)
    if not args:
        raise UsageError(Text("Say which account. ", "请指明账户。") + WHO_HINT, usage)
    raise UsageError(
        Text(f"'{' '.join(args)}' names no account. ", f"“{' '.join(args)}” 无法指明账户。")
        + WHO_HINT,
        usage,
    )


def joined_mobile(arg: str) -> tuple[str, str] | None:
    """ "+85261234567" as (code, number), when an assigned calling code begins it."""
    if not JOINED_MOBILE.match(arg):
        return None
    mobile = parse_mobile(arg)
    return (mobile.code, mobile.number) if mobile and NUMBER.match(mobile.number) else None


def spaced_mobile(args: list[str]) -> tuple[str, str] | None:
    """ "+852 61234567" as (code, number)."""
    code, number = COUNTRY_CODE.match(args[0]), NUMBER.match(args[1])
    if not (code and number):
        return None
    mobile = parse_mobile(" ".join(args))
    return (mobile.code, mobile.number) if mobile else (code.group(1), args[1])


def naming(kind: Callable[[Who], object]) -> Callable[[list[str], str], object]:
    """The parse of a command that takes one `<who>`."""

    def parse(args: list[str], usage: str) -> object:
        return kind(parse_who(args, usage))

    return parse


def optional_naming(kind: Callable[[Who | None], object]) -> Callable[[list[str], str], object]:
    """The parse of a command that takes an optional `[<who>]` (None when left out)."""

    def parse(args: list[str], usage: str) -> object:
        return kind(parse_who(args, usage) if args else None)

    return parse


def words_of(text: str, ignore: Collection[str] = ()) -> list[str]:
    """The words, with full-width spaces as spaces; mentions before the command (addressing the
    bot) and those in `ignore` (the bot's own) dropped, other mentions kept as words."""
    words = [w for w in text.replace("\u3000", " ").split() if w not in ignore]
    while words and MENTION.fullmatch(words[0]):
        words.pop(0)
    return words


def read(text: str, ignore: Collection[str] = ()) -> tuple[CommandEntry, object]:
    """The command a message's text asks for, and its registry entry; raise NotACommand or
    UsageError. `ignore` holds the mention keys that stand for the bot itself, which never
    name an account. `/referral` alone asks for the help."""
    words = words_of(" ".join(MENTION.sub(lambda m: f" {m.group()} ", text).split()), ignore)
    if not words or words[0].lower() != PREFIX:
        raise NotACommand(text)
    commands = loaded().commands
    name, args = (words[1].lower(), words[2:]) if len(words) > 1 else ("help", [])
    entry = commands.get(name)
    if entry is None:
        raise UsageError(
            Text(f"Unknown command '{words[1]}'.", f"未知命令 “{words[1]}”。"),
            loaded().general_usage(),
        )
    return entry, entry.parse(args, entry.usage)


def parse(text: str, ignore: Collection[str] = ()) -> object:
    """The command a message's text asks for (see `read`)."""
    return read(text, ignore)[1]
