"""Whether the app's credentials get a tenant token, and whether the app's bot is enabled."""

from __future__ import annotations

import json

from lark_oapi.api.auth.v3 import (
    InternalTenantAccessTokenRequest,
    InternalTenantAccessTokenRequestBody,
)
from lark_oapi.core.enum import AccessTokenType, HttpMethod
from lark_oapi.core.model import BaseRequest

from bot.config import Settings
from bot.feishu.openapi import OpenApi, OpenApiError
from bot.ops.doctor.report import Check, refusal

BOT_ACTIVATED = 2  # bot/v3/info's activate_status: enabled in the tenant


def check_credentials(api: OpenApi, settings: Settings) -> Check:
    body = (
        InternalTenantAccessTokenRequestBody.builder()
        .app_id(settings.app_id)
        .app_secret(settings.app_secret)
        .build()
    )
    request = InternalTenantAccessTokenRequest.builder().request_body(body).build()
    tenant_token = api.client.auth.v3.tenant_access_token
    try:
        api.call("tenant_token", lambda: tenant_token.internal(request), idempotent=True)
    except OpenApiError as err:
        skipped = "; the checks that call Feishu were skipped"
        if err.code is None:
            return Check(
                "credentials",
                False,
                f"no answer from {settings.domain} ({err.msg}): check LARK_DOMAIN and the network"
                + skipped,
            )
        if 10000 <= err.code < 11000:  # 10003 bad app_id, 10014 bad secret, ...
            return Check(
                "credentials",
                False,
                f"LARK_APP_ID / LARK_APP_SECRET are wrong (code {err.code}: {err.msg}): "
                "copy both from Credentials & Basic Info" + skipped,
            )
        return Check("credentials", False, refusal(err) + skipped)
    return Check("credentials", True, "tenant token obtained")


def check_bot(api: OpenApi) -> Check:
    request = (
        BaseRequest.builder()
        .http_method(HttpMethod.GET)
        .uri("/open-apis/bot/v3/info")
        .token_types({AccessTokenType.TENANT})
        .build()
    )
    try:
        response = api.call("bot_info", lambda: api.client.request(request), idempotent=True)
    except OpenApiError as err:
        return Check(
            "bot",
            False,
            f"{refusal(err)}: add the Bot capability (Features → Bot), then publish a version",
        )
    bot = json.loads(response.raw.content or b"{}").get("bot") or {}
    name = bot.get("app_name") or "(no name)"
    status = bot.get("activate_status")
    if status is not None and status != BOT_ACTIVATED:
        return Check(
            "bot",
            False,
            f"{name} is not enabled in the tenant (activate_status {status}): publish a version "
            "and have the tenant admin approve it",
        )
    return Check("bot", True, f"{name} (open_id {bot.get('open_id', '?')})")
