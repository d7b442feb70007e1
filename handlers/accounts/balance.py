"""Feishu's balance events (`hire.referral_account.assets_update_v1`): the records' balance kept
current, in Feishu's order. The records tell the change as they take it (`AccountBook`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from lark_oapi.api.hire.v1 import Account as SdkAccount
from lark_oapi.api.hire.v1 import P2HireReferralAccountAssetsUpdateV1

from bot.domain.accounts import AccountStatus
from bot.feishu.referral import from_sdk
from handlers.errors import GiveUp
from handlers.registry import event
from handlers.services import Services

log = logging.getLogger(__name__)


@event("hire.referral_account.assets_update_v1", P2HireReferralAccountAssetsUpdateV1)
def assets_updated(
    services: Services, event_id: str, data: P2HireReferralAccountAssetsUpdateV1
) -> None:
    """An event older than what the records hold (a late redelivery, or a read since, which told
    the change) changes nothing. An account the bot has not met is adopted as Feishu holds it
    now (status included), which is newer than this event, and its balance told as news."""
    update = data.event
    if update is None or not update.account_id:
        raise GiveUp("balance event without an account id")
    sdk_account = SdkAccount({"account_id": update.account_id})
    sdk_account.assets = update.assets
    balance = from_sdk(sdk_account, AccountStatus.ENABLED)
    known = services.accounts.get(update.account_id)
    if known is None or known.account is None:
        account = services.gateway.get_assets(update.account_id)
        services.accounts.remember(account, announced=True)
        return
    as_of = _modify_time(update.modify_time)
    if not services.accounts.apply_balance(balance.account_id, balance.points, balance.cash, as_of):
        log.info("balance event %s for %s is older than the records", event_id, update.account_id)


def _modify_time(value: str | None) -> datetime:
    try:
        return datetime.fromtimestamp(int(value or "") / 1000, UTC)
    except ValueError:
        raise GiveUp(f"balance event with a bad modify_time {value!r}") from None
