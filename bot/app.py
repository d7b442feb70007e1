"""The app factory: builds every part from the settings and wires them together, once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from bot.config import Settings
from bot.feishu.contacts import Contacts
from bot.feishu.hire import HireGateway
from bot.feishu.long_connection import LongConnection
from bot.feishu.messenger import Messenger
from bot.feishu.openapi import OpenApi
from bot.feishu.pushes import CallbackReceiver, PushedEvent, PushHandlers
from bot.feishu.referral import ReferralGateway
from bot.housekeeping import Housekeeper
from bot.ops.exports import RecordExports
from bot.records import tallies
from bot.records.inbox import Inbox
from bot.records.liveness import Liveness, new_owner_id
from bot.records.notices import WINDOW as NOTICE_WINDOW
from bot.records.notices import NoticeBook
from bot.records.referrals import ReferralBook
from bot.records.rewards import RewardBook
from bot.records.store import (
    BUSY_TIMEOUT,
    AccountBook,
    AuditLog,
    Database,
    Welcomes,
    open_database,
    utcnow,
)
from bot.records.withdrawals import WithdrawalBook
from bot.scheduler import schedule_report
from bot.server import HttpServer
from bot.web import create_web_app
from bot.worker import MAX_AGE, StoreTrouble, WorkerPool
from handlers import buttons, dispatch
from handlers.digest.service import DigestService
from handlers.reconcile.service import ReconcileService
from handlers.registry import loaded
from handlers.rewards import imports as reward_imports
from handlers.services import INTERIM_AFTER, Services
from handlers.withdrawals import payouts

log = logging.getLogger(__name__)

# An event waiting this long while Feishu answers means the workers are not getting through.
STUCK_AFTER = timedelta(minutes=5)
# Database connections beside the inbox workers': the web server's 8 threads (pushes, card
# callbacks, /healthz), the housekeeper and the two schedules.
OTHER_CONNECTIONS = 11
# A clean stop waits this long for work in hand (a supervisor's stop timeout is often 10 s).
STOP_WAIT = 5.0
# In long-connection mode, the bot is deaf after this long without a connection.
CONNECTION_DOWN_AFTER = 60.0


def account_records(
    database: Database, settings: Settings, inbox: Inbox, notice_window: timedelta = NOTICE_WINDOW
) -> tuple[AccountBook, NoticeBook]:
    """The account book and the notices that tell every balance it takes, to whom the
    settings say: the one wiring for the serving bot and `referral-bot import`."""
    notices = NoticeBook(
        database,
        inbox,
        window=notice_window,
        chats=bool(settings.notice_chats),
        referrers=settings.notify_referrers,
    )
    return AccountBook(database, teller=notices), notices


class ReferralBot:
    """The whole bot in one process: HTTP callbacks or the long connection, the inbox workers
    and the digest schedule."""

    def __init__(
        self,
        settings: Settings,
        *,
        workers: int = 4,
        api: OpenApi | None = None,
        busy_timeout: float = BUSY_TIMEOUT,
        notice_window: timedelta = NOTICE_WINDOW,
        interim_after: timedelta = INTERIM_AFTER,
        payout_window: timedelta = MAX_AGE,
        referral_window: timedelta = timedelta(minutes=1),
    ) -> None:
        self.settings = settings
        self.owner = new_owner_id()
        self.database = open_database(
            settings.db_path, busy_timeout=busy_timeout, pool_size=workers + OTHER_CONNECTIONS
        )
        self.inbox = Inbox(self.database, self.owner)
        self.api = api = api or OpenApi.of(settings)
        self.metrics = api.metrics
        gateway = ReferralGateway(api)
        messenger = Messenger(api)
        accounts, notices = account_records(self.database, settings, self.inbox, notice_window)
        self.digest = DigestService(
            settings,
            self.database,
            accounts,
            gateway,
            messenger,
            holder=self.owner,
            scheduler=schedule_report,
        )
        self.services = Services(
            metrics=self.metrics,
            settings=settings,
            inbox=self.inbox,
            accounts=accounts,
            audit=AuditLog(self.database),
            gateway=gateway,
            messenger=messenger,
            digest=self.digest,
            contacts=Contacts(api),
            welcomes=Welcomes(self.database),
            withdrawals=WithdrawalBook(self.database),
            notices=notices,
            exports=RecordExports(settings.db_path),
            hire=HireGateway(api),
            referrals=ReferralBook(self.database),
            rewards=RewardBook(self.database),
            referral_window=referral_window,
            interim_after=interim_after,
            payout_window=payout_window,
        )
        self.reconcile = ReconcileService(
            settings,
            self.database,
            self.services.withdrawals,
            gateway,
            messenger,
            holder=self.owner,
            scheduler=schedule_report,
            accounts=self.services.accounts,
            before_run=lambda: payouts.settle_all_later(self.services),
        )
        trouble = StoreTrouble()
        self.pool = WorkerPool(
            self.inbox,
            lambda event: dispatch.work(self.services, event),
            on_failure=lambda event, reason: dispatch.tell_failure(self.services, event, reason),
            size=workers,
            trouble=trouble,
        )
        self.inbox.on_new = self.pool.notify
        # Once Feishu answers again, everything waiting out a backoff goes at once.
        api.reachability.on_recovery(self.inbox.wake_waiting)
        self.housekeeper = Housekeeper(
            Liveness(self.database, self.owner),
            self.inbox,
            prune=self.prune,
            trouble=trouble,
        )
        self.card_actions = buttons.CardActions(self.services)
        self.receiver: CallbackReceiver | None = None
        self.connection: LongConnection | None = None
        subscribed = loaded().subscriptions()  # the events the handlers take
        if settings.transport == "long_connection":
            pushes = PushHandlers(self._accept, self.card_actions.answer, events=subscribed)
            self.connection = LongConnection(settings, pushes.take)
        else:
            self.receiver = CallbackReceiver(
                settings, self._accept, self.card_actions.answer, events=subscribed
            )
        self._watch()
        self.web = create_web_app(self.receiver, self.health, self.metrics.render)
        self._server: HttpServer | None = None
        self._running = False

    def _accept(self, event: PushedEvent) -> bool:
        self.metrics.events_received.labels(event.event_type).inc()
        new = self.inbox.accept(event.event_id, event.event_type, event.payload, event.message_id)
        counter = self.metrics.events_acknowledged if new else self.metrics.events_deduplicated
        counter.labels(event.event_type).inc()
        return new

    def _watch(self) -> None:
        """What /metrics reads at scrape time: the records' tallies and the connection."""
        watch, db = self.metrics.watch, self.database
        watch(
            "referral_bot_inbox_events",
            "Inbox events by state (the bot's own follow-up work included)",
            lambda: {k: float(v) for k, v in self.inbox.counts(internal=True).items()},
            "state",
        )
        watch(
            "referral_bot_digests", "Finished digests", lambda: tallies.digests_by_kind(db), "kind"
        )
        watch(
            "referral_bot_withdrawals",
            "Withdrawal requests by state",
            lambda: tallies.withdrawals_by_state(db),
            "state",
        )
        watch(
            "referral_bot_notices",
            "Balance changes told in a notice, and waiting for theirs",
            lambda: tallies.balance_changes_by_state(db),
            "state",
        )
        watch(
            "referral_bot_connection_up",
            "1 while the transport can receive pushes (the webhook is always up)",
            self._connection_up,
            "transport",
        )

    def _connection_up(self) -> dict[str, float]:
        if self.connection is None:
            return {"webhook": 1.0}
        return {
            "long_connection": 1.0 if self.connection.state.get("status") == "connected" else 0.0
        }

    def prune(self) -> dict[str, int]:
        """Forget what is past its use (the housekeeper calls this hourly)."""
        return {
            "events": self.inbox.prune(),
            "card notes": self.services.accounts.forget_old_cards(),
            "digest snapshots": self.digest.records.prune_snapshots(),
        }

    def health(self) -> tuple[bool, dict]:
        """Whether the bot can serve, and why not: the database takes writes, every worker
        and the schedule live, the long connection (in that mode) has not been down for a
        minute, and nothing has waited long while Feishu answers."""
        problems: list[str] = []
        unwritable = self.database.probe_write()
        if unwritable:
            problems.append(unwritable)
        if self._running:
            if self.pool.alive() < self.pool.size:
                problems.append(f"{self.pool.size - self.pool.alive()} inbox workers are dead")
            if not self.housekeeper.alive():
                problems.append("the housekeeper (heartbeat) is dead")
            if not self.digest.schedule_alive():
                problems.append("the digest scheduler is dead")
            if not self.reconcile.schedule_alive():
                problems.append("the reconciliation scheduler is dead")
        body: dict = {}
        if self.connection is not None:
            state = self.connection.state
            body["connection"] = state.as_dict()
            down_for = state.down_for
            if self._running and down_for is not None and down_for > CONNECTION_DOWN_AFTER:
                problems.append(f"no long connection for {int(down_for)} s")
        try:
            body["inbox"] = self.inbox.counts()
            oldest = self.inbox.oldest_queued()
        except Exception as exc:  # the probe above says why
            log.warning("health: inbox unreadable: %s", exc)
            oldest = None
        reachability = self.api.reachability
        body["feishu"] = "reachable" if reachability.reachable else "unreachable"
        if oldest is not None and reachability.reachable:
            waited = utcnow() - oldest
            back_for = timedelta(seconds=reachability.up_for())
            if min(waited, back_for) > STUCK_AFTER:
                problems.append(f"an event has waited {int(waited.total_seconds())} s")
        if problems:
            body["problems"] = problems
        return not problems, body

    def start(self, *, serve: bool = True, schedule: bool = True) -> None:
        """Start the workers, the digest schedule, the long connection (in that mode) and
        (unless `serve` is False) the HTTP server."""
        if self.receiver is not None and not self.settings.encrypt_key:
            log.warning(
                "LARK_ENCRYPT_KEY is empty and REFERRAL_BOT_ALLOW_UNSIGNED=1: pushes are not "
                "signed, so anyone who learns the verification token can send commands"
            )
        self._running = True
        self.housekeeper.start()  # beats, and takes back work of processes that died
        payouts.resume(self.services)
        reward_imports.resume(self.services)
        self.pool.start()
        self.card_actions.start()
        if schedule:
            self.digest.start_schedule()
            self.reconcile.start_schedule()
        if self.connection is not None:
            self.connection.start()
        if serve:
            self._server = HttpServer(self.web, self.settings.host, self.settings.port)
            self._server.start()
            log.info("listening on %s", self._server.url)

    @property
    def url(self) -> str:
        assert self._server is not None, "the bot is not serving"
        return self._server.url

    def stop(self) -> None:
        """Stop taking requests; wait (bounded) for work in hand; what has not started stays
        queued. Each step runs whatever the ones before it did."""
        if not self._running:
            return
        self._running = False
        # One wait for everything in hand, not one after another.
        deadline = time.monotonic() + STOP_WAIT
        steps: list[tuple[str, Callable[[], object]]] = [
            ("the HTTP server", self._stop_server),
            # Before the card buttons: a press in hand is still answered and acknowledged.
            ("the long connection", lambda: self._stop_connection(_left(deadline))),
            ("the workers' intake", self.pool.request_stop),
            ("the digest", self.digest.stop_schedule),
            ("the reconciliation", self.reconcile.stop_schedule),
            ("the card buttons", lambda: self.card_actions.stop(_left(deadline))),
            ("the workers", lambda: self.pool.stop(_left(deadline))),
        ]
        for name, step in steps:
            try:
                step()
            except Exception:
                log.exception("stopping %s failed", name)
        try:
            # Workers still in their work keep their claims: keep them ours until we are gone.
            self.housekeeper.stop(work_left=self.pool.alive() > 0)
        finally:
            self.database.close()

    def _stop_connection(self, timeout: float) -> None:
        if self.connection is not None:
            self.connection.stop(timeout)

    def _stop_server(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())
