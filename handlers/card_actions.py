"""Card buttons: Enable, Disable, Refresh, Show and Show all, answered inside Feishu's 3 s.

The work runs on a small pool. If it finishes within `ANSWER_BUDGET` the callback answer
carries the toast and the updated card; otherwise the answer says "working on it" and the card
is updated when the work is done (the callback's delayed-update token, or a PATCH of the
message). Every other card showing the same account is updated too, so no card keeps showing a
status that is no longer true.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from lark_oapi.event.callback.model.p2_card_action_trigger import (
    CallBackCard,
    CallBackToast,
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)

from bot.accounts import Account
from bot.feishu.openapi import OpenApiError
from bot.records.store import utcnow
from cards.account import account_card
from cards.account_list import account_list_card
from cards.text import Text
from handlers.answers import explain
from handlers.parser import ACCOUNT_ID
from handlers.services import Services

log = logging.getLogger(__name__)

# Feishu allows 3 s for the whole answer, network included.
ANSWER_BUDGET = 2.0
# A delayed update sent before Feishu has our answer fails or is reverted; give it this long.
ANSWER_FLIGHT = 0.5


@dataclass(frozen=True)
class Press:
    """One button press, as read from the callback."""

    event_id: str
    action: str
    account_id: str | None
    open_id: str | None
    message_id: str | None
    chat_id: str | None
    token: str | None


@dataclass(frozen=True)
class Outcome:
    toast: Text
    kind: str  # info | success | error | warning
    card: dict | None = None


ACCOUNT_ACTIONS = {"enable", "disable", "refresh", "show"}
ACTIONS = ACCOUNT_ACTIONS | {"list"}


class CardActions:
    def __init__(self, services: Services, *, workers: int = 8) -> None:
        self._services = services
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._account_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="card-action")

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=False)
            self._pool = None

    def answer(self, data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
        """The callback's answer; never raises."""
        try:
            press = _read(data)
            outcome = self._answer(press, data)
        except Exception:
            log.exception("card action failed")
            outcome = Outcome(Text("Something went wrong", "出错了，请重试"), "error")
        return _response(outcome)

    def _answer(self, press: Press, data: P2CardActionTrigger) -> Outcome:
        if press.action not in ACTIONS:
            return Outcome(Text("This button is not known", "未知按钮"), "error")
        if press.action in ACCOUNT_ACTIONS and not ACCOUNT_ID.match(press.account_id or ""):
            return Outcome(
                Text("This button carries no valid account", "按钮缺少有效账户"), "error"
            )
        if not self._services.settings.is_admin(press.open_id):
            self._audit(press, "refused", "not an admin")
            return Outcome(Text("You are not allowed to do this", "你没有权限执行此操作"), "error")
        if not self._services.inbox.mark_handled(press.event_id, "card.action.trigger"):
            # Feishu delivered this press again: do not call the API twice.
            return self._current(press, Text("Already done", "已处理"))
        future = self._pool.submit(self._perform, press)
        try:
            return future.result(timeout=ANSWER_BUDGET)
        except FutureTimeout:
            answered_at = time.monotonic()
            future.add_done_callback(lambda f: self._late_update(press, f, answered_at))
            return Outcome(
                Text("Working on it: the card will update shortly", "处理中，卡片稍后更新"), "info"
            )

    def _perform(self, press: Press) -> Outcome:
        try:
            outcome = self._run(press)
        except OpenApiError as exc:
            self._audit(press, f"error {exc.code}", exc.msg)
            return Outcome(explain(exc), "error")
        self._audit(press, "ok")
        return outcome

    def _audit(self, press: Press, outcome: str, detail: str | None = None) -> None:
        self._services.audit.record(
            actor=press.open_id,
            action=press.action,
            account_id=press.account_id,
            outcome=outcome,
            detail=detail,
            via="button",
            chat_id=press.chat_id,
        )

    def _run(self, press: Press) -> Outcome:
        services = self._services
        if press.action == "list":
            card = account_list_card(services.accounts.all(), now=utcnow())
            services.messenger.send_card(press.chat_id, card, uuid=f"list-{press.event_id}")
            return Outcome(Text("Account list sent", "已发送账户列表"), "success")
        account_id = press.account_id
        with self._lock_for(account_id):
            if press.action == "enable":
                services.gateway.enable(account_id)
            elif press.action == "disable":
                services.gateway.deactivate(account_id)
            # Read back after any change, so the card shows what Feishu holds now.
            account = services.gateway.get_assets(account_id)
            services.accounts.remember(account)
            card = self._card(account)
            if press.action == "show":
                sent = services.messenger.send_card(
                    press.chat_id, card, uuid=f"show-{press.event_id}"
                )
                services.accounts.note_card(sent, account_id, press.chat_id)
                return Outcome(Text("Account card sent", "已发送账户卡片"), "success")
            # After the pressed card's own answer has reached Feishu, or that answer would
            # overwrite a newer state on it.
            self._pool.submit(self._update_other_cards, account_id, press.message_id)
        toast = {
            "enable": Text("Account enabled", "账户已启用"),
            "disable": Text("Account disabled", "账户已停用"),
            "refresh": Text("Refreshed", "已刷新"),
        }[press.action]
        return Outcome(toast, "success", card)

    def _current(self, press: Press, toast: Text) -> Outcome:
        """The card from the bot's records, without calling the API."""
        return Outcome(toast, "info", self._latest_card(press.account_id))

    def _latest_card(self, account_id: str | None) -> dict | None:
        """The account as the records hold it now (a later press may have changed it)."""
        record = self._services.accounts.get(account_id or "")
        return self._card(record.account) if record and record.account else None

    def _card(self, account: Account) -> dict:
        record = self._services.accounts.get(account.account_id)
        return account_card(account, contact=record.contact if record else None)

    def _update_other_cards(self, account_id: str, pressed: str | None) -> None:
        time.sleep(ANSWER_FLIGHT)
        # Render from the records as they are now, not as they were when this was queued:
        # a later press may have changed the account meanwhile.
        card = self._latest_card(account_id)
        if card is None:
            return
        for message_id in self._services.accounts.cards_showing(account_id):
            if message_id == pressed:
                continue
            try:
                self._services.messenger.update_card(message_id, card)
            except OpenApiError as exc:
                log.warning("could not update card %s: %s", message_id, exc)

    def _late_update(self, press: Press, future: Future, answered_at: float) -> None:
        """The work outlived the answer: bring the pressed card up to date now."""
        outcome: Outcome = future.result()
        if outcome.card is None:
            return
        time.sleep(max(0.0, answered_at + ANSWER_FLIGHT - time.monotonic()))
        card = self._latest_card(press.account_id) or outcome.card
        messenger = self._services.messenger
        try:
            if press.token:
                messenger.update_card_by_token(press.token, card)
                return
        except OpenApiError as exc:
            log.warning("delayed update by token failed, patching instead: %s", exc)
        if press.message_id:
            try:
                messenger.update_card(press.message_id, card)
            except OpenApiError as exc:
                log.error("card %s could not be updated: %s", press.message_id, exc)

    def _lock_for(self, account_id: str) -> threading.Lock:
        """Presses on one account run one at a time, so the last read-back wins everywhere."""
        with self._locks_guard:
            return self._account_locks.setdefault(account_id, threading.Lock())


def _read(data: P2CardActionTrigger) -> Press:
    event = data.event
    value = (event.action.value if event and event.action else None) or {}
    context = event.context if event else None
    account_id = value.get("account_id")
    return Press(
        event_id=data.header.event_id if data.header else "",
        action=str(value.get("action", "")),
        account_id=str(account_id) if account_id is not None else None,
        open_id=event.operator.open_id if event and event.operator else None,
        message_id=context.open_message_id if context else None,
        chat_id=context.open_chat_id if context else None,
        token=event.token if event else None,
    )


def _response(outcome: Outcome) -> P2CardActionTriggerResponse:
    response = P2CardActionTriggerResponse()
    toast = CallBackToast()
    toast.type = outcome.kind
    toast.content = outcome.toast.en
    toast.i18n = outcome.toast.i18n()
    response.toast = toast
    if outcome.card is not None:
        card = CallBackCard()
        card.type = "raw"
        card.data = outcome.card
        response.card = card
    return response
