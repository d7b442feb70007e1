"""Working off one inbox event: a chat message (a command), a balance change, or the bot's own
follow-up work (refreshing cards, telling a person the truth after a long outage)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import lark_oapi as lark
from lark_oapi.api.application.v6 import P2ApplicationBotMenuV6
from lark_oapi.api.contact.v3 import P2ContactUserDeletedV3
from lark_oapi.api.hire.v1 import Account as SdkAccount
from lark_oapi.api.hire.v1 import (
    P2HireApplicationStageChangedV1,
    P2HireReferralAccountAssetsUpdateV1,
)
from lark_oapi.api.im.v1 import P2ImChatAccessEventBotP2pChatEnteredV1, P2ImMessageReceiveV1

from bot.domain.accounts import AccountStatus
from bot.feishu.openapi import OpenApiError
from bot.feishu.referral import from_sdk
from bot.records.inbox import INTERNAL, InboxEvent
from bot.worker import GiveUp, RetryLater
from handlers import (
    account_cards,
    answers,
    askings,
    commands,
    entry_points,
    leavers,
    notices,
    payouts,
    waiting,
    withdrawals,
)
from handlers.people import Mention
from handlers.referrals import progress, telling
from handlers.rewards import imports as reward_imports
from handlers.rewards import requests as reward_requests
from handlers.services import Services

log = logging.getLogger(__name__)

TELL_FAILURE = "bot.tell_failure"


def handle_message(services: Services, event_id: str, data: P2ImMessageReceiveV1) -> None:
    """Answer a message addressed to the bot; ignore everything else."""
    message, sender = data.event.message, data.event.sender
    if sender is None or sender.sender_type != "user" or message is None:
        return  # our own and other apps' messages
    mentions = message.mentions or []
    bot_id = _bot_open_id(services) if mentions else None
    if message.chat_type != "p2p" and not any(_open_id(m) == bot_id for m in mentions):
        return  # a group message not addressed to the bot
    asker = commands.Asker(
        open_id=sender.sender_id.open_id if sender.sender_id else None,
        chat_id=message.chat_id,
        message_id=message.message_id,
        event_id=event_id,
        in_group=message.chat_type != "p2p",
        mentions=tuple(
            Mention(m.key, _open_id(m), m.name or "")
            for m in mentions
            if m.key and _open_id(m) and _open_id(m) != bot_id
        ),
    )
    saved = services.inbox.saved_reply(event_id)
    if saved is not None:  # a retry: the command ran already, only the answer is missing
        reply = commands.Reply(
            saved["card"],
            saved.get("account_id"),
            saved.get("track", True),
            saved.get("withdrawal_id"),
            saved.get("version"),
        )
    else:
        if message.message_type == "text":
            # The bot's own mention never names an account.
            bot_keys = [m.key for m in mentions if m.key and _open_id(m) == bot_id]
            try:
                text = askings.message_text(message.content)
                reply = commands.run(services, asker, text, bot_keys)
            except RetryLater:
                # Feishu cannot be reached or keeps failing; nothing was done. The event
                # waits, and the person hears so soon (handlers/waiting.py).
                waiting.schedule(services, event_id)
                raise
        else:
            reply = commands.Reply(answers.not_text())
        saved = {
            "card": reply.card,
            "account_id": reply.account_id,
            "track": reply.track,
            "withdrawal_id": reply.withdrawal_id,
            "version": reply.version,
        }
        services.inbox.save_reply(event_id, saved)
    # The uuid makes a retried reply (same event) land once; an interim answer is replaced.
    sent = waiting.deliver(
        services, event_id, askings.of_message(data), reply.card, uuid=f"reply-{event_id}"
    )
    if reply.withdrawal_id is not None:
        services.withdrawals.note_message(reply.withdrawal_id, sent)
    if reply.account_id and reply.track:
        account_cards.noted(services, sent, reply.account_id, message.chat_id, reply.version)
        # The command read or changed the account: older cards of it catch up.
        account_cards.refresh_later(services, reply.account_id, skip=(sent,))


def _bot_open_id(services: Services) -> str:
    try:
        return services.messenger.bot_open_id()
    except OpenApiError as exc:
        raise RetryLater(f"cannot tell whether the bot was mentioned: {exc}") from None


def _open_id(mention) -> str | None:
    return mention.id.open_id if mention.id is not None else None


def handle_assets_update(
    services: Services, event_id: str, data: P2HireReferralAccountAssetsUpdateV1
) -> None:
    """Keep the records' balance current, in Feishu's order: an event older than what the
    records hold (a late redelivery, or a read since, which told the change) changes nothing.
    The records tell the change as they take it (`AccountBook`)."""
    update = data.event
    if update is None or not update.account_id:
        raise GiveUp("balance event without an account id")
    sdk_account = SdkAccount({"account_id": update.account_id})
    sdk_account.assets = update.assets
    balance = from_sdk(sdk_account, AccountStatus.ENABLED)
    known = services.accounts.get(update.account_id)
    if known is None or known.account is None:
        # An account the bot has not met: adopt it as Feishu holds it now (status included),
        # which is newer than this event, and tell its balance as news.
        try:
            account = services.gateway.get_assets(update.account_id)
        except OpenApiError as exc:
            if exc.transient:
                raise RetryLater(f"could not fetch account {update.account_id}: {exc}") from None
            raise GiveUp(f"balance event for an account Feishu does not show: {exc}") from None
        services.accounts.remember(account, announced=True)
        return
    as_of = _modify_time(update.modify_time)
    if not services.accounts.apply_balance(balance.account_id, balance.points, balance.cash, as_of):
        log.info("balance event %s for %s is older than the records", event_id, update.account_id)


def _modify_time(value: str | None) -> datetime:
    try:
        return datetime.fromtimestamp(int(value or "") / 1000, UTC)
    except ValueError:
        raise GiveUp(f"balance event with a bad modify_time {value!r}") from None


def tell_failure(services: Services, event: InboxEvent, reason: str) -> None:
    """A command's event (a message, a menu item) failed for good (Feishu was out of reach
    for hours): queue the truth for the person, to be sent as soon as Feishu can be reached.
    A withdrawal's work given up makes it uncertain (see handlers/payouts.py)."""
    gave_up = {**payouts.ON_FAILURE, **reward_imports.ON_FAILURE}.get(event.event_type)
    if gave_up is not None:
        gave_up(services, json.loads(event.payload), reason)
        return
    if event.event_type not in (askings.MESSAGE, askings.MENU):
        return
    services.inbox.enqueue(TELL_FAILURE, {"event_id": event.event_id}, key=event.event_id)


