"""The housekeeper thread: this process's heartbeat, taking back work of dead processes, and
pruning records past their use.

Every `BEAT_EVERY` it beats (see `bot.records.liveness`) and puts back inbox claims whose owner
stopped beating, so a command claimed by a process that was killed is worked off within
`STALE_AFTER` plus one beat, by this process or any other on the same database. Once an hour
it forgets finished events after 30 days, card notes Feishu no longer lets us update, and
digest snapshots no digest will compare with again; the audit is the record and is kept.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.records.database import ERRORS as DB_ERRORS
from bot.records.inbox import Inbox
from bot.records.liveness import BEAT_EVERY, Liveness
from bot.worker import StoreTrouble

log = logging.getLogger(__name__)

PRUNE_EVERY = 3600.0


class Housekeeper:
    def __init__(
        self,
        liveness: Liveness,
        inbox: Inbox,
        *,
        prune: Callable[[], dict[str, int]],
        trouble: StoreTrouble,
        beat_every: float = BEAT_EVERY.total_seconds(),
    ) -> None:
        self._liveness = liveness
        self._inbox = inbox
        self._prune = prune
        self._trouble = trouble
        self._beat_every = beat_every
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune = 0.0

    def start(self) -> None:
        """Beat and take back orphaned claims once before returning, then keep at it."""
        self._stopping.clear()
        self._tick()
        self._thread = threading.Thread(target=self._run, name="housekeeper", daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, *, work_left: bool) -> None:
        """Stop beating; with nothing left in hand, say so at once so nobody waits for us."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if not work_left:
            try:
                self._liveness.forget()
            except DB_ERRORS as exc:
                log.warning("could not sign off from the database: %s", exc)

    def _run(self) -> None:
        while not self._stopping.wait(self._beat_every):
            try:
                self._tick()
            except Exception:  # the heartbeat must outlive any one failure
                log.exception("housekeeping failed; going on")

    def _tick(self) -> None:
        try:
            self._liveness.beat()
            taken = self._inbox.requeue_orphans()
        except DB_ERRORS as exc:
            self._trouble.failed(exc, "beating")
            return
        if taken:
            log.warning("took back %d events from a process that stopped beating", taken)
        if time.monotonic() - self._last_prune >= PRUNE_EVERY:
            self._last_prune = time.monotonic()
            try:
                pruned = self._prune()
            except DB_ERRORS as exc:
                self._trouble.failed(exc, "pruning")
                return
            if any(pruned.values()):
                log.info("pruned %s", ", ".join(f"{n} {what}" for what, n in pruned.items()))
