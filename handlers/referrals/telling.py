"""Telling people what became of referrals: the referrer's batch (one card per referrer per
window, every change since the last one) and the "referral hired" card for the notice chats.
Sends carry uuids of their batch or application, so a retry or a restart tells nothing twice."""

from __future__ import annotations

import hashlib
import logging

from bot.domain.accounts import Account
from bot.domain.people import OPEN_ID
from bot.domain.referrals import Referral
from bot.domain.rewards import parse_default
from bot.feishu.openapi import OpenApiError
from cards.referrals import change_line, hired_card, progress_card
from handlers.errors import Attempts
from handlers.registry import job
from handlers.services import Services

log = logging.getLogger(__name__)

BATCH = "bot.referral_batch"
HIRED = "bot.referral_hired"


@job(BATCH)
def send_batch(services: Services, event_id: str, payload: dict) -> None:
    """The referrer's card: every untold change, oldest first; then the next batch, when more
    changes came while this one was out."""
    referrer, batch = payload["referrer"], payload["batch"]
    book = services.referrals
    tellings = book.claim(referrer, batch)
    if tellings:
        card = progress_card(
            [change_line(t.kind, t.talent_name, t.job_name, t.stage) for t in tellings]
        )
        attempts = Attempts(f"telling {referrer} of their referrals")
        with attempts.each(referrer):
            uuid = _uuid("referral", referrer, batch)
            services.messenger.send_card_to_person(referrer, card, uuid=uuid)
        attempts.done()
    following = book.told(referrer, batch)
    if following is not None:
        services.inbox.enqueue(
            BATCH,
            {"referrer": referrer, "batch": str(following)},
            key=f"{referrer}:{following}",
            delay=services.referral_window,
        )


def account_of(services: Services, open_id: str) -> tuple[str | None, Account | None]:
    """The referrer's referral account as the records know it (the first, if several)."""
    ids = services.accounts.find_by(OPEN_ID, open_id)
    if not ids:
        return None, None
    record = services.accounts.get(ids[0])
    return ids[0], record.account if record else None


def hired_card_of(
    services: Services, referral: Referral, *, form: bool = False, notice=None
) -> dict:
    account_id, account = account_of(services, referral.referrer_open_id)
    default = parse_default(services.settings.default_reward) if form else False
    return hired_card(
        referral,
        account_id=account_id,
        account=account,
        zone=services.settings.digest_tz,
        form=default,
        notice=notice,
    )


@job(HIRED)
def post_hired(services: Services, event_id: str, payload: dict) -> None:
    """A referral was hired: the card, with its Reward button, to every notice chat."""
    referral = services.referrals.get(payload["application_id"])
    if referral is None:
        return
    account_id, _ = account_of(services, referral.referrer_open_id)
    if account_id is not None:  # the card shows the balance as it is now
        try:
            services.accounts.remember(services.gateway.get_assets(account_id))
        except OpenApiError as exc:
            log.info("balance of %s not read for the hired card: %s", account_id, exc)
    card = hired_card_of(services, referral)
    # A retry posts to every chat again: the chats that got it drop the repeat (same uuid).
    attempts = Attempts(f"posting the hired card of {referral.application_id}")
    for chat_id in services.settings.notice_chats:
        with attempts.each(f"chat {chat_id}"):
            uuid = _uuid("hired", referral.application_id, chat_id)
            services.messenger.send_card(chat_id, card, uuid=uuid)
    attempts.done()


def _uuid(kind: str, *parts: str) -> str:
    return f"{kind}-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]
