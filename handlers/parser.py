"""The `/referral` command language: text in, a typed command or a usage error out. Pure.

`GRAMMAR` is the one list of subcommands: their usage lines and descriptions feed the help card,
those that run without arguments are the bot menu's, and `handlers/commands.py` checks at import
that each one has a handler. An account is named by
a `Who`: its ID, the person's email or mobile, or an @-mention (Feishu's `@_user_N` key).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date

from bot.domain.mobiles import parse_mobile
from bot.domain.rewards import BadAmount, parse_amount
from cards.text import Text

PREFIX = "/referral"
MENTION = re.compile(r"@_user_\d+")
EMAIL = re.compile(r"^[A-Za-z0-9._%+\-']+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
ACCOUNT_ID = re.compile(r"^\d{1,32}$")
COUNTRY_CODE = re.compile(r"^\+?(\d{1,4})$")
NUMBER = re.compile(r"^\d{4,15}$")
CHINA_MOBILE = re.compile(r"^1\d{10}$")
# "+85261234567": the code and number written together (bot/domain/mobiles.py tells them apart).
JOINED_MOBILE = re.compile(r"^\+\d{6,19}$")


@dataclass(frozen=True)
class RegisterByEmail:
    email: str


@dataclass(frozen=True)
class RegisterByMobile:
    code: str
    number: str


@dataclass(frozen=True)
class RegisterByMention:
    mention: str  # the `@_user_N` key; the message's mentions say who


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


@dataclass(frozen=True)
class Show:
    who: Who


@dataclass(frozen=True)
class Enable:
    who: Who


@dataclass(frozen=True)
class Disable:
    who: Who


@dataclass(frozen=True)
class Find:
    text: str


@dataclass(frozen=True)
class Withdraw:
    who: Who
    kind: str = "all"  # points | cash | all


@dataclass(frozen=True)
class Withdrawals:
    who: Who | None = None


@dataclass(frozen=True)
class Reconcile:
    """A window of whole days in the configured zone, both included; None: last month."""

    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class Audit:
    """The latest audit entries, for one account when named."""

    who: Who | None = None


@dataclass(frozen=True)
class Export:
    what: str  # accounts | withdrawals | audit


@dataclass(frozen=True)
class Me:
    pass


@dataclass(frozen=True)
class Referrals:
    """The referrals the bot knows of a referrer (the asker's own when nobody is named)."""

    who: Who | None = None


@dataclass(frozen=True)
class Reward:
    """Ask to reward an account's referrer: `amount` of `unit` (points or a currency)."""

    who: Who
    amount: str
    unit: str
    reason: str


@dataclass(frozen=True)
class Rewards:
    who: Who | None = None


@dataclass(frozen=True)
class WhoAmI:
    """The asker's own open_id and, in a group, the group's chat_id (what the settings take)."""


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
    RegisterByEmail
    | RegisterByMobile
    | RegisterByMention
    | Show
    | Enable
    | Disable
    | ListAccounts
    | Find
    | Me
    | WhoAmI
    | Withdraw
    | Withdrawals
    | Referrals
    | Reward
    | Rewards
    | Reconcile
    | Audit
    | Export
    | PostDigest
    | Help
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
    """One subcommand: its name, usage line, description, parser, and whether anyone may run
    it (`everyone`; else HR admins only, see `handlers/access.py`)."""

    name: str
    usage: str
    summary: Text
    parse: Callable[[list[str], str], Command]
    everyone: bool = False


def _no_args(command: Command) -> Callable[[list[str], str], Command]:
    def parse(args: list[str], usage: str) -> Command:
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
        joined = _joined_mobile(arg)
        if joined is not None:
            return Who(mobile=joined)
        raise UsageError(
            Text(f"'{arg}' names no account. ", f"“{arg}” 无法指明账户。") + WHO_HINT, usage
        )
    if len(args) == 2 and args[0].startswith("+"):
        mobile = _spaced_mobile(args)
        if mobile is not None:
            return Who(mobile=mobile)
    if not args:
        raise UsageError(Text("Say which account. ", "请指明账户。") + WHO_HINT, usage)
    raise UsageError(
        Text(f"'{' '.join(args)}' names no account. ", f"“{' '.join(args)}” 无法指明账户。")
        + WHO_HINT,
        usage,
    )


def _joined_mobile(arg: str) -> tuple[str, str] | None:
    """ "+85261234567" as (code, number), when an assigned calling code begins it."""
    if not JOINED_MOBILE.match(arg):
        return None
    mobile = parse_mobile(arg)
    return (mobile.code, mobile.number) if mobile and NUMBER.match(mobile.number) else None


def _spaced_mobile(args: list[str]) -> tuple[str, str] | None:
    """ "+852 61234567" as (code, number)."""
    code, number = COUNTRY_CODE.match(args[0]), NUMBER.match(args[1])
    if not (code and number):
        return None
    mobile = parse_mobile(" ".join(args))
    return (mobile.code, mobile.number) if mobile else (code.group(1), args[1])


def _naming(kind: type[Show] | type[Enable] | type[Disable]):
    def parse(args: list[str], usage: str) -> Command:
        return kind(parse_who(args, usage))

    return parse


WITHDRAW_KINDS = ("points", "cash", "all")


def _withdraw(args: list[str], usage: str) -> Command:
    kind = "all"
    if args and args[-1].lower() in WITHDRAW_KINDS:
        kind = args[-1].lower()
        args = args[:-1]
    return Withdraw(parse_who(args, usage), kind)


def _withdrawals(args: list[str], usage: str) -> Command:
    return Withdrawals(parse_who(args, usage) if args else None)


def _reconcile(args: list[str], usage: str) -> Command:
    if not args:
        return Reconcile()
    if len(args) != 2:
        raise UsageError(
            Text("Give both days, from and to, or none.", "请同时提供起止日期，或都不提供。"), usage
        )
    try:
        start, end = (date.fromisoformat(arg) for arg in args)
    except ValueError:
        raise UsageError(
            Text("Write days as YYYY-MM-DD.", "日期格式为 YYYY-MM-DD。"), usage
        ) from None
    if start > end:
        raise UsageError(
            Text("The first day comes after the last.", "起始日期晚于结束日期。"), usage
        )
    return Reconcile(start, end)


def _referrals(args: list[str], usage: str) -> Command:
    return Referrals(parse_who(args, usage) if args else None)


def _rewards(args: list[str], usage: str) -> Command:
    return Rewards(parse_who(args, usage) if args else None)


def _reward(args: list[str], usage: str) -> Command:
    taken = 2 if len(args) >= 5 and args[0].startswith("+") and NUMBER.match(args[1]) else 1
    if len(args) < taken + 3:
        raise UsageError(
            Text(
                "Say whom, how much, in what (points or a currency) and why.",
                "请写明奖励对象、金额、单位（积分或币种）和原因。",
            ),
            usage,
        )
    who = parse_who(args[:taken], usage)
    amount, unit, reason = args[taken], args[taken + 1], " ".join(args[taken + 2 :])
    # The amount's own checks (whole points, known currency) come with the domain's words.
    try:
        parse_amount(amount, unit)
    except BadAmount as exc:
        raise UsageError(Text(exc.en, exc.zh), usage) from None
    return Reward(who, amount, unit, reason)


def _audit(args: list[str], usage: str) -> Command:
    return Audit(parse_who(args, usage) if args else None)


EXPORTS = ("accounts", "withdrawals", "audit")


def _export(args: list[str], usage: str) -> Command:
    if len(args) != 1 or args[0].lower() not in EXPORTS:
        raise UsageError(
            Text(
                "Say what to export: accounts, withdrawals or audit.",
                "请指明要导出的内容：accounts（账户）、withdrawals（提取）或 audit（审计）。",
            ),
            usage,
        )
    return Export(args[0].lower())


def _find(args: list[str], usage: str) -> Command:
    text = " ".join(args).strip()
    if not text:
        raise UsageError(Text("Say what to look for.", "请提供要查找的内容。"), usage)
    return Find(text)


def _register(args: list[str], usage: str) -> Command:
    if len(args) == 1 and MENTION.fullmatch(args[0]):
        return RegisterByMention(args[0])
    if len(args) == 1 and "@" in args[0]:
        if not EMAIL.match(args[0]) or len(args[0]) > 254:
            raise UsageError(
                Text(f"'{args[0]}' is not a valid email.", f"“{args[0]}” 不是有效的邮箱。"), usage
            )
        return RegisterByEmail(args[0])
    if len(args) == 1 and CHINA_MOBILE.match(args[0]):
        return RegisterByMobile("86", args[0])
    joined = _joined_mobile(args[0]) if len(args) == 1 else None
    if joined is not None:
        return RegisterByMobile(*joined)
    if len(args) == 2 and args[0].startswith("+"):
        mobile = _spaced_mobile(args)
        if mobile is not None:
            return RegisterByMobile(*mobile)
        raise UsageError(
            Text(
                f"'{' '.join(args)}' is not a mobile number: write +<code> <digits>.",
                f"“{' '.join(args)}” 不是手机号：请写成 +<区号> <号码>。",
            ),
            usage,
        )
    if not args:
        raise UsageError(
            Text("Give an email, a mobile number or an @-mention.", "请提供邮箱、手机号或 @员工。"),
            usage,
        )
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
        "/referral register <email | +code number | @person>",
        Text("Register an employee's referral account", "为员工注册内推账户"),
        _register,
    ),
    Subcommand(
        "show",
        "/referral show <who>",
        Text("Show an account's balance and status", "查看账户余额与状态"),
        _naming(Show),
    ),
    Subcommand(
        "enable",
        "/referral enable <who>",
        Text("Enable an account", "启用账户"),
        _naming(Enable),
    ),
    Subcommand(
        "disable",
        "/referral disable <who>",
        Text("Disable an account (no withdrawals)", "停用账户（不可提取）"),
        _naming(Disable),
    ),
    Subcommand(
        "list",
        "/referral list",
        Text("List the accounts the bot knows", "列出已知账户"),
        _no_args(ListAccounts()),
    ),
    Subcommand(
        "find",
        "/referral find <text>",
        Text("Find accounts by ID, name, email or mobile", "按 ID、姓名、邮箱或手机号查找账户"),
        _find,
    ),
    Subcommand(
        "me",
        "/referral me",
        Text("Your own referral account (everyone)", "查看自己的内推账户（所有人可用）"),
        _no_args(Me()),
        everyone=True,
    ),
    Subcommand(
        "whoami",
        "/referral whoami",
        Text(
            "Your open_id, and in a group its chat_id (everyone)",
            "查看自己的 open_id，在群里还有该群的 chat_id（所有人可用）",
        ),
        _no_args(WhoAmI()),
        everyone=True,
    ),
    Subcommand(
        "withdraw",
        "/referral withdraw <who> [points|cash|all]",
        Text("Ask to pay an account's balance out", "申请提取账户余额"),
        _withdraw,
    ),
    Subcommand(
        "withdrawals",
        "/referral withdrawals [<who>]",
        Text("Withdrawals made through the bot", "通过机器人的提取记录"),
        _withdrawals,
    ),
    Subcommand(
        "referrals",
        "/referral referrals [<who>]",
        Text(
            "Referrals and where they stand (everyone: their own)",
            "内推候选人及其进展（所有人可查看自己的）",
        ),
        _referrals,
        everyone=True,
    ),
    Subcommand(
        "reward",
        "/referral reward <who> <amount> <points|CNY|USD|…> <reason>",
        Text("Ask to reward a referrer", "申请为推荐人发放奖励"),
        _reward,
    ),
    Subcommand(
        "rewards",
        "/referral rewards [<who>]",
        Text("Rewards granted through the bot", "通过机器人发放的奖励"),
        _rewards,
    ),
    Subcommand(
        "reconcile",
        "/referral reconcile [<from> <to>]",
        Text("Check withdrawals against Feishu", "与飞书核对提取记录"),
        _reconcile,
    ),
    Subcommand(
        "audit",
        "/referral audit [<who>]",
        Text("The latest audit entries", "最近的审计记录"),
        _audit,
    ),
    Subcommand(
        "export",
        "/referral export accounts|withdrawals|audit",
        Text("The records as an Excel workbook, here", "以 Excel 工作簿导出记录到此会话"),
        _export,
    ),
    Subcommand(
        "digest",
        "/referral digest",
        Text("Post the status digest here", "在此发送账户摘要"),
        _no_args(PostDigest()),
    ),
    Subcommand(
        "help",
        "/referral help",
        Text("Show this help", "显示帮助"),
        _no_args(Help()),
        everyone=True,
    ),
)
SUBCOMMANDS = {sub.name: sub for sub in GRAMMAR}


def runs_bare(sub: Subcommand) -> bool:
    """Whether the subcommand runs without arguments: it takes none, or only optional ones."""
    try:
        sub.parse([], sub.usage)
    except UsageError:
        return False
    return True


# What a bot menu item (its `event_key`) may run: asked of the grammar, not listed by hand.
BARE_SUBCOMMANDS = tuple(sub.name for sub in GRAMMAR if runs_bare(sub))
GENERAL_USAGE = "/referral <" + " | ".join(SUBCOMMANDS) + "> …"


def words_of(text: str, ignore: Collection[str] = ()) -> list[str]:
    """The words, with full-width spaces as spaces; mentions before the command (addressing the
    bot) and those in `ignore` (the bot's own) dropped, other mentions kept as words."""
    words = [w for w in text.replace("\u3000", " ").split() if w not in ignore]
    while words and MENTION.fullmatch(words[0]):
        words.pop(0)
    return words


def parse(text: str, ignore: Collection[str] = ()) -> Command:
    """Parse a message's text; raise NotACommand or UsageError. `ignore` holds the mention keys
    that stand for the bot itself, which never name an account."""
    words = words_of(" ".join(MENTION.sub(lambda m: f" {m.group()} ", text).split()), ignore)
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
