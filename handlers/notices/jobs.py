"""Telling the right people when balances change: one card a window (a minute) to the notice
chats listing every account whose balance moved, and a short message to each referrer whose
bonus grew (with `REFERRAL_BOT_NOTIFY_REFERRERS=1`).

Each change is recorded, with the inbox events that will tell it, by the records in the
transaction that takes the new balance, whichever way the bot learns it (`AccountBook` and
`bot.records.notices`); here those events are worked off. The sends carry uuids of the same
keys, so a retry or a restart never tells a change twice and loses none.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from decimal import Decimal

from bot.domain.accounts import Cash
from bot.feishu.openapi import OpenApiError
from bot.records.notices import BATCH, TELL_REFERRER, Change
from bot.records.store import from_iso
from cards.names import record_name
from cards.notice import BalanceLine, balance_notice_card, referrer_card
from handlers.errors import Attempts, RetryLater
from handlers.registry import job
from handlers.services import Services

log = logging.getLogger(__name__)


@job(BATCH)
def send_batch(services: Services, event_id: str, payload: dict) -> None:
    """The window's card to every notice chat: each account once, its changes summed."""
    window = from_iso(payload["window"])
    changes = services.notices.untold(window)
    if not changes:
        return
    card = balance_notice_card(_lines(services, changes))
    # A retry posts to every chat again: the chats that got it drop the repeat (same uuid).
    attempts = Attempts(f"posting the balance notice of {payload['window']}")
    for chat_id in services.settings.notice_chats:
        with attempts.each(f"chat {chat_id}"):
            uuid = _uuid("notice", payload["window"], chat_id)
            services.messenger.send_card(chat_id, card, uuid=uuid)
    attempts.done()
    services.notices.mark_told([c.id for c in changes])


def _lines(services: Services, changes: list[Change]) -> list[BalanceLine]:
    by_account: OrderedDict[str, list[Change]] = OrderedDict()
    for change in changes:
        by_account.setdefault(change.account_id, []).append(change)
    lines = []
    for account_id, moves in by_account.items():
        points = sum(m.points_delta for m in moves)
        cash: dict[str, Decimal] = {}
        for move in moves:
            for c in move.cash_delta:
                cash[c.currency] = cash.get(c.currency, Decimal(0)) + c.amount
        latest = moves[-1]
        lines.append(
            BalanceLine(
                who=record_name(services.accounts.get(account_id)),
                account_id=account_id,
                points_delta=points,
                cash_delta=tuple(
                    Cash(cur, amount) for cur, amount in sorted(cash.items()) if amount
                ),
                points=latest.points,
                cash=latest.cash,
            )
        )
    return lines


@job(TELL_REFERRER)
def tell_referrer(services: Services, event_id: str, payload: dict) -> None:
    """A one-to-one card to the referrer whose bonus grew; their open_id is the referrer id
    get_account_assets gives (asked for once, should the records not know it yet)."""
    change = services.notices.get(payload["change"])
    if change is None:
        return
    open_id = _referrer_open_id(services, change.account_id)
    if not open_id:
        log.info("no referrer known for %s; nobody to tell", change.account_id)
        return
    card = referrer_card(change.points_delta, change.cash_delta, change.points, change.cash)
    attempts = Attempts(f"telling the referrer of {change.account_id}")
    with attempts.each(open_id):
        services.messenger.send_card_to_person(open_id, card, uuid=f"referrer-{change.id}")
    attempts.done()


def _referrer_open_id(services: Services, account_id: str) -> str | None:
    record = services.accounts.get(account_id)
    referrer = record.account.referrer if record and record.account else None
    if referrer is None or not referrer.id:
        try:
            account = services.gateway.get_assets(account_id)
        except OpenApiError as exc:
            if exc.transient:
                raise RetryLater(f"could not fetch {account_id}: {exc}") from None
            return None
        services.accounts.remember(account)
        referrer = account.referrer
    return referrer.id if referrer else None


def _uuid(kind: str, *parts: str) -> str:
    return f"{kind}-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]
