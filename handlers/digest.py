"""The status digest: fetch every known account, compare with the last digest, post the card.

Scheduled runs post to every chat in `settings.digest_chats`, once per fire time across all
processes sharing the database (a lease on the run, then one per chat). `/referral digest` runs
the same digest for one chat and answers with its card.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from bot.accounts import Account
from bot.config import Settings
from bot.digest_model import changes, totals
from bot.feishu.messenger import Messenger
from bot.feishu.openapi import OpenApiError
from bot.feishu.ratelimit import Priority
from bot.feishu.referral import ReferralGateway
from bot.records.digests import DigestRecords
from bot.records.store import AccountBook, Database, utcnow
from bot.scheduler import DEFAULT_GRACE, DigestSchedule, crontab_trigger
from cards.digest import DigestView, digest_card
from cards.text import Text
from handlers.answers import explain

log = logging.getLogger(__name__)

# Enough threads to keep the rate limiter's slots busy while answers are in flight; more would
# only queue on the limiter.
FETCH_THREADS = 6
# Refresh the run's lease this often (in accounts) so a long digest is not taken for dead.
HEARTBEAT_EVERY = 50


@dataclass(frozen=True)
class Digest:
    """One digest run's result: the card and what went into it."""

    run_id: int
    card: dict
    fetched: tuple[Account, ...]
    failures: tuple[tuple[str, str], ...]


