"""The recruiting operations of Feishu Hire the bot follows referrals and rewards hires with, as
typed methods over the SDK: the referral of an application, the application's detail, the list
of applications updated in a window, and the import of an external referral reward. Each raises
`OpenApiError` on failure; each goes through the shared limiter at its documented rate
(`bot.feishu.openapi.OPERATION_LIMITS`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from lark_oapi.api.hire.v1 import (
    BonusAmount,
    Cash,
    CreateExternalReferralRewardRequest,
    ExternalReward,
    GetByApplicationReferralRequest,
    GetDetailApplicationRequest,
    ListApplicationRequest,
)

from bot.domain.referrals import Application, ReferralOf, Stage
from bot.domain.rewards import CONFIRMED, Amount
from bot.feishu.openapi import OpenApi, OpenApiError
from bot.feishu.ratelimit import Priority

# get_by_application and get_detail: the application does not exist.
APPLICATION_NOT_FOUND = 1002201
# The docs do not say what get_by_application answers for an application that came in some
# other way: an answer without `referral`, and a not-found code, both mean "no referral".
NO_REFERRAL_CODES = frozenset({APPLICATION_NOT_FOUND})
DETAIL_OPTIONS = ["with_job", "with_talent"]


@dataclass(frozen=True)
class Page:
    application_ids: list[str]
    page_token: str | None


class HireGateway:
    def __init__(self, api: OpenApi) -> None:
        self._api = api
        self._hire = api.client.hire.v1

    def referral_of(
        self, application_id: str, *, priority: Priority = Priority.INTERACTIVE
    ) -> ReferralOf | None:
        """Who referred the application; None when nobody did (or Feishu knows no such
        application)."""
        request = (
            GetByApplicationReferralRequest.builder()
            .application_id(application_id)
            .user_id_type("open_id")
            .build()
        )
        try:
            response = self._api.call(
                "referral_get_by_application",
                lambda: self._hire.referral.get_by_application(request),
                idempotent=True,
                priority=priority,
            )
        except OpenApiError as exc:
            if exc.code in NO_REFERRAL_CODES:
                return None
            raise
        referral = response.data.referral if response.data else None
        if referral is None or not referral.referral_user_id:
            return None
        user = referral.referral_user
        name = user.name if user else None
        return ReferralOf(
            referral_id=referral.id or "",
            application_id=referral.application_id or application_id,
            referrer_open_id=referral.referral_user_id,
            referrer_name_zh=name.zh_cn if name else None,
            referrer_name_en=name.en_us if name else None,
        )

    def application(
        self, application_id: str, *, priority: Priority = Priority.INTERACTIVE
    ) -> Application:
        """The application with its job, its talent and its stage (one call)."""
        request = (
            GetDetailApplicationRequest.builder()
            .application_id(application_id)
            .options(list(DETAIL_OPTIONS))
            .build()
        )
        response = self._api.call(
            "application_get_detail",
            lambda: self._hire.application.get_detail(request),
            idempotent=True,
            priority=priority,
        )
        detail = response.data.application_detail if response.data else None
        basic = detail.basic_info if detail else None
        stage = basic.stage if basic else None
        if basic is None or stage is None or not stage.id:
            raise OpenApiError(
                "application_get_detail",
                None,
                "the answer carried no stage",
                log_id=response.get_log_id(),
                transient=False,
                may_have_acted=False,
            )
        return Application(
            application_id=basic.id or application_id,
            job_id=basic.job_id,
            job_name=detail.job.name if detail.job else None,
            talent_id=basic.talent_id,
            talent_name=detail.talent.name if detail.talent else None,
            stage=Stage(stage.id, stage.zh_name or "", stage.en_name or "", stage.type or 0),
            active=basic.active_status != 2,
            updated_ms=_int(basic.modify_time),
        )

    def applications_updated(
        self, start: datetime, end: datetime, *, page_size: int = 100
    ) -> Iterator[Page]:
        """The applications updated in [start, end], a page at a time."""
        token: str | None = None
        while True:
            builder = (
                ListApplicationRequest.builder()
                .update_start_time(_ms(start))
                .update_end_time(_ms(end))
                .page_size(page_size)
            )
            if token:
                builder = builder.page_token(token)
            request = builder.build()
            response = self._api.call(
                "application_list",
                lambda request=request: self._hire.application.list(request),
                idempotent=True,
                priority=Priority.BACKGROUND,
            )
            data = response.data
            token = data.page_token if data and data.has_more else None
            yield Page(list((data.items if data else None) or []), token)
            if not token:
                return

    def import_reward(
        self,
        *,
        external_id: str,
        referrer_open_id: str,
        amount: Amount,
        reason: str,
        rule_type: int,
        application_id: str | None = None,
        job_id: str | None = None,
    ) -> str:
        """Import a confirmed reward for the referrer; Feishu's id of it. Idempotent by
        `external_id` ("only for idempotency"): every retry of one reward sends the same id.
        The body follows the API's page (`bonus_type`, `point_bonus`, `cash`), not the SDK's
        older `cash_bonus` list."""
        if amount.is_points:
            bonus = BonusAmount.builder().bonus_type(1).point_bonus(amount.points).build()
        else:
            cash = Cash.builder().currency_type(amount.unit).amount(float(amount.value)).build()
            bonus = BonusAmount.builder().bonus_type(2).cash(cash).build()
        builder = (
            ExternalReward.builder()
            .referral_user_id(referrer_open_id)
            .external_id(external_id)
            .rule_type(rule_type)
            .stage(CONFIRMED)
            .bonus(bonus)
            .reason(reason)
        )
        if application_id:
            builder = builder.application_id(application_id)
        if job_id:
            builder = builder.job_id(job_id)
        request = (
            CreateExternalReferralRewardRequest.builder()
            .user_id_type("open_id")
            .request_body(builder.build())
            .build()
        )
        response = self._api.call(
            "external_reward_create",
            lambda: self._hire.external_referral_reward.create(request),
            idempotent=True,
        )
        reward_id = response.data.id if response.data else None
        if not reward_id:
            raise OpenApiError(
                "external_reward_create",
                None,
                "the answer carried no reward id",
                log_id=response.get_log_id(),
                transient=False,
                may_have_acted=True,
            )
        return reward_id

    def probe_reward_scope(self) -> None:
        """An import Feishu must refuse for its body (no referrer): answers 99991672 without
        the scope, a parameter error with it; nothing is imported either way (doctor)."""
        body = ExternalReward.builder().external_id("doctor-probe").build()
        request = (
            CreateExternalReferralRewardRequest.builder()
            .user_id_type("open_id")
            .request_body(body)
            .build()
        )
        self._api.call(
            "external_reward_create",
            lambda: self._hire.external_referral_reward.create(request),
            idempotent=False,
        )


def _int(value: object) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


def from_ms(value: int | str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value or 0) / 1000, UTC) if value else None
    except (ValueError, OverflowError, OSError):
        return None
