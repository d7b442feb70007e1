"""Events the emulated tenant sends on its own, as a side effect of an API call (say, the
balance event after an imported reward credits an account). A tenant-side operation a test
drives (`move_application`, `user_deleted_event`, ...) returns its event to the caller
instead; an API call has no caller to return it to, so its events wait here.

Without a sink they queue until `take()`; with one (`set_sink(fn)`) each is handed to `fn`,
in order, on a worker thread, so the API answer is not held up by the delivery (Feishu's
events and answers are not ordered either). A sink that raises gets the event queued, not
lost."""

from __future__ import annotations

import logging
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any

from .state import State

log = logging.getLogger("bot.emulator")

Sink = Callable[[dict[str, Any]], Any]


class Outbox:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        self._sink: Sink | None = None
        self._queue: queue.Queue[tuple[Sink, dict[str, Any]] | None] | None = None

    def emit(self, event: dict[str, Any]) -> None:
        with self._lock:
            if self._sink is None or self._queue is None:
                self._pending.append(event)
            else:
                self._queue.put((self._sink, event))

    def take(self) -> list[dict[str, Any]]:
        """The events queued so far, oldest first; the queue is left empty."""
        with self._lock:
            taken, self._pending = self._pending, []
            return taken

    def set_sink(self, sink: Sink | None) -> None:
        with self._lock:
            self._sink = sink
            if sink is not None and self._queue is None:
                self._queue = queue.Queue()
                threading.Thread(
                    target=self._deliver, args=(self._queue,), name="emulator-outbox", daemon=True
                ).start()
            elif sink is None and self._queue is not None:
                self._queue.put(None)  # the worker ends after what is already handed over
                self._queue = None

    def _deliver(self, work: queue.Queue[tuple[Sink, dict[str, Any]] | None]) -> None:
        while (item := work.get()) is not None:
            sink, event = item
            try:
                sink(event)
            except Exception:
                log.warning("the event sink failed; the event stays queued", exc_info=True)
                with self._lock:
                    self._pending.append(event)

    def close(self) -> None:
        self.set_sink(None)


# One outbox beside the tenant's state (one per emulator), dropped with it.
_OUTBOXES: weakref.WeakKeyDictionary[State, Outbox] = weakref.WeakKeyDictionary()


def outbox(state: State) -> Outbox:
    with state.lock:
        return _OUTBOXES.setdefault(state, Outbox())


def clear(state: State) -> None:
    with state.lock:
        box = _OUTBOXES.pop(state, None)
    if box is not None:
        box.close()
