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

import sqlalchemy as sa

from bot.records import engines
from bot.records.schema import owners
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
        row = {
            "owner": self.owner,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": now,
            "beat_at": now,
        }
        database = self._database
        database.run(engines.upsert(database.engine, owners, row, ["owner"], ["beat_at"]))

    def forget(self) -> None:
        """A clean stop with nothing left in hand: this owner's work (none) is free at once."""
        self._database.run(owners.delete().where(owners.c.owner == self.owner))

    def prune(self, older_than: timedelta = timedelta(days=1)) -> int:
        cutoff = to_iso(utcnow() - older_than)
        return self._database.run(owners.delete().where(owners.c.beat_at < cutoff)).rowcount


def live_owners() -> sa.Select:
    """The owners beating now (a claim or lease held by another is theirs to keep)."""
    return sa.select(owners.c.owner).where(owners.c.beat_at > live_cutoff())


def dead(holder: sa.ColumnElement) -> sa.ColumnElement:
    """Whether the work `holder` names belongs to nobody: no holder, or one not beating."""
    return sa.or_(holder.is_(None), holder.not_in(live_owners()))


def live_cutoff() -> str:
    return to_iso(utcnow() - STALE_AFTER)
