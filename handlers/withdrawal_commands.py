"""The money commands: `withdraw` opens a request for a second admin to approve, and
`withdrawals` shows what was paid out through the bot."""

from __future__ import annotations

from bot.domain.withdrawals import Kind
from cards.error import error_card
from cards.text import Text
from cards.withdrawal import withdrawals_card
from handlers import parser, people, withdrawals
from handlers.registry import Asker, Reply, handles
from handlers.services import Services

PAGE = 20


@handles(parser.Withdraw)
def withdraw(services: Services, asker: Asker, command: parser.Withdraw) -> Reply:
    account_id = people.account_for(services, asker.mentions, command.who)
    answer = withdrawals.request(
        services,
        account_id,
        Kind(command.kind),
        requested_by=asker.open_id or "",
        chat_id=asker.chat_id,
    )
    if answer.withdrawal is None:
        card = error_card(Text("Nothing to withdraw", "无法提取"), answer.text)
        return Reply(card, act=answer.act)
    # An open request answered again is not re-pointed: its first card stays the one updated.
    withdrawal_id = answer.withdrawal.id if answer.new else None
    return Reply(answer.card, withdrawal_id=withdrawal_id, act=answer.act)


@handles(parser.Withdrawals)
def history(services: Services, asker: Asker, command: parser.Withdrawals) -> Reply:
    account_id = None
    if command.who is not None:
        account_id = people.account_for(services, asker.mentions, command.who)
    return Reply(history_card(services, account_id, 0))


def history_card(services: Services, account_id: str | None, offset: int) -> dict:
    items, total = services.withdrawals.history(account_id, offset=offset, limit=PAGE)
    ids = {item.account_id for item in items} | ({account_id} if account_id else set())
    return withdrawals_card(
        items,
        total=total,
        offset=offset,
        zone=services.settings.digest_tz,
        account_id=account_id,
        names=people.names_of(services, ids),
    )
