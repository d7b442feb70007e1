"""The app factory: builds every part from the settings and wires them together, once."""

from __future__ import annotations

import logging

from bot.config import Settings
from bot.feishu.messenger import Messenger
from bot.feishu.openapi import OpenApi, TokenCache, build_client
from bot.feishu.pushes import CallbackReceiver, PushedEvent
from bot.feishu.referral import ReferralGateway
from bot.records.inbox import Inbox
from bot.records.store import AccountBook, AuditLog, Database
from bot.server import HttpServer
from bot.web import create_web_app
from bot.worker import WorkerPool
from handlers import card_actions, events
from handlers.digest import DigestService
from handlers.services import Services

log = logging.getLogger(__name__)


class ReferralBot:
    """The whole bot in one process: HTTP callbacks, the inbox workers and the digest schedule."""

    def __init__(self, settings: Settings, *, workers: int = 4, api: OpenApi | None = None) -> None:
        self.settings = settings
        self.database = Database(settings.db_path)
        self.inbox = Inbox(self.database)
        if api is None:
            cache = TokenCache()
            api = OpenApi(build_client(settings, cache), cache)
        self.api = api
        gateway = ReferralGateway(api)
        messenger = Messenger(api)
        accounts = AccountBook(self.database)
        self.digest = DigestService(settings, self.database, accounts, gateway, messenger)
        self.services = Services(
            settings=settings,
            inbox=self.inbox,
            accounts=accounts,
            audit=AuditLog(self.database),
            gateway=gateway,
            messenger=messenger,
            digest=self.digest,
        )
        self.pool = WorkerPool(
            self.inbox,
            lambda event: events.work(self.services, event),
            on_failure=lambda event, reason: events.tell_failure(self.services, event),
            size=workers,
        )
        self.card_actions = card_actions.CardActions(self.services)
        self.receiver = CallbackReceiver(settings, self._accept, self.card_actions.answer)
        self.web = create_web_app(self.receiver, self._health)
        self._server: HttpServer | None = None
        self._running = False

    def _accept(self, event: PushedEvent) -> bool:
        new = self.inbox.accept(event.event_id, event.event_type, event.payload, event.message_id)
        if new:
            self.pool.notify()
        return new

    def _health(self) -> dict:
        return {"inbox": self.inbox.counts()}

    def start(self, *, serve: bool = True, schedule: bool = True) -> None:
        """Start the workers, the digest schedule and (unless `serve` is False) the HTTP server."""
        self._running = True
        self.pool.start()
        self.card_actions.start()
        if schedule:
            self.digest.start_schedule()
        if serve:
            self._server = HttpServer(self.web, self.settings.host, self.settings.port)
            self._server.start()
            log.info("listening on %s", self._server.url)

    @property
    def url(self) -> str:
        assert self._server is not None, "the bot is not serving"
        return self._server.url

    def stop(self) -> None:
        """Stop taking requests, let in-flight work finish; what is left stays queued."""
        if not self._running:
            return
        self._running = False
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.digest.stop_schedule()
        self.card_actions.stop()
        self.pool.stop()
        self.database.close()
