"""The status digest: fetch every known account, compare with the last scheduled digest, post
the card.

Scheduled runs post to every chat in `settings.digest_chats`, once per fire time across all
processes sharing the database (a lease on the run, then one per chat, as for every scheduled
report: `scheduled_reports`). A post that fails while Feishu is in trouble is tried again with
backoff until the schedule's grace ends (its uuid keeps it single). A stop cuts a run off within
seconds, even while it fetches, and lets go of its lease; the next start finishes it.
`/referral digest` runs the same digest for one chat and answers with its card.

Either kind compares with the last scheduled digest: one asked for on demand is recorded but is
no baseline, so the group's next scheduled digest still tells every change. The card charts the
totals of the last scheduled digests and its own, once there is one before it: from the second
scheduled digest on, and on demand after the first. A digest reads the clock once, after
fetching; that moment is its header's, its snapshots' and its chart point's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.domain.accounts import Account
from bot.domain.digest_model import Totals, changes, totals
from bot.feishu.messenger import Messenger
from bot.feishu.openapi import OpenApiError
from bot.feishu.ratelimit import Priority
from bot.feishu.referral import ReferralGateway
from bot.records.digests import CHART_RUNS, ON_DEMAND, SCHEDULED, DigestRecords
from bot.records.store import AccountBook, Database, utcnow
from cards.digest import DigestView, digest_card
from cards.names import record_name
from cards.text import Text
from handlers.answers import explain
from handlers.errors import Stopping
from handlers.scheduled_reports import ScheduledReport, Scheduler

log = logging.getLogger(__name__)

# Enough threads to keep the rate limiter's slots busy while answers are in flight; more would
# only queue on the limiter.
FETCH_THREADS = 6
# Backoff of a failed post, doubling up to the cap, until the schedule's grace runs out.
POST_RETRY_FIRST = 5.0
POST_RETRY_CAP = 120.0
# A digest that could not run at its time (the bot was down) still runs up to this late.
DEFAULT_GRACE = timedelta(hours=2)


@dataclass(frozen=True)
class Digest:
    """One digest run's result: the card and what went into it."""

    run_id: int
    card: dict
    fetched: tuple[Account, ...]
    failures: tuple[tuple[str, str], ...]