def send_failure_notice(services: Services, event_id: str, payload: dict) -> None:
    """Say what ran and what did not; then the command's own answer when it had one."""
    original = services.inbox.event(payload["event_id"])
    if original is None:
        return  # pruned long since
    asking = askings.of_event(original["event_type"], original["payload"])
    if asking is None:
        return  # nobody to tell
    command = asking.command
    reply = json.loads(original["reply"]) if original["reply"] else None
    if reply is not None:
        notice = answers.late_answer(command)
    elif original["once_started_at"]:
        notice = answers.maybe_done(command)
    else:
        notice = answers.not_done(command)
    # An interim answer ("still trying") is replaced by the notice.
    waiting.deliver(services, payload["event_id"], asking, notice, uuid=f"late-{event_id}")
    if reply is not None:
        waiting.answer(services, asking, reply["card"], uuid=f"late-answer-{event_id}")


ROUTES: dict[str, tuple[type, Callable]] = {
    askings.MESSAGE: (P2ImMessageReceiveV1, handle_message),
    "im.chat.access_event.bot_p2p_chat_entered_v1": (
        P2ImChatAccessEventBotP2pChatEnteredV1,
        entry_points.welcome,
    ),
    askings.MENU: (P2ApplicationBotMenuV6, entry_points.menu),
    "contact.user.deleted_v3": (P2ContactUserDeletedV3, leavers.handle_user_deleted),
    "hire.referral_account.assets_update_v1": (
        P2HireReferralAccountAssetsUpdateV1,
        handle_assets_update,
    ),
    progress.EVENT: (P2HireApplicationStageChangedV1, progress.on_stage_changed),
}
# The bot's own follow-up work: plain JSON payloads.
INTERNAL_ROUTES: dict[str, Callable[[Services, str, dict], None]] = {
    account_cards.REFRESH: account_cards.refresh,
    TELL_FAILURE: send_failure_notice,
    waiting.INTERIM: waiting.send_interim,
    **withdrawals.INTERNAL_ROUTES,
    **payouts.INTERNAL_ROUTES,
    **notices.INTERNAL_ROUTES,
    **telling.INTERNAL_ROUTES,
    **reward_requests.INTERNAL_ROUTES,
    **reward_imports.INTERNAL_ROUTES,
}


def work(services: Services, event: InboxEvent) -> None:
    """The worker pool's entry: decode the stored event and route it."""
    if event.event_type.startswith(INTERNAL):
        handler = INTERNAL_ROUTES.get(event.event_type)
        if handler is None:
            raise GiveUp(f"no handler for {event.event_type}")
        handler(services, event.event_id, json.loads(event.payload))
        return
    route = ROUTES.get(event.event_type)
    if route is None:
        raise GiveUp(f"no handler for {event.event_type}")
    model, handler = route
    handler(services, event.event_id, lark.JSON.unmarshal(event.payload, model))
