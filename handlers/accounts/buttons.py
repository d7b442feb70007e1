"""The account card's buttons (Enable, Disable, Refresh), the digest's Show and Show all, the list
card's paging, and the Register button of a "nobody found" card.

Each press makes one Open API call at most: enable and deactivate answer with the account as
it is now. Presses on one account run one at a time; the pressed card gets the new state from
the answer, every other card of the account is patched (`cards.refresh_later`).
"""

from __future__ import annotations

from bot.domain.accounts import Account
from cards.text import Text
from handlers import parser
from handlers.accounts import cards
from handlers.accounts.commands import (
    RegisterByEmail,
    RegisterByMobile,
    list_card,
    parse_register,
    register_and_remember,
)
from handlers.asker import Answer, Asker
from handlers.buttons import KeyedLocks
from handlers.presses import PAGE_TURNED, Value
from handlers.registry import button
from handlers.services import Services

# Presses on one account run one at a time, so that its cards end on the last one.
ACCOUNT_LOCKS = KeyedLocks()


@button("enable", needs=("account_id",))
def enable(services: Services, asker: Asker, value: Value) -> Answer:
    with ACCOUNT_LOCKS.hold(value.account_id):
        account = services.gateway.enable(value.account_id)
        return _changed(services, asker, account, Text("Account enabled", "账户已启用"))


@button("disable", needs=("account_id",))
def disable(services: Services, asker: Asker, value: Value) -> Answer:
    with ACCOUNT_LOCKS.hold(value.account_id):
        account = services.gateway.deactivate(value.account_id)
        return _changed(services, asker, account, Text("Account disabled", "账户已停用"))


@button("refresh", needs=("account_id",))
def refresh(services: Services, asker: Asker, value: Value) -> Answer:
    with ACCOUNT_LOCKS.hold(value.account_id):
        account = services.gateway.get_assets(value.account_id)
        return _changed(services, asker, account, Text("Refreshed", "已刷新"))


def _changed(services: Services, asker: Asker, account: Account, toast: Text) -> Answer:
    """The pressed card shows the account as the records now hold it; the others catch up."""
    # Enable's and deactivate's answers have no referrer; the records keep the one
    # get_account_assets gave.
    services.accounts.remember(account)
    card, _ = cards.current(services, account.account_id) or (None, None)
    skip = (asker.message_id,) if asker.message_id else ()
    cards.refresh_later(services, account.account_id, skip=skip)
    return Answer(card, toast)


@button("show", needs=("account_id",))
def show(services: Services, asker: Asker, value: Value) -> Answer:
    """The digest's Show: the account's card, sent into the chat."""
    account_id = value.account_id
    with ACCOUNT_LOCKS.hold(account_id):
        services.accounts.remember(services.gateway.get_assets(account_id))
        card, shown = cards.current(services, account_id) or (None, None)
        sent = services.messenger.send_card(asker.chat_id, card, uuid=f"show-{asker.event_id}")
        cards.noted(services, sent, account_id, asker.chat_id, shown)
    return Answer(text=Text("Account card sent", "已发送账户卡片"))


@button("list")
def list_accounts(services: Services, asker: Asker, value: Value) -> Answer:
    """The list card's paging turns its page; the digest's Show all posts the list."""
    card = list_card(services, value.offset or 0)
    if value.offset is not None:
        return Answer(card, PAGE_TURNED)
    services.messenger.send_card(asker.chat_id, card, uuid=f"list-{asker.event_id}")
    return Answer(text=Text("Account list sent", "已发送账户列表"))


def registration(value: Value) -> RegisterByEmail | RegisterByMobile | None:
    """A Register button's contact as the register command reads it; None when it is none."""
    try:
        command = parse_register((value.contact or "").split(), "")
    except parser.UsageError:
        return None
    return command if isinstance(command, RegisterByEmail | RegisterByMobile) else None


def _no_contact(value: Value) -> Text | None:
    if registration(value) is None:
        return Text("This button carries no valid contact", "按钮缺少有效联系方式")
    return None


@button("register", check=_no_contact)
def register(services: Services, asker: Asker, value: Value) -> Answer:
    """Register whom a "nobody found" card offered; the card becomes the new account's."""
    account, notice = register_and_remember(services, registration(value), asker.open_id)
    if asker.message_id:
        services.accounts.note_card(asker.message_id, account.account_id, asker.chat_id)
    return Answer(cards.render(services, account.account_id, notice), notice)
