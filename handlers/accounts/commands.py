"""The commands that act on one account (register, show, enable, disable) and `list`."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.accounts import Account, AccountStatus
from bot.domain.mobiles import MAINLAND_CODE, Mobile, mobile_key, parse_mobile
from bot.domain.people import OPEN_ID
from bot.records.store import utcnow
from cards.account import account_card
from cards.account_list import account_list_card
from cards.error import error_card
from cards.text import Text
from handlers import parser
from handlers.asker import Answer, Asker
from handlers.people import lookup
from handlers.registry import Once, command
from handlers.services import Services


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


Registration = RegisterByEmail | RegisterByMobile | RegisterByMention


@dataclass(frozen=True)
class Show:
    who: parser.Who


@dataclass(frozen=True)
class Enable:
    who: parser.Who


@dataclass(frozen=True)
class Disable:
    who: parser.Who


@dataclass(frozen=True)
class ListAccounts:
    pass


def parse_register(args: list[str], usage: str) -> Registration:
    """`register <email | +code number | @person>`."""
    if len(args) == 1 and parser.MENTION.fullmatch(args[0]):
        return RegisterByMention(args[0])
    if len(args) == 1 and "@" in args[0]:
        if not parser.EMAIL.match(args[0]) or len(args[0]) > 254:
            raise parser.UsageError(
                Text(f"'{args[0]}' is not a valid email.", f"“{args[0]}” 不是有效的邮箱。"), usage
            )
        return RegisterByEmail(args[0])
    if len(args) == 1 and parser.CHINA_MOBILE.match(args[0]):
        return RegisterByMobile("86", args[0])
    joined = parser.joined_mobile(args[0]) if len(args) == 1 else None
    if joined is not None:
        return RegisterByMobile(*joined)
    if len(args) == 2 and args[0].startswith("+"):
        mobile = parser.spaced_mobile(args)
        if mobile is not None:
            return RegisterByMobile(*mobile)
        raise parser.UsageError(
            Text(
                f"'{' '.join(args)}' is not a mobile number: write +<code> <digits>.",
                f"“{' '.join(args)}” 不是手机号：请写成 +<区号> <号码>。",
            ),
            usage,
        )
    if not args:
        raise parser.UsageError(
            Text("Give an email, a mobile number or an @-mention.", "请提供邮箱、手机号或 @员工。"),
            usage,
        )
    raise parser.UsageError(
        Text(
            f"'{' '.join(args)}' is neither an email nor a mobile number.",
            f"“{' '.join(args)}” 既不是邮箱也不是手机号。",
        ),
        usage,
    )


def account_answer(services: Services, account: Account, notice: Text | None) -> Answer:
    record = services.accounts.get(account.account_id)
    if record is not None and record.account is not None:
        # As remembered: the referrer that enable's and deactivate's answers leave out.
        account = record.account
    card = account_card(account, contact=record.contact if record else None, notice=notice)
    version = record.version if record else None
    return Answer(card, notice, account_id=account.account_id, version=version)


REGISTERED = Text("Account registered", "账户已注册")
# Feishu's create answers with the account a person already has (balance and all).
ALREADY_REGISTERED = Text("Account already registered", "账户此前已注册")


@command(
    "/referral register <email | +code number | @person>", parse=parse_register, once=Once.STRICT
)
def register(services: Services, asker: Asker, command: Registration) -> Answer:
    """Register an employee's referral account
    为员工注册内推账户"""
    if isinstance(command, RegisterByMention):
        return register_mentioned(services, asker, command)
    account, notice = register_and_remember(services, command, asker.open_id)
    return account_answer(services, account, notice)


def register_and_remember(
    services: Services,
    command: RegisterByEmail | RegisterByMobile,
    registered_by: str | None,
) -> tuple[Account, Text]:
    """Create the account and remember it; the notice says whether it is new to the records
    or one they already held (create answers a person's existing account)."""
    account, contact = register_contact(services, command)
    known = services.accounts.get(account.account_id) is not None
    services.accounts.remember(account, contact=contact, registered_by=registered_by)
    return account, ALREADY_REGISTERED if known else REGISTERED


def register_contact(
    services: Services, command: RegisterByEmail | RegisterByMobile
) -> tuple[Account, str]:
    """Create the account; returns it and the contact as the records keep it."""
    if isinstance(command, RegisterByEmail):
        return services.gateway.register_by_email(command.email), command.email
    account = services.gateway.register_by_mobile(command.code, command.number)
    return account, str(Mobile(command.code, command.number))


def register_mentioned(services: Services, asker: Asker, command: RegisterByMention) -> Answer:
    mention = lookup.mentioned(asker.mentions, command.mention)
    person = services.contacts.person(mention.open_id)
    name = mention.name or person.name or mention.open_id
    if person.email:
        by: RegisterByEmail | RegisterByMobile = RegisterByEmail(person.email)
    elif person.mobile:
        by = RegisterByMobile(*split_mobile(person.mobile))
    else:
        return Answer(
            error_card(
                Text(f"Cannot register {name}", f"无法为 {name} 注册"),
                Text(
                    f"Feishu gave the bot neither {name}'s email nor mobile. The app needs the "
                    "permission contact:user.email:readonly (or contact:user.phone:readonly): "
                    "add it in the developer console, or register with the email or mobile.",
                    f"飞书未向机器人提供 {name} 的邮箱或手机号。应用需要"
                    " contact:user.email:readonly（或 contact:user.phone:readonly）权限："
                    "请在开发者后台添加，或改用邮箱/手机号注册。",
                ),
            )
        )
    account, notice = register_and_remember(services, by, asker.open_id)
    services.accounts.link(account.account_id, OPEN_ID, mention.open_id)
    return account_answer(services, account, notice)


def split_mobile(mobile: str) -> tuple[str, str]:
    """Feishu's "+85261234567" as (code, number). Digits with no code to be told go as a
    mainland number: create's `code` is optional, and 86 is what it means then."""
    parsed = parse_mobile(mobile)
    if parsed is None:
        return MAINLAND_CODE, mobile_key(mobile)
    return parsed.code, parsed.number


@command("/referral show <who>", parse=parser.naming(Show))
def show(services: Services, asker: Asker, command: Show) -> Answer:
    """Show an account's balance and status
    查看账户余额与状态"""
    account_id = lookup.account_for(services, asker.mentions, command.who)
    account = services.gateway.get_assets(account_id)
    services.accounts.remember(account)
    return account_answer(services, account, None)


@command("/referral enable <who>", parse=parser.naming(Enable), once=Once.CHECKED)
def enable(services: Services, asker: Asker, command: Enable) -> Answer:
    """Enable an account
    启用账户"""
    return _switch(services, asker, command.who, AccountStatus.ENABLED)


@command("/referral disable <who>", parse=parser.naming(Disable), once=Once.CHECKED)
def disable(services: Services, asker: Asker, command: Disable) -> Answer:
    """Disable an account (no withdrawals)
    停用账户（不可提取）"""
    return _switch(services, asker, command.who, AccountStatus.DISABLED)


SWITCHED = {
    AccountStatus.ENABLED: Text("Account enabled", "账户已启用"),
    AccountStatus.DISABLED: Text("Account disabled", "账户已停用"),
}


def _switch(services: Services, asker: Asker, who: parser.Who, wanted: AccountStatus) -> Answer:
    """Enable or disable: one call; after a cut-off run (`asker.resumed`) the account is read
    first, and the call made only when the change did not take effect."""
    account_id = lookup.account_for(services, asker.mentions, who)
    account = services.gateway.get_assets(account_id) if asker.resumed else None
    if account is None or account.status is not wanted:
        gateway = services.gateway
        switch = gateway.enable if wanted is AccountStatus.ENABLED else gateway.deactivate
        account = switch(account_id)
    services.accounts.remember(account)
    return account_answer(services, account, SWITCHED[wanted])


@command("/referral list", parse=parser.no_args(ListAccounts()))
def list_accounts(services: Services, asker: Asker, command: ListAccounts) -> Answer:
    """List the accounts the bot knows
    列出已知账户"""
    return Answer(list_card(services))


def list_card(services: Services, offset: int = 0) -> dict:
    """The known accounts, a page at a time."""
    zone = services.settings.digest_tz
    return account_list_card(services.accounts.all(), now=utcnow(), zone=zone, offset=offset)
