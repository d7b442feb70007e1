"""Which processes sharing the database are alive: each beats every few seconds.

Work taken by a process (an inbox claim, a pending button press, a digest lease) names the
process as its owner. Work whose owner has stopped beating belongs to nobody and may be taken
back at once, by the next start or by a sibling process; work whose owner beats is never taken,
however long it runs.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from bot.records.store import Database, to_iso, utcnow

# A process that has missed this many beats is dead (or wedged past saving): its work is free.
# REFERRAL_BOT_LIVENESS_SECONDS shortens it where waiting is the cost (the process-kill tests);
# the beat keeps five to a timeout.
STALE_AFTER = timedelta(seconds=float(os.environ.get("REFERRAL_BOT_LIVENESS_SECONDS") or 15))
BEAT_EVERY = STALE_AFTER / 5


def new_owner_id() -> str:
    """Names one running bot: host, pid and a random part (tests run several in one process)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Liveness:
    def __init__(self, database: Database, owner: str) -> None:
        self._database = database
        self.owner = owner

    def beat(self) -> None:
        now = to_iso(utcnow())
        self._database.db.execute(
            "INSERT INTO owners (owner, host, pid, started_at, beat_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (owner) DO UPDATE SET beat_at = excluded.beat_at",
            [self.owner, socket.gethostname(), os.getpid(), now, now],
        )

    def forget(self) -> None:
        """A clean stop with nothing left in hand: this owner's work (none) is free at once."""
        self._database.db.execute("DELETE FROM owners WHERE owner = ?", [self.owner])

    def prune(self, older_than: timedelta = timedelta(days=1)) -> int:
        cutoff = to_iso(utcnow() - older_than)
        return self._database.db.execute("DELETE FROM owners WHERE beat_at < ?", [cutoff]).rowcount


def live_owners_sql() -> str:
    """SQL for the set of live owners, with one parameter: `live_cutoff()`."""
    return "SELECT owner FROM owners WHERE beat_at > ?"


def live_cutoff() -> str:
    return to_iso(utcnow() - STALE_AFTER)
