"""What handlers are given to work with: the bot's services, assembled by `bot/app.py`. Nothing
under handlers/ opens a database or builds an Open API client of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import BinaryIO, Protocol

from bot.config import Settings
from bot.feishu.contacts import Contacts
from bot.feishu.hire import HireGateway
from bot.feishu.messenger import Messenger
from bot.feishu.referral import ReferralGateway
from bot.metrics import Metrics
from bot.records.inbox import Inbox
from bot.records.notices import NoticeBook
from bot.records.referrals import ReferralBook
from bot.records.rewards import RewardBook
from bot.records.store import AccountBook, AuditLog, Welcomes
from bot.records.withdrawals import WithdrawalBook

# Soon enough that the interim answer is read within 30 s of the message, with room for the
# queue and the send.
INTERIM_AFTER = timedelta(seconds=25)


class DigestPoster(Protocol):
    def card_for_chat(self, chat_id: str) -> dict: ...


class Exports(Protocol):
    """The records read as files and lists for people (`bot.ops.exports.RecordExports`)."""

    def write(
        self,
        kind: str,
        zone: str,
        out: BinaryIO,
        *,
        format: str,
        ask: Callable[[str], str | None] | None = None,
    ) -> Written: ...

    def latest_audit(self, account_id: str | None = None, limit: int = 20) -> list[dict]: ...


class Written(Protocol):
    records: int
    rows: int


@dataclass(frozen=True)
class Services:
    settings: Settings
    inbox: Inbox
    accounts: AccountBook
    audit: AuditLog
    gateway: ReferralGateway
    messenger: Messenger
    digest: DigestPoster
    contacts: Contacts
    welcomes: Welcomes
    withdrawals: WithdrawalBook
    notices: NoticeBook
    exports: Exports
    hire: HireGateway
    referrals: ReferralBook
    rewards: RewardBook
    # A command held up by a failing Feishu gets an interim answer this long after its message
    # arrived (handlers/waiting.py); tests shorten it.
    interim_after: timedelta = INTERIM_AFTER
    # How long an approved withdrawal's withdraw is retried while Feishu is in trouble before
    # its outcome is called uncertain: Feishu's own redelivery window (tests shorten it).
    payout_window: timedelta = timedelta(hours=6)
    metrics: Metrics = field(default_factory=Metrics)
    # A referrer's stage changes within this window are one message (tests shorten it).
    referral_window: timedelta = timedelta(minutes=1)
