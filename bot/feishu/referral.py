"""The referral-account operations of Feishu Hire, as typed methods over the SDK."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lark_oapi.api.hire.v1 import Account as SdkAccount
from lark_oapi.api.hire.v1 import (
    BonusAmount,
    CreateReferralAccountRequest,
    CreateReferralAccountRequestBody,
    DeactivateReferralAccountRequest,
    EnableReferralAccountRequest,
    EnableReferralAccountRequestBody,
    GetAccountAssetsReferralAccountRequest,
    Mobile,
    ReconciliationReferralAccountRequest,
    ReconciliationReferralAccountRequestBody,
    TradeDetail,
    WithdrawReferralAccountRequest,
    WithdrawReferralAccountRequestBody,
)

from bot.domain.accounts import Account, AccountStatus, Cash, Referrer
from bot.feishu.openapi import OpenApi, OpenApiError
from bot.feishu.ratelimit import Priority


@dataclass(frozen=True)
class Withdrawn:
    """What Feishu reports of a withdrawal."""

    order_id: str
    trans_time: datetime
    points: int
    cash: tuple[Cash, ...]


@dataclass(frozen=True)
class Mismatch:
    """An account whose withdrawn points differ between Feishu's record and the bot's."""

    account_id: str
    feishu_points: int
    bot_points: int


# The documented error codes of these operations.
SERVER_ERROR = 1002001
BAD_PARAMETER = 1002002
USER_NOT_FOUND = 1002551
USER_NOT_UNIQUE = 1002552
ACCOUNT_NOT_FOUND = 1002553
ACCOUNT_DISABLED = 1002555


class ReferralGateway:
    """create, enable, deactivate, get_account_assets, withdraw and reconciliation; each raises
    `OpenApiError` on failure."""

    def __init__(self, api: OpenApi) -> None:
        self._api = api
        self._hire = api.client.hire.v1.referral_account

    def register_by_email(self, email: str, *, deadline: float | None = None) -> Account:
        body = CreateReferralAccountRequestBody.builder().email(email).build()
        return self._create(body, deadline)

    def register_by_mobile(
        self, code: str, number: str, *, deadline: float | None = None
    ) -> Account:
        mobile = Mobile.builder().code(code).number(number).build()
        body = CreateReferralAccountRequestBody.builder().mobile(mobile).build()
        return self._create(body, deadline)

    def enable(self, account_id: str, *, deadline: float | None = None) -> Account:
        body = EnableReferralAccountRequestBody.builder().referral_account_id(account_id).build()
        request = EnableReferralAccountRequest.builder().request_body(body).build()
        response = self._api.call(
            "enable", lambda: self._hire.enable(request), idempotent=True, deadline=deadline
        )
        return _account(response, "enable")

    def deactivate(self, account_id: str, *, deadline: float | None = None) -> Account:
        request = DeactivateReferralAccountRequest.builder().referral_account_id(account_id).build()
        response = self._api.call(
            "deactivate",
            lambda: self._hire.deactivate(request),
            idempotent=True,
            deadline=deadline,
        )
        return _account(response, "deactivate")

    def get_assets(
        self,
        account_id: str,
        *,
        priority: Priority = Priority.INTERACTIVE,
        deadline: float | None = None,
    ) -> Account:
        request = (
            GetAccountAssetsReferralAccountRequest.builder()
            .referral_account_id(account_id)
            .user_id_type("open_id")
            .build()
        )
        response = self._api.call(
            "get_account_assets",
            lambda: self._hire.get_account_assets(request),
            idempotent=True,
            priority=priority,
            deadline=deadline,
        )
        return _account(response, "get_account_assets")

    def withdraw(self, account_id: str, bonus_types: list[int], order_id: str) -> Withdrawn:
        """Withdraw the balance (1 points, 2 cash). Idempotent by `order_id`: Feishu answers a
        repeated id with the original withdrawal, so retries are safe."""
        body = (
            WithdrawReferralAccountRequestBody.builder()
            .withdraw_bonus_type(bonus_types)
            .external_order_id(order_id)
            .build()
        )
        request = (
            WithdrawReferralAccountRequest.builder()
            .referral_account_id(account_id)
            .request_body(body)
            .build()
        )
        response = self._api.call("withdraw", lambda: self._hire.withdraw(request), idempotent=True)
        data = response.data
        trans_time = _ms_time(data.trans_time if data else None)
        if data is None or trans_time is None:
            # Feishu said yes but not when: it may well have paid out. Not an error in plain
            # words, and not to be retried blindly: the outcome is uncertain.
            raise OpenApiError(
                "withdraw",
                None,
                f"the answer carried no valid trans_time ({data.trans_time if data else None!r})",
                log_id=response.get_log_id(),
                transient=False,
                may_have_acted=True,
            )
        details = data.withdrawal_details
        return Withdrawn(
            order_id=data.external_order_id or order_id,
            trans_time=trans_time,
            points=(details.point_bonus if details else None) or 0,
            cash=tuple(
                Cash(c.currency_type or "?", c.amount or 0)
                for c in ((details.cash_bonus if details else None) or [])
            ),
        )

    def reconcile(self, start: datetime, end: datetime, points: dict[str, int]) -> list[Mismatch]:
        """Send the points withdrawn per account in [start, end]; Feishu answers only the
        accounts whose record differs."""
        details = [
            TradeDetail.builder()
            .account_id(account_id)
            .total_recharge_reward_info(BonusAmount.builder().point_bonus(total).build())
            .build()
            for account_id, total in points.items()
        ]
        body = (
            ReconciliationReferralAccountRequestBody.builder()
            .start_trans_time(str(int(start.timestamp() * 1000)))
            .end_trans_time(str(int(end.timestamp() * 1000)))
            .trade_details(details)
            .build()
        )
        request = ReconciliationReferralAccountRequest.builder().request_body(body).build()
        response = self._api.call(
            "reconciliation", lambda: self._hire.reconciliation(request), idempotent=True
        )
        failed = (response.data.check_failed_list if response.data else None) or []
        return [
            Mismatch(
                account_id=item.account_id or "",
                feishu_points=(
                    item.total_withdraw_reward_info.point_bonus or 0
                    if item.total_withdraw_reward_info
                    else 0
                ),
                bot_points=(
                    item.total_recharge_reward_info.point_bonus or 0
                    if item.total_recharge_reward_info
                    else 0
                ),
            )
            for item in failed
        ]

    def _create(self, body: CreateReferralAccountRequestBody, deadline: float | None) -> Account:
        request = CreateReferralAccountRequest.builder().request_body(body).build()
        # Not idempotent as far as the docs promise: a 5xx or a timeout may have created it.
        response = self._api.call(
            "create", lambda: self._hire.create(request), idempotent=False, deadline=deadline
        )
        return _account(response, "create")


def _ms_time(value: str | None) -> datetime | None:
    """A millisecond timestamp sent as a string; None when absent or not one."""
    try:
        return datetime.fromtimestamp(int(value or "") / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return None


# What each operation leaves the account as, should its answer omit the status.
RESULT_STATUS = {
    "create": AccountStatus.ENABLED,  # "注册后默认是可用状态"
    "enable": AccountStatus.ENABLED,
    "deactivate": AccountStatus.DISABLED,
}


def _account(response, operation: str) -> Account:
    data = response.data
    sdk: SdkAccount | None = data.account if data is not None else None
    try:
        if sdk is None or not sdk.account_id:
            raise ValueError("no account in the answer")
        return from_sdk(sdk, RESULT_STATUS.get(operation))
    except ValueError as exc:
        raise OpenApiError(operation, None, str(exc), log_id=response.get_log_id()) from None


def from_sdk(sdk: SdkAccount, default_status: AccountStatus | None = None) -> Account:
    """The SDK's account model as our plain `Account`; ValueError on a status we don't know."""
    bonus = sdk.assets.confirmed_bonus if sdk.assets is not None else None
    cash = tuple(
        Cash(c.currency_type or "?", c.amount or 0)
        for c in ((bonus.cash_bonus if bonus else None) or [])
    )
    referrer = None
    if sdk.referrer is not None:
        name = sdk.referrer.name
        referrer = Referrer(
            id=sdk.referrer.id,
            name_zh=name.zh_cn if name else None,
            name_en=name.en_us if name else None,
            email=sdk.referrer.email,
            mobile=sdk.referrer.mobile,
        )
    status = AccountStatus(sdk.status if sdk.status is not None else default_status)
    return Account(
        account_id=sdk.account_id,
        status=status,
        points=(bonus.point_bonus if bonus else None) or 0,
        cash=cash,
        referrer=referrer,
    )
