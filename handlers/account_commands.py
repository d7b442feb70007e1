"""The commands that act on one account: register, show, enable, disable; and the ones about
the bot's records as a whole: list, digest, help."""

from __future__ import annotations

from bot.config import Settings
from bot.domain.accounts import Account, AccountStatus
from bot.domain.mobiles import MAINLAND_CODE, Mobile, mobile_key, parse_mobile
from bot.domain.people import OPEN_ID
from bot.records.store import utcnow
from cards.account import account_card
from cards.account_list import account_list_card
from cards.error import error_card
from cards.help import help_card
from cards.text import Text, join
from handlers import access, parser, people
from handlers.registry import Asker, Reply, handles
from handlers.services import Services

WHO_LINE = Text(
    "<who>: an account ID, an email, a mobile (+86 189…), or an @-mention",
    "<who>：账户 ID、邮箱、手机号（+86 189…）或 @员工",
)


def account_answer(services: Services, account: Account, notice: Text | None) -> Reply:
    record = services.accounts.get(account.account_id)
    if record is not None and record.account is not None:
        # As remembered: the referrer that enable's and deactivate's answers leave out.
        account = record.account
    card = account_card(account, contact=record.contact if record else None, notice=notice)
    return Reply(card, account.account_id, version=record.version if record else None)


REGISTERED = Text("Account registered", "账户已注册")
# Feishu's create answers with the account a person already has (balance and all).
ALREADY_REGISTERED = Text("Account already registered", "账户此前已注册")


@handles(parser.RegisterByEmail, parser.RegisterByMobile)
def register(services: Services, asker: Asker, command: parser.Command) -> Reply:
    account, notice = register_and_remember(services, command, asker.open_id)
    return account_answer(services, account, notice)


def register_and_remember(
    services: Services,
    command: parser.RegisterByEmail | parser.RegisterByMobile,
    registered_by: str | None,
) -> tuple[Account, Text]:
    """Create the account and remember it; the notice says whether it is new to the records
    or one they already held (create answers a person's existing account)."""
    account, contact = register_contact(services, command)
    known = services.accounts.get(account.account_id) is not None
    services.accounts.remember(account, contact=contact, registered_by=registered_by)
    return account, ALREADY_REGISTERED if known else REGISTERED


def register_contact(
    services: Services, command: parser.RegisterByEmail | parser.RegisterByMobile
) -> tuple[Account, str]:
    """Create the account; returns it and the contact as the records keep it."""
    if isinstance(command, parser.RegisterByEmail):
        return services.gateway.register_by_email(command.email), command.email
    account = services.gateway.register_by_mobile(command.code, command.number)
    return account, str(Mobile(command.code, command.number))


@handles(parser.RegisterByMention)
def register_mentioned(
    services: Services, asker: Asker, command: parser.RegisterByMention
) -> Reply:
    mention = people.mentioned(asker.mentions, command.mention)
    person = services.contacts.person(mention.open_id)
    name = mention.name or person.name or mention.open_id
    if person.email:
        by: parser.Command = parser.RegisterByEmail(person.email)
    elif person.mobile:
        by = parser.RegisterByMobile(*split_mobile(person.mobile))
    else:
        return Reply(
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


@handles(parser.Show)
def show(services: Services, asker: Asker, command: parser.Show) -> Reply:
    account_id = people.account_for(services, asker.mentions, command.who)
    account = services.gateway.get_assets(account_id)
    services.accounts.remember(account)
    return account_answer(services, account, None)


@handles(parser.Enable)
def enable(services: Services, asker: Asker, command: parser.Enable) -> Reply:
    account_id = people.account_for(services, asker.mentions, command.who)
    account = _resumed_as(services, asker, account_id, AccountStatus.ENABLED)
    account = account or services.gateway.enable(account_id)
    services.accounts.remember(account)
    return account_answer(services, account, Text("Account enabled", "账户已启用"))


@handles(parser.Disable)
def disable(services: Services, asker: Asker, command: parser.Disable) -> Reply:
    account_id = people.account_for(services, asker.mentions, command.who)
    account = _resumed_as(services, asker, account_id, AccountStatus.DISABLED)
    account = account or services.gateway.deactivate(account_id)
    services.accounts.remember(account)
    return account_answer(services, account, Text("Account disabled", "账户已停用"))


def _resumed_as(
    services: Services, asker: Asker, account_id: str, wanted: AccountStatus
) -> Account | None:
    """After a cut-off run: the account when the change already took effect, else None."""
    if not asker.resumed:
        return None
    account = services.gateway.get_assets(account_id)
    return account if account.status is wanted else None


@handles(parser.ListAccounts)
def list_accounts(services: Services, asker: Asker, command: parser.ListAccounts) -> Reply:
    zone = services.settings.digest_tz
    return Reply(account_list_card(services.accounts.all(), now=utcnow(), zone=zone))


STAFF_LINE = Text(
    "Referral accounts are run by your HR team: ask them for anything else.",
    "内推账户由 HR 团队管理，其他需求请联系你的 HR 团队。",
)


def usage_card(settings: Settings, open_id: str | None) -> dict:
    """The help as this person may use it: every command for an HR admin, only those open to
    all for anyone else (the help and welcome both)."""
    subs = access.usable(settings, open_id)
    notes = [WHO_LINE] if any("<who>" in sub.usage for sub in subs) else []
    if not settings.is_admin(open_id):
        notes.append(STAFF_LINE)
    return help_card([(sub.usage, sub.summary) for sub in subs], join(notes) if notes else None)


@handles(parser.Help)
def show_help(services: Services, asker: Asker, command: parser.Help) -> Reply:
    return Reply(usage_card(services.settings, asker.open_id))


@handles(parser.PostDigest)
def post_digest(services: Services, asker: Asker, command: parser.PostDigest) -> Reply:
    return Reply(services.digest.card_for_chat(asker.chat_id))
