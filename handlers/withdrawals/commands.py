"""The ways in to money: `withdraw` (and the account card's Withdraw button) opens a request for a
second admin to approve, Approve and Cancel decide it, and `withdrawals` (and its paging
buttons) shows what was paid out through the bot."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.withdrawals import Kind
from cards.error import error_card
from cards.text import Text
from cards.withdrawal import withdrawals_card
from handlers import parser
from handlers.asker import Answer, Asker
from handlers.people import lookup
from handlers.presses import PAGE_TURNED, Value
from handlers.registry import button, command
from handlers.services import Services
from handlers.withdrawals import requests

PAGE = 20
KINDS = ("points", "cash", "all")


@dataclass(frozen=True)
class Withdraw:
    who: parser.Who
    kind: str = "all"  # points | cash | all


@dataclass(frozen=True)
class Withdrawals:
    who: parser.Who | None = None


def parse_withdraw(args: list[str], usage: str) -> Withdraw:
    kind = "all"
    if args and args[-1].lower() in KINDS:
        kind = args[-1].lower()
        args = args[:-1]
    return Withdraw(parser.parse_who(args, usage), kind)


@command("/referral withdraw <who> [points|cash|all]", parse=parse_withdraw)
def withdraw(services: Services, asker: Asker, command: Withdraw) -> Answer:
    """Ask to pay an account's balance out
    申请提取账户余额"""
    account_id = lookup.account_for(services, asker.mentions, command.who)
    answer = requests.request(
        services,
        account_id,
        Kind(command.kind),
        requested_by=asker.open_id or "",
        chat_id=asker.chat_id,
    )
    if answer.withdrawal is None:
        card = error_card(Text("Nothing to withdraw", "无法提取"), answer.text)
        return Answer(card, act=answer.act)
    return Answer(answer.card, withdrawal=answer.withdrawal, new=answer.new, act=answer.act)


@button("withdraw", needs=("account_id",))
def withdraw_button(services: Services, asker: Asker, value: Value) -> Answer:
    """The account card's Withdraw: post a request card for a second admin to approve."""
    answer = requests.request(
        services,
        value.account_id,
        Kind.ALL,
        requested_by=asker.open_id or "",
        chat_id=asker.chat_id,
    )
    if answer.withdrawal is not None and asker.chat_id:
        sent = services.messenger.send_card(
            asker.chat_id, answer.card, uuid=f"withdraw-{asker.event_id}"
        )
        if answer.new:  # the account's open request keeps its first card
            services.withdrawals.note_message(answer.withdrawal.id, sent)
    return Answer(text=answer.text, kind=answer.kind, act=answer.act)


def request_card(services: Services, value: Value) -> dict | None:
    """A decided request's card from the records (a redelivered Approve or Cancel)."""
    request = services.withdrawals.get(value.withdrawal)
    return requests.card_of(services, request) if request else None


@button("approve", needs=("withdrawal",), shows=request_card)
def approve(services: Services, asker: Asker, value: Value) -> Answer:
    return requests.approve(services, value.withdrawal, asker.open_id)


@button("cancel", needs=("withdrawal",), shows=request_card)
def cancel(services: Services, asker: Asker, value: Value) -> Answer:
    return requests.cancel(services, value.withdrawal, asker.open_id)


@command(
    "/referral withdrawals [<who>]",
    parse=parser.optional_naming(Withdrawals),
)
def history(services: Services, asker: Asker, command: Withdrawals) -> Answer:
    """Withdrawals made through the bot
    通过机器人的提取记录"""
    account_id = lookup.optional_account(services, asker.mentions, command.who)
    return Answer(history_card(services, account_id, 0))


@button("withdrawals", may_have=("account_id",))
def history_page(services: Services, asker: Asker, value: Value) -> Answer:
    card = history_card(services, value.account_id, value.offset or 0)
    return Answer(card, PAGE_TURNED)


def history_card(services: Services, account_id: str | None, offset: int) -> dict:
    items, total = services.withdrawals.history(account_id, offset=offset, limit=PAGE)
    ids = {item.account_id for item in items} | ({account_id} if account_id else set())
    return withdrawals_card(
        items,
        total=total,
        offset=offset,
        zone=services.settings.digest_tz,
        account_id=account_id,
        names=lookup.names_of(services, ids),
    )
