"""Referrals the bot follows: which applications were asked about (a referral or
not, remembered either way), each referral with its current stage, its stage history, and what
each referrer is still to be told.

A stage change is taken only when its `update_time` is newer than the one the records hold (a
redelivery, or an older change after a newer one, changes nothing), in one transaction with
its history row, its telling and the follow-up work the caller queues (`then`).

Tellings are batched per referrer: the first untold one queues the referrer's batch, due a
window later; the batch claims every untold telling of the referrer (`claim`), sends them as one
message, and marks them told (`told`), which queues the next batch when more came meanwhile. A
claim survives a crash: the retry sends the same rows under the same message uuid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from bot.domain.referrals import Application, Kind, Referral, ReferralOf, Stage, kind_of
from bot.records import engines
from bot.records.schema import referral_checks, referral_stages, referral_tellings, referrals
from bot.records.store import Database, Tx, from_iso, to_iso, utcnow

checks, stages, tellings = referral_checks, referral_stages, referral_tellings


@dataclass(frozen=True)
class Change:
    """A stage change as it was recorded."""

    referral: Referral
    previous: Referral | None
    kind: Kind


@dataclass(frozen=True)
class Telling:
    id: int
    referrer_open_id: str
    application_id: str
    kind: Kind
    talent_name: str | None
    job_name: str | None
    stage: Stage
    at: datetime


# The records' transaction a `then` callback writes in, so that what it queues commits with them.
Transaction = Tx
Then = Callable[[Transaction, Change], None]


class ReferralBook:
    def __init__(self, database: Database) -> None:
        self._database = database

    # --- asked once per application -----------------------------------------------------------
    def checked(self, application_id: str) -> tuple[bool, ReferralOf | None]:
        """(asked before, its referral): (False, None) never asked; (True, None) not one."""
        row = self._database.run(
            sa.select(
                checks.c.referral_id,
                checks.c.referrer_open_id,
                checks.c.referrer_name_zh,
                checks.c.referrer_name_en,
            ).where(checks.c.application_id == application_id)
        ).first()
        if row is None:
            return False, None
        if row[0] is None:
            return True, None
        return True, ReferralOf(row[0], application_id, row[1], row[2], row[3])

    def note_check(self, application_id: str, referral: ReferralOf | None) -> None:
        """Remember get_by_application's answer, either way."""
        row = {
            "application_id": application_id,
            "referral_id": referral.referral_id if referral else None,
            "referrer_open_id": referral.referrer_open_id if referral else None,
            "referrer_name_zh": referral.referrer_name_zh if referral else None,
            "referrer_name_en": referral.referrer_name_en if referral else None,
            "checked_at": to_iso(utcnow()),
        }
        database = self._database
        database.run(engines.upsert(database.engine, checks, row, ["application_id"]))

    def checks(self) -> int:
        return self._database.scalar(sa.select(sa.func.count()).select_from(checks))

    # --- referrals and their stages -----------------------------------------------------------
    def newer(self, application_id: str, update_ms: int) -> bool:
        """Whether a change at `update_ms` is newer than what the records hold."""
        row = self._database.run(
            sa.select(referrals.c.update_ms).where(referrals.c.application_id == application_id)
        ).first()
        return row is None or update_ms > (row[0] or 0)

    def record(
        self,
        of: ReferralOf,
        application: Application,
        update_ms: int,
        *,
        then: Then | None = None,
    ) -> Change | None:
        """Take the application as it stands at `update_ms`; None when the records hold a
        change as new or newer, or nothing moved (the same stage, still active)."""
        since = datetime.fromtimestamp(update_ms / 1000, UTC)
        now = to_iso(utcnow())
        stage = application.stage
        with self._database.transaction() as db:
            engines.serialize(db.conn, f"referral:{of.application_id}")
            rows = (
                db.execute(
                    sa.select(referrals).where(referrals.c.application_id == of.application_id)
                )
                .mappings()
                .all()
            )
            previous = _referral(rows[0]) if rows else None
            if rows and update_ms <= (rows[0]["update_ms"] or 0):
                return None
            moved = previous is None or (
                previous.stage.id != stage.id or previous.active != application.active
            )
            row = {
                "application_id": of.application_id,
                "referral_id": of.referral_id,
                "referrer_open_id": of.referrer_open_id,
                "referrer_name_zh": of.referrer_name_zh,
                "referrer_name_en": of.referrer_name_en,
                "job_id": application.job_id,
                "job_name": application.job_name,
                "talent_id": application.talent_id,
                "talent_name": application.talent_name,
                "stage_id": stage.id,
                "stage_zh": stage.zh_name,
                "stage_en": stage.en_name,
                "stage_type": stage.type,
                "active": int(application.active),
                "since": to_iso(since) if moved else rows[0]["since"],
                "update_ms": update_ms,
                "recorded_at": now,
            }
            db.execute(engines.upsert(db, referrals, row, ["application_id"]))
            if not moved:
                return None
            db.execute(
                stages.insert().values(
                    application_id=of.application_id,
                    stage_id=stage.id,
                    stage_zh=stage.zh_name,
                    stage_en=stage.en_name,
                    stage_type=stage.type,
                    active=int(application.active),
                    at=to_iso(since),
                    update_ms=update_ms,
                    recorded_at=now,
                )
            )
            change = Change(_referral(row), previous, kind_of(stage, application.active))
            if then is not None:
                then(db, change)
        return change

    def get(self, application_id: str) -> Referral | None:
        rows = self._database.rows(
            sa.select(referrals).where(referrals.c.application_id == application_id)
        )
        return _referral(rows[0]) if rows else None

    def of_referrer(
        self, open_id: str | None = None, *, offset: int = 0, limit: int = 20
    ) -> tuple[list[Referral], int]:
        """Newest first (by when they reached their stage); all referrers when None."""
        where = [referrals.c.referrer_open_id == open_id] if open_id else []
        total = self._database.scalar(
            sa.select(sa.func.count()).select_from(referrals).where(*where)
        )
        rows = self._database.rows(
            sa.select(referrals)
            .where(*where)
            .order_by(referrals.c.since.desc(), referrals.c.application_id)
            .limit(limit)
            .offset(offset)
        )
        return [_referral(row) for row in rows], total

    def history(self, application_id: str) -> list[tuple[Stage, bool, datetime]]:
        """The stages the application went through, oldest first: (stage, active, at)."""
        rows = self._database.rows(
            sa.select(stages)
            .where(stages.c.application_id == application_id)
            .order_by(stages.c.update_ms, stages.c.id)
        )
        return [
            (
                Stage(r["stage_id"], r["stage_zh"] or "", r["stage_en"] or "", r["stage_type"]),
                bool(r["active"]),
                from_iso(r["at"]),
            )
            for r in rows
        ]

    # --- telling referrers --------------------------------------------------------------------
    @staticmethod
    def add_telling(db: Tx, change: Change) -> int | None:
        """Inside the change's transaction: a telling for its referrer. Its id when it is the
        referrer's first untold one (then the caller queues the batch), else None."""
        referrer = change.referral.referrer_open_id
        engines.serialize(db.conn, f"referral_tellings:{referrer}")
        pending = db.execute(
            sa.select(tellings.c.id)
            .where(tellings.c.referrer_open_id == referrer, tellings.c.told == 0)
            .limit(1)
        ).first()
        stage_row = db.execute(
            sa.select(sa.func.max(stages.c.id)).where(
                stages.c.application_id == change.referral.application_id
            )
        ).scalar()
        made = db.execute(
            tellings.insert()
            .values(
                referrer_open_id=referrer,
                application_id=change.referral.application_id,
                kind=str(change.kind),
                stage_row=stage_row,
                told=0,
                recorded_at=to_iso(utcnow()),
            )
            .returning(tellings.c.id)
        ).scalar()
        return None if pending else made

    def claim(self, referrer: str, batch: str) -> list[Telling]:
        """The referrer's untold tellings, claimed for `batch` the first time it asks; a retry
        gets the same ones (what came since waits for the next batch), so one message uuid
        always carries one content."""
        with self._database.transaction() as db:
            engines.serialize(db.conn, f"referral_tellings:{referrer}")
            claimed = db.execute(
                sa.select(tellings.c.id).where(tellings.c.batch == batch).limit(1)
            ).first()
            if claimed is None:
                db.execute(
                    tellings.update()
                    .where(
                        tellings.c.referrer_open_id == referrer,
                        tellings.c.told == 0,
                        tellings.c.batch.is_(None),
                    )
                    .values(batch=batch)
                )
            rows = db.execute(
                sa.select(
                    tellings.c.id,
                    tellings.c.referrer_open_id,
                    tellings.c.application_id,
                    tellings.c.kind,
                    referrals.c.talent_name,
                    referrals.c.job_name,
                    stages.c.stage_id,
                    stages.c.stage_zh,
                    stages.c.stage_en,
                    stages.c.stage_type,
                    stages.c.at,
                )
                .select_from(
                    tellings.join(stages, stages.c.id == tellings.c.stage_row).outerjoin(
                        referrals, referrals.c.application_id == tellings.c.application_id
                    )
                )
                .where(tellings.c.batch == batch, tellings.c.told == 0)
                .order_by(tellings.c.id)
            ).all()
        return [
            Telling(
                id=r[0],
                referrer_open_id=r[1],
                application_id=r[2],
                kind=Kind(r[3]),
                talent_name=r[4],
                job_name=r[5],
                stage=Stage(r[6], r[7] or "", r[8] or "", r[9]),
                at=from_iso(r[10]),
            )
            for r in rows
        ]

    def told(self, referrer: str, batch: str) -> int | None:
        """The batch was sent: its tellings are told. The id of the referrer's next untold
        telling (that came meanwhile), for the next batch, or None."""
        with self._database.transaction() as db:
            engines.serialize(db.conn, f"referral_tellings:{referrer}")
            db.execute(tellings.update().where(tellings.c.batch == batch).values(told=1))
            return db.execute(
                sa.select(sa.func.min(tellings.c.id)).where(
                    tellings.c.referrer_open_id == referrer, tellings.c.told == 0
                )
            ).scalar()

    def untold(self) -> int:
        return self._database.scalar(
            sa.select(sa.func.count()).select_from(tellings).where(tellings.c.told == 0)
        )


def _referral(row: sa.RowMapping) -> Referral:
    return Referral(
        application_id=row["application_id"],
        referral_id=row["referral_id"],
        referrer_open_id=row["referrer_open_id"],
        referrer_name_zh=row["referrer_name_zh"],
        referrer_name_en=row["referrer_name_en"],
        job_id=row["job_id"],
        job_name=row["job_name"],
        talent_id=row["talent_id"],
        talent_name=row["talent_name"],
        stage=Stage(
            row["stage_id"], row["stage_zh"] or "", row["stage_en"] or "", row["stage_type"]
        ),
        active=bool(row["active"]),
        since=from_iso(row["since"]),
    )
