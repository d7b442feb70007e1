"""The status digest (issue 4 builds it out): every known account's state, posted to HR chats."""

from __future__ import annotations

from bot.config import Settings
from bot.messenger import Messenger
from bot.referral_gateway import ReferralGateway
from bot.store import AccountBook, Database


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

    def card_for_chat(self, chat_id: str) -> dict:
        raise NotImplementedError("the digest is issue 4")

    def start_schedule(self) -> None:
        pass

    def stop_schedule(self) -> None:
        pass