class DigestService:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        accounts: AccountBook,
        gateway: ReferralGateway,
        messenger: Messenger,
    ) -> None:
        self._settings = settings
        self._accounts = accounts
        self._gateway = gateway
        self._messenger = messenger
        self.records = DigestRecords(database)
        # Names this process (and this bot, when tests run two in one process) in the leases.
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._schedule: DigestSchedule | None = None

    # --- on demand ---------------------------------------------------------------------------
    def card_for_chat(self, chat_id: str) -> dict:
        """Run a digest now for `/referral digest`; recorded, but not as the scheduled run."""
        run_id = self.records.start_on_demand(self.holder)
        digest = self._collect(run_id)
        self._finish(digest, chats_posted=[chat_id], chats_failed=[])
        return digest.card

    # --- scheduled ---------------------------------------------------------------------------
    def run_scheduled(self, scheduled_for: datetime) -> list[str]:
        """The digest of one fire time, posted to every configured chat that has not had it;
        returns the chats this process posted to."""
        chats = self._settings.digest_chats
        if not chats:
            return []
        run_id = self.records.lease_scheduled(scheduled_for, self.holder)
        if run_id is None:
            log.info("digest of %s is done or under way elsewhere", scheduled_for)
            return []
        digest = self._collect(run_id)
        posted: list[str] = []
        failed: list[tuple[str, str, str]] = []
        for chat_id in chats:
            if not self.records.lease_post(scheduled_for, chat_id, run_id, self.holder):
                continue
            try:
                message_id = self._messenger.send_card(
                    chat_id, digest.card, uuid=_post_uuid(scheduled_for, chat_id)
                )
            except OpenApiError as exc:
                # One chat's failure must not keep the digest from the others.
                log.error("digest of %s not posted to %s: %s", scheduled_for, chat_id, exc)
                self.records.end_post(scheduled_for, chat_id, error=str(exc))
                reason = explain(exc)
                failed.append((chat_id, reason.en, reason.zh))
                continue
            self.records.end_post(scheduled_for, chat_id, message_id=message_id)
            posted.append(chat_id)
            self.records.heartbeat(run_id)
        self._finish(digest, chats_posted=posted, chats_failed=failed)
        return posted

    def start_schedule(
        self, *, trigger: BaseTrigger | None = None, grace: timedelta = DEFAULT_GRACE
    ) -> None:
        """Run `run_scheduled` on the configured cron (or `trigger`, for tests)."""
        if self._schedule is not None or not self._settings.digest_chats:
            return
        settings = self._settings
        self._schedule = DigestSchedule(
            trigger or crontab_trigger(settings.digest_cron, settings.digest_tz),
            settings.digest_tz,
            self.run_scheduled,
            self.records.last_scheduled_for,
            grace=grace,
        )
        self._schedule.start()

    def stop_schedule(self) -> None:
        if self._schedule is not None:
            self._schedule.stop()
            self._schedule = None

    @property
    def next_run_time(self) -> datetime | None:
        return self._schedule.next_run_time if self._schedule is not None else None

    # --- the work ----------------------------------------------------------------------------
    def _collect(self, run_id: int) -> Digest:
        records = self._accounts.all()
        contacts = {r.account_id: r.contact for r in records if r.contact}
        fetched, failures = self._fetch_all([r.account_id for r in records], run_id)
        previous_run = self.records.previous_finished(run_id)
        previous = self.records.latest_snapshots(run_id)
        self.records.save_snapshots(run_id, fetched)
        undelivered = self.records.undelivered_before(run_id)
        zone = self._settings.digest_tz
        view = DigestView(
            taken_at=utcnow().astimezone(ZoneInfo(zone)),
            known=len(records),
            accounts=fetched,
            totals=totals(fetched),
            changes=changes(previous, fetched, first=previous_run is None and not previous),
            failures=[(account_id, reason) for account_id, reason, _ in failures],
            undelivered=[(chat, Text(en, zh)) for chat, en, zh in undelivered],
            since=previous_run.started_at.astimezone(ZoneInfo(zone)) if previous_run else None,
            zone=zone,
            first=previous_run is None and not previous,
            contacts=contacts,
        )
        return Digest(
            run_id=run_id,
            card=digest_card(view),
            fetched=tuple(fetched),
            failures=tuple((account_id, detail) for account_id, _, detail in failures),
        )

    def _fetch_all(
        self, account_ids: Sequence[str], run_id: int
    ) -> tuple[list[Account], list[tuple[str, Text, str]]]:
        """Every account's assets, in the background lane of the shared rate limiter so that
        commands sent meanwhile go first."""
        fetched: dict[str, Account] = {}
        failures: dict[str, tuple[Text, str]] = {}
        with ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="digest-fetch") as pool:
            futures = {
                pool.submit(self._gateway.get_assets, account_id, priority=Priority.BACKGROUND): (
                    account_id
                )
                for account_id in account_ids
            }
            for done, future in enumerate(as_completed(futures), start=1):
                account_id = futures[future]
                try:
                    account = future.result()
                except OpenApiError as exc:
                    log.warning("digest could not fetch %s: %s", account_id, exc)
                    failures[account_id] = (explain(exc), str(exc))
                else:
                    self._accounts.remember(account)
                    fetched[account_id] = account
                if done % HEARTBEAT_EVERY == 0:
                    self.records.heartbeat(run_id)
        order = {account_id: i for i, account_id in enumerate(account_ids)}
        return (
            sorted(fetched.values(), key=lambda a: order[a.account_id]),
            [(a, *failures[a]) for a in sorted(failures, key=order.__getitem__)],
        )

    def _finish(
        self,
        digest: Digest,
        *,
        chats_posted: list[str],
        chats_failed: list[tuple[str, str, str]],
    ) -> None:
        self.records.finish(
            digest.run_id,
            accounts=len(digest.fetched) + len(digest.failures),
            fetched=len(digest.fetched),
            failures=list(digest.failures),
            chats_posted=chats_posted,
            chats_failed=chats_failed,
        )


def _post_uuid(scheduled_for: datetime, chat_id: str) -> str:
    """Feishu drops a second send with the same uuid within an hour: a last guard against a
    double post when a stale lease is taken over."""
    key = f"{scheduled_for.isoformat()}|{chat_id}".encode()
    return "digest-" + hashlib.sha256(key).hexdigest()[:40]