class DigestService(ScheduledReport):
    records: DigestRecords

    what = "digest"
    uuid_prefix = "digest"
    default_grace = DEFAULT_GRACE
    retry_cap = POST_RETRY_CAP

    def __init__(
        self,
        settings: Settings,
        database: Database,
        accounts: AccountBook,
        gateway: ReferralGateway,
        messenger: Messenger,
        *,
        scheduler: Scheduler,
        holder: str | None = None,
        post_retry_first: float = POST_RETRY_FIRST,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        records = DigestRecords(database)
        super().__init__(settings, settings.digest_cron, messenger, records, holder, scheduler)
        self._accounts = accounts
        self._gateway = gateway
        self.post_retry_first = post_retry_first
        # What a digest reads its moment from (tests set a fixed one).
        self.clock = clock

    # --- on demand ---------------------------------------------------------------------------
    def card_for_chat(self, chat_id: str) -> dict:
        """Run a digest now for `/referral digest`; recorded, but not as the scheduled run."""
        run_id = self.records.start_on_demand(self.holder)
        digest = self._collect(run_id, ON_DEMAND)  # Stopping: the command is run again later
        self._finish(digest, chats_posted=[chat_id], chats_failed=[])
        return digest.card

    # --- scheduled ---------------------------------------------------------------------------
    def run_scheduled(self, scheduled_for: datetime) -> list[str]:
        """The digest of one fire time, posted to every configured chat that has not had it;
        returns the chats this process posted to."""
        chats = self._settings.digest_chats
        if not chats:
            return []
        # Held by a live replica: wait, and finish it here should that one die.
        run_id = self.records.lease_scheduled(scheduled_for, self.holder, stopping=self._stopping)
        if run_id is None:
            log.info("digest of %s is done or under way elsewhere", scheduled_for)
            return []
        try:
            digest = self._collect(run_id, SCHEDULED)
            posted, failed = self._post(scheduled_for, run_id, digest.card, chats)
        except Stopping:
            log.info("digest of %s cut off by the stop; the next start finishes it", scheduled_for)
            self.records.release(run_id)
            return []
        self._finish(digest, chats_posted=posted, chats_failed=failed)
        return posted

    def _post(
        self, scheduled_for: datetime, run_id: int, card: dict, chats: Sequence[str]
    ) -> tuple[list[str], list[tuple[str, str, str]]]:
        """Post to every chat not yet posted to; the chats posted to, and those that failed
        with the reason in English and in Chinese, which the next digest names."""
        posted, errors = self._post_card(
            scheduled_for, run_id, card, chats, first_delay=self.post_retry_first
        )
        failed: list[tuple[str, str, str]] = []
        for chat_id, exc in errors:
            log.error("digest of %s not posted to %s: %s", scheduled_for, chat_id, exc)
            reason = explain(exc)
            failed.append((chat_id, reason.en, reason.zh))
        return posted, failed

    # --- the work ----------------------------------------------------------------------------
    def _collect(self, run_id: int, kind: str) -> Digest:
        records = self._accounts.all()
        fetched, failures = self._fetch_all([r.account_id for r in records])
        moment = self.clock()
        # Either kind reports what changed since the last scheduled digest, whatever was asked
        # for on demand in between.
        previous_run = self.records.previous_finished(run_id, SCHEDULED)
        previous = self.records.latest_snapshots(run_id, SCHEDULED)
        self.records.save_snapshots(run_id, fetched, moment)
        undelivered = self.records.undelivered_before(run_id)
        zone = self._settings.digest_tz
        digest_totals = totals(fetched)
        first = previous_run is None and not previous
        view = DigestView(
            taken_at=moment.astimezone(ZoneInfo(zone)),
            scheduled=kind == SCHEDULED,
            known=len(records),
            accounts=fetched,
            totals=digest_totals,
            changes=changes(previous, fetched, first=first),
            failures=[(account_id, reason) for account_id, reason, _ in failures],
            undelivered=[(chat, Text(en, zh)) for chat, en, zh in undelivered],
            since=previous_run.moment.astimezone(ZoneInfo(zone)) if previous_run else None,
            zone=zone,
            first=first,
            names=self._names(),
            history=self._history(run_id, kind, moment, digest_totals),
        )
        return Digest(
            run_id=run_id,
            card=digest_card(view),
            fetched=tuple(fetched),
            failures=tuple((account_id, detail) for account_id, _, detail in failures),
        )

    def _names(self) -> dict[str, Text]:
        """Each account's holder as the records now name them (the fetch just learned the
        referrers of new accounts)."""
        named = ((r.account_id, record_name(r)) for r in self._accounts.all())
        return {account_id: name for account_id, name in named if name is not None}

    def _history(
        self, run_id: int, kind: str, moment: datetime, now: Totals
    ) -> list[tuple[datetime, Totals]]:
        """The totals to chart: the scheduled digests before this one, then this one's own at
        its moment (on demand too: "now" after the scheduled ones). The card draws it from two
        points on."""
        before = self.records.run(run_id).scheduled_for if kind == SCHEDULED else None
        earlier = self.records.scheduled_totals(before=before, limit=CHART_RUNS - 1)
        return [*earlier, (moment, now)]

    def _fetch_all(
        self, account_ids: Sequence[str]
    ) -> tuple[list[Account], list[tuple[str, Text, str]]]:
        """Every account's assets, in the background lane of the shared rate limiter so that
        commands sent meanwhile go first. Raises Stopping soon after a stop."""
        fetched: dict[str, Account] = {}
        failures: dict[str, tuple[Text, str]] = {}
        pool = ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="digest-fetch")
        try:
            futures = {
                pool.submit(self._fetch, account_id): account_id for account_id in account_ids
            }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                if self._stopping.is_set():
                    raise Stopping()
                for future in done:
                    account_id = futures[future]
                    try:
                        account = future.result()
                    except OpenApiError as exc:
                        log.warning("digest could not fetch %s: %s", account_id, exc)
                        failures[account_id] = (explain(exc), str(exc))
                    else:
                        self._accounts.remember(account)
                        fetched[account_id] = account
        finally:
            # On a stop, fetches not begun are dropped and those in flight are not waited for.
            pool.shutdown(wait=not self._stopping.is_set(), cancel_futures=True)
        order = {account_id: i for i, account_id in enumerate(account_ids)}
        return (
            sorted(fetched.values(), key=lambda a: order[a.account_id]),
            [(a, *failures[a]) for a in sorted(failures, key=order.__getitem__)],
        )

    def _fetch(self, account_id: str) -> Account:
        if self._stopping.is_set():
            raise Stopping()
        return self._gateway.get_assets(account_id, priority=Priority.BACKGROUND)

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
