"""Card buttons answered inside Feishu's 3 s, whatever the button (the registry's button
entries, in the feature folders), through the guard's steps.

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

from lark_oapi.event.callback.model.p2_card_action_trigger import (
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)

from bot.feishu.openapi import OpenApiError
from bot.records.store import utcnow
from cards.text import Text
from handlers import guard
from handlers.accounts import cards as account_cards
from handlers.answers import could_not
from handlers.asker import Answer, Asker
from handlers.presses import SOMETHING_WRONG, WORKING, Value, read_press, refuse_invalid, response
from handlers.registry import ButtonEntry, loaded
from handlers.services import Services

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
            asker, value = read_press(data)
            answer = self._answer(asker, value)
        except Exception:
            log.exception("card action failed")
            answer = Answer(text=SOMETHING_WRONG, kind="error")
        return response(answer)

    def _answer(self, asker: Asker, value: Value) -> Answer:
        """The guard's steps for a press, inside Feishu's 3 s: the value checked, who may act,
        once-only, then the work on the pool, answered within `ANSWER_BUDGET` or updated
        later."""
        entry = loaded().buttons.get(value.action)
        problem = refuse_invalid(entry, value)
        if problem is not None:
            return Answer(text=problem, kind="error")
        refusal = guard.admit(
            self._services, entry, asker, value.action, value.account_id, facts=_facts(value)
        )
        if refusal is not None:
            return refusal
        state = guard.begin(self._services, entry.policy, asker)
        if state is guard.Begun.DONE:
            # Feishu delivered this press again: do not call the API twice.
            return Answer(
                _shown(self._services, entry, value), Text("Already done", "已处理"), "info"
            )
        if state is guard.Begun.BUSY:
            return Answer(text=WORKING, kind="info")
        future = self._submit(self._perform, entry, asker, value)
        try:
            return future.result(timeout=ANSWER_BUDGET)
        except FutureTimeout:
            answered_at = time.monotonic()
            future.add_done_callback(lambda f: self._late_update(asker, value, f, answered_at))
            return Answer(text=WORKING, kind="info")

    def _perform(self, entry: ButtonEntry, asker: Asker, value: Value) -> Answer:
        inbox = self._services.inbox
        begun = utcnow()  # the act's time in the audit, however long it takes
        try:
            answer = guard.perform(
                self._services,
                entry,
                asker,
                value,
                value.action,
                value.account_id,
                begun,
                _facts(value),
            )
        except Exception as exc:
            inbox.end_press(asker.event_id, ok=False, error=f"{type(exc).__name__}: {exc}")
            raise
        # Failed, not done: should Feishu deliver the press again, it is carried out.
        failed = answer.act is not None and answer.act.failed
        inbox.end_press(asker.event_id, ok=not failed, error=answer.act.detail if failed else None)
        return answer

    def _late_update(self, asker: Asker, value: Value, future: Future, answered_at: float) -> None:
        """The work outlived the answer: bring the pressed card up to date now, or say what
        went wrong on it; the person is never left with "working on it"."""
        try:
            answer: Answer = future.result()
        except Exception:
            log.exception("button press %s failed", asker.event_id)
            answer = Answer(text=SOMETHING_WRONG, kind="error")
        notice = answer.text if answer.kind == "error" else None
        time.sleep(max(0.0, answered_at + ANSWER_FLIGHT - time.monotonic()))
        # Rendered now, not when the work ended: a change made meanwhile shows.
        card, version = answer.card, None
        if value.account_id:
            shown = account_cards.current(self._services, value.account_id, notice)
            card, version = shown if shown else (None, None)
        if card is None:
            if notice is not None:
                self._tell_in_chat(asker, notice)
            return
        messenger = self._services.messenger
        if asker.token:
            try:
                messenger.update_card_by_token(asker.token, card)
                self._caught_up(asker, value, version, notice)
                return
            except OpenApiError as exc:
                log.warning("delayed update by token failed, patching instead: %s", exc)
        if not asker.message_id:
            return
        try:
            messenger.update_card(asker.message_id, card)
            self._caught_up(asker, value, version, notice)
        except OpenApiError as exc:
            log.warning("card %s not updated now, queued: %s", asker.message_id, exc)
            if value.account_id:
                account_cards.refresh_later(
                    self._services, value.account_id, only=(asker.message_id,), notice=notice
                )

    def _caught_up(
        self, asker: Asker, value: Value, shown: int | None, notice: Text | None
    ) -> None:
        """The late update showed version `shown`; a change made while it was under way may
        have been patched onto the card before it landed: then patch the card again."""
        if not (value.account_id and asker.message_id) or shown is None:
            return
        if account_cards.version(self._services, value.account_id) != shown:
            account_cards.refresh_later(
                self._services, value.account_id, only=(asker.message_id,), notice=notice
            )

    def _tell_in_chat(self, asker: Asker, what: Text) -> None:
        if not asker.chat_id:
            return
        card = could_not(what)
        try:
            self._services.messenger.send_card(
                asker.chat_id, card, uuid=f"press-failed-{asker.event_id}"
            )
        except OpenApiError as exc:
            log.warning("could not tell chat %s that a press failed: %s", asker.chat_id, exc)


def _facts(value: Value) -> dict[str, object]:
    """What the button itself tells the audit: the request an Approve or Cancel decides."""
    return {"request": value.withdrawal} if value.withdrawal is not None else {}


def _shown(services: Services, entry: ButtonEntry, value: Value) -> dict | None:
    """The card a redelivered press is answered with, from the records, without calling the
    API: the entry's own, else the account's."""
    if entry.shows is not None:
        return entry.shows(services, value)
    return account_cards.render(services, value.account_id) if value.account_id else None


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
