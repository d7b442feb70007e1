"""Card buttons (account, list and search paging, register, withdrawals) answered inside 3 s.

The work runs on a small pool. If it finishes within `ANSWER_BUDGET` the callback answer
carries the toast and the updated card; otherwise the answer says "working on it" and the card
is updated when the work is done, with the error if it failed (the callback's delayed-update
token, else a PATCH of the message, else a patch queued in the inbox). Every other card showing
the same account is updated too, so no card keeps showing a status that is no longer true.

A press is recorded as pending before its work and done after it: a redelivery of a press that
is done is answered from the records, one whose process died mid-press is carried out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

from lark_oapi.event.callback.model.p2_card_action_trigger import (
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)

from bot.domain.withdrawals import Kind
from bot.feishu.openapi import OpenApiError
from bot.records.inbox import Press as PressState
from bot.records.store import utcnow
from cards.account_list import account_list_card
from cards.notice import leaver_card
from cards.text import Text, mention
from handlers import access, account_cards, audit_trail, withdrawals
from handlers.account_commands import register_and_remember
from handlers.answers import could_not, explain
from handlers.audit_trail import NOT_ADMIN, OK, Act, failed
from handlers.people_commands import find_card
from handlers.presses import (
    SOMETHING_WRONG,
    WORKING,
    Outcome,
    Press,
    read_press,
    refuse_invalid,
    registration,
    response,
)
from handlers.services import Services
from handlers.rewards import presses as reward_presses
from handlers.rewards.trail import card_of as reward_card_of
from handlers.withdrawal_commands import history_card

log = logging.getLogger(__name__)

# Feishu allows 3 s for the whole answer, network included.
ANSWER_BUDGET = 2.0
# A delayed update sent before Feishu has our answer fails or is reverted; give it this long.
ANSWER_FLIGHT = account_cards.SETTLE.total_seconds()


class CardActions:
    def __init__(self, services: Services, *, workers: int = 8) -> None:
        self._services = services
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._locks = KeyedLocks()
        self._in_hand: set[Future] = set()
        self._in_hand_guard = threading.Lock()

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="card-action")

    def stop(self, timeout: float = 5.0) -> None:
        """Wait up to `timeout` for presses in hand; their late updates go out if they can."""
        if self._pool is None:
            return
        self._pool.shutdown(wait=False, cancel_futures=False)
        with self._in_hand_guard:
            in_hand = set(self._in_hand)
        _, not_done = wait(in_hand, timeout=timeout)
        if not_done:
            log.warning("%d button presses were still in hand at stop", len(not_done))
        self._pool = None

    def _submit(self, func, *args) -> Future:
        future = self._pool.submit(func, *args)
        with self._in_hand_guard:
            self._in_hand.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future) -> None:
        with self._in_hand_guard:
            self._in_hand.discard(future)

    def answer(self, data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
        """The callback's answer; never raises."""
        try:
            press = read_press(data)
            outcome = self._answer(press, data)
        except Exception:
            log.exception("card action failed")
            outcome = Outcome(SOMETHING_WRONG, "error")
        return response(outcome)

    def _answer(self, press: Press, data: P2CardActionTrigger) -> Outcome:
        refusal = refuse_invalid(press)
        if refusal is not None:
            return refusal
        if not access.allowed(self._services.settings, press.open_id, press.action, via="button"):
            self._audit(press, NOT_ADMIN)
            return Outcome(Text("You are not allowed to do this", "你没有权限执行此操作"), "error")
        state = self._services.inbox.begin_press(press.event_id, "card.action.trigger")
        if state is PressState.DONE:
            # Feishu delivered this press again: do not call the API twice.
            return self._current(press, Text("Already done", "已处理"))
        if state is PressState.BUSY:
            return Outcome(WORKING, "info")
        future = self._submit(self._perform, press)
        try:
            return future.result(timeout=ANSWER_BUDGET)
        except FutureTimeout:
            answered_at = time.monotonic()
            future.add_done_callback(lambda f: self._late_update(press, f, answered_at))
            return Outcome(WORKING, "info")

    def _perform(self, press: Press) -> Outcome:
        inbox = self._services.inbox
        begun = utcnow()  # the act's time in the audit, however long it takes
        try:
            outcome = self._run(press)
        except OpenApiError as exc:
            self._audit(press, failed(exc), begun)
            # Failed, not done: should Feishu deliver the press again, it is carried out.
            inbox.end_press(press.event_id, ok=False, error=str(exc))
            return Outcome(explain(exc), "error")
        except Exception as exc:
            inbox.end_press(press.event_id, ok=False, error=f"{type(exc).__name__}: {exc}")
            raise
        # A press that decided more than "done" (a withdrawal's) says so.
        self._audit(press, outcome.act or OK, begun)
        inbox.end_press(press.event_id, ok=True)
        return outcome

    def _audit(self, press: Press, act: Act, begun: datetime | None = None) -> None:
        """The press's one audit entry (and its count in the metrics)."""
        self._services.metrics.presses.labels(press.action, act.outcome).inc()
        if press.withdrawal is not None and "request" not in act.facts:
            act = replace(act, facts={**act.facts, "request": press.withdrawal})
        audit_trail.record(
            self._services,
            act,
            actor=press.open_id,
            action=press.action,
            account_id=press.account_id,
            via="button",
            chat_id=press.chat_id,
            at=begun,
        )

    def _run(self, press: Press) -> Outcome:
        services = self._services
        if press.action in reward_presses.ACTIONS:
            return reward_presses.run(services, press)
        if press.action in ("approve", "cancel"):
            decide = withdrawals.approve if press.action == "approve" else withdrawals.cancel
            answer = decide(services, press.withdrawal, press.open_id)
            return Outcome(answer.text, answer.kind, answer.card, answer.act)
        if press.action == "withdraw":
            return self._request_withdrawal(press)
        if press.action == "withdrawals":
            card = history_card(services, press.account_id, press.offset or 0)
            return Outcome(Text("Page turned", "已翻页"), "success", card)
        if press.action == "keep":  # a leaver's account stays as it is; the card says who decided
            record = services.accounts.get(press.account_id)
            if record is None or record.account is None:
                return Outcome(Text("This account is not known", "未知账户"), "error")
            kept = Text("Kept by {who}", "{who} 选择保留").format(
                who=Text.markup(mention(press.open_id))
            )
            en = press.name or press.account_id
            card = leaver_card(Text(en, press.name_zh or en), record.account, decided=kept)
            return Outcome(Text("Account kept as it is", "账户保持不变"), "success", card)
        if press.action == "find":
            card = find_card(services, press.text or "", press.offset or 0)
            return Outcome(Text("Page turned", "已翻页"), "success", card)
        if press.action == "register":
            command = registration(press.contact)
            account, notice = register_and_remember(services, command, press.open_id)
            if press.message_id:  # the card becomes the new account's card
                services.accounts.note_card(press.message_id, account.account_id, press.chat_id)
            card = account_cards.render(services, account.account_id, notice)
            return Outcome(notice, "success", card)
        if press.action == "list":
            card = account_list_card(
                services.accounts.all(),
                now=utcnow(),
                zone=services.settings.digest_tz,
                offset=press.offset or 0,
            )
            if press.offset is not None:
                return Outcome(Text("Page turned", "已翻页"), "success", card)
            services.messenger.send_card(press.chat_id, card, uuid=f"list-{press.event_id}")
            return Outcome(Text("Account list sent", "已发送账户列表"), "success")
        account_id = press.account_id
        with self._locks.hold(account_id):
            # One call per press: enable and deactivate answer with the account as it is now.
            if press.action == "enable":
                account = services.gateway.enable(account_id)
            elif press.action == "disable":
                account = services.gateway.deactivate(account_id)
            else:
                account = services.gateway.get_assets(account_id)
            # Their answer has no referrer; the records keep the one get_account_assets gave.
            services.accounts.remember(account)
            card, shown = account_cards.current(services, account_id) or (None, None)
            if press.action == "show":
                sent = services.messenger.send_card(
                    press.chat_id, card, uuid=f"show-{press.event_id}"
                )
                account_cards.noted(services, sent, account_id, press.chat_id, shown)
                return Outcome(Text("Account card sent", "已发送账户卡片"), "success")
            # The others; the pressed card gets this state from the answer.
            skip = (press.message_id,) if press.message_id else ()
            account_cards.refresh_later(services, account_id, skip=skip)
        toast = {
            "enable": Text("Account enabled", "账户已启用"),
            "disable": Text("Account disabled", "账户已停用"),
            "refresh": Text("Refreshed", "已刷新"),
        }[press.action]
        return Outcome(toast, "success", card)

    def _request_withdrawal(self, press: Press) -> Outcome:
        """The account card's Withdraw: post a request card for a second admin to approve."""
        services = self._services
        answer = withdrawals.request(
            services,
            press.account_id,
            Kind.ALL,
            requested_by=press.open_id or "",
            chat_id=press.chat_id,
        )
        if answer.withdrawal is not None and press.chat_id:
            sent = services.messenger.send_card(
                press.chat_id, answer.card, uuid=f"withdraw-{press.event_id}"
            )
            if answer.new:  # the account's open request keeps its first card
                services.withdrawals.note_message(answer.withdrawal.id, sent)
        return Outcome(answer.text, answer.kind, act=answer.act)

    def _current(self, press: Press, toast: Text) -> Outcome:
        """The card from the bot's records, without calling the API."""
        services = self._services
        if press.withdrawal is not None and press.action in ("approve", "cancel"):
            request = services.withdrawals.get(press.withdrawal)
            card = withdrawals.card_of(services, request) if request else None
        elif press.reward is not None and press.action in reward_presses.ACTIONS:
            reward = services.rewards.get(press.reward)
            card = reward_card_of(services, reward) if reward else None
        else:
            card = account_cards.render(services, press.account_id) if press.account_id else None
        return Outcome(toast, "info", card)

    def _late_update(self, press: Press, future: Future, answered_at: float) -> None:
        """The work outlived the answer: bring the pressed card up to date now, or say what
        went wrong on it; the person is never left with "working on it"."""
        try:
            outcome: Outcome = future.result()
        except Exception:
            log.exception("button press %s failed", press.event_id)
            outcome = Outcome(SOMETHING_WRONG, "error")
        notice = outcome.toast if outcome.kind == "error" else None
        time.sleep(max(0.0, answered_at + ANSWER_FLIGHT - time.monotonic()))
        # Rendered now, not when the work ended: a change made meanwhile shows.
        card, version = outcome.card, None
        if press.account_id:
            shown = account_cards.current(self._services, press.account_id, notice)
            card, version = shown if shown else (None, None)
        if card is None:
            if notice is not None:
                self._tell_in_chat(press, notice)
            return
        messenger = self._services.messenger
        if press.token:
            try:
                messenger.update_card_by_token(press.token, card)
                self._caught_up(press, version, notice)
                return
            except OpenApiError as exc:
                log.warning("delayed update by token failed, patching instead: %s", exc)
        if not press.message_id:
            return
        try:
            messenger.update_card(press.message_id, card)
            self._caught_up(press, version, notice)
        except OpenApiError as exc:
            log.warning("card %s not updated now, queued: %s", press.message_id, exc)
            if press.account_id:
                account_cards.refresh_later(
                    self._services, press.account_id, only=(press.message_id,), notice=notice
                )

    def _caught_up(self, press: Press, shown: int | None, notice: Text | None) -> None:
        """The late update showed version `shown`; a change made while it was under way may
        have been patched onto the card before it landed: then patch the card again."""
        if not (press.account_id and press.message_id) or shown is None:
            return
        if account_cards.version(self._services, press.account_id) != shown:
            account_cards.refresh_later(
                self._services, press.account_id, only=(press.message_id,), notice=notice
            )

    def _tell_in_chat(self, press: Press, what: Text) -> None:
        if not press.chat_id:
            return
        card = could_not(what)
        try:
            self._services.messenger.send_card(
                press.chat_id, card, uuid=f"press-failed-{press.event_id}"
            )
        except OpenApiError as exc:
            log.warning("could not tell chat %s that a press failed: %s", press.chat_id, exc)


class KeyedLocks:
    """One lock per key while anyone holds or waits for it; forgotten when nobody does."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
