"""Keeping every card that shows an account true: after a change by command or button, the
older cards of that account are patched from the records.

The patching is queued in the inbox (`bot.refresh_cards`) rather than done on the spot, so it
shares the inbox's durability and retries: a card whose patch failed while Feishu was down is
patched once Feishu is back, and a restart loses none. Cards are rendered when the patch is
sent, from the records as they are then, so a patch queued earlier never shows an older state.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.feishu.openapi import OpenApiError
from bot.worker import RetryLater
from cards.account import account_card
from cards.text import Text
from handlers.services import Services

log = logging.getLogger(__name__)

REFRESH = "bot.refresh_cards"


def render(services: Services, account_id: str, notice: Text | None = None) -> dict | None:
    """The account's card as the records hold it now; None when it was never fetched."""
    record = services.accounts.get(account_id)
    if record is None or record.account is None:
        return None
    return account_card(record.account, contact=record.contact, notice=notice)


def refresh_later(
    services: Services,
    account_id: str,
    *,
    skip: tuple[str, ...] = (),
    only: tuple[str, ...] = (),
    notice: Text | None = None,
    delay: timedelta | None = None,
) -> None:
    """Queue the patching of the account's cards (`only` these, or all but `skip`)."""
    if not only and not [m for m in services.accounts.cards_showing(account_id) if m not in skip]:
        return
    payload = {"account_id": account_id, "skip": list(skip), "only": list(only)}
    if notice is not None:
        payload["notice"] = [notice.en, notice.zh]
    services.inbox.enqueue(REFRESH, payload, delay=delay)


def refresh(services: Services, event_id: str, payload: dict) -> None:
    """Work off one `bot.refresh_cards`: patch each card; Feishu's trouble retries them all
    (a patch is idempotent), a card Feishu refuses for good (too old, deleted) is skipped."""
    account_id = payload["account_id"]
    notice = Text(*payload["notice"]) if payload.get("notice") else None
    card = render(services, account_id, notice)
    if card is None:
        return
    targets = payload.get("only") or [
        m for m in services.accounts.cards_showing(account_id) if m not in payload.get("skip", [])
    ]
    trouble: OpenApiError | None = None
    for message_id in targets:
        try:
            services.messenger.update_card(message_id, card)
        except OpenApiError as exc:
            if exc.transient:
                trouble = exc
            else:
                log.warning("card %s cannot be updated: %s", message_id, exc)
    if trouble is not None:
        raise RetryLater(f"could not update every card of {account_id}: {trouble}")
