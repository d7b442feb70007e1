"""Access tokens: the two self-built-app token endpoints and the bearer check."""

from __future__ import annotations

import secrets
import time
from typing import Any

from .context import Context
from .protocol import (
    APP_SECRET_INVALID,
    INVALID_ACCESS_TOKEN,
    MISSING_ACCESS_TOKEN,
    ApiError,
    Request,
)

TOKEN_TTL = 7200


def _issue(ctx: Context, prefix: str) -> str:
    token = f"{prefix}-{secrets.token_hex(16)}"
    with ctx.state.lock:
        ctx.state.tokens[token] = time.time() + TOKEN_TTL
    return token


def _check_secret(ctx: Context, req: Request) -> None:
    body = req.json()
    if body.get("app_id") != ctx.app_id or body.get("app_secret") != ctx.app_secret:
        raise ApiError(400, APP_SECRET_INVALID, "app secret invalid")


def tenant_token(ctx: Context, req: Request) -> dict[str, Any]:
    _check_secret(ctx, req)
    return {
        "code": 0,
        "msg": "ok",
        "tenant_access_token": _issue(ctx, "t"),
        "expire": TOKEN_TTL,
    }


def app_token(ctx: Context, req: Request) -> dict[str, Any]:
    _check_secret(ctx, req)
    return {
        "code": 0,
        "msg": "ok",
        "app_access_token": _issue(ctx, "a"),
        "tenant_access_token": _issue(ctx, "t"),
        "expire": TOKEN_TTL,
    }


def check_bearer(ctx: Context, headers: dict[str, str]) -> str:
    """The request's valid token, or the error Feishu answers (HTTP 400)."""
    value = ""
    for name, val in headers.items():
        if name.lower() == "authorization":
            value = val.strip()
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            400,
            MISSING_ACCESS_TOKEN,
            "Missing access token for authorization. Please make a request with token attached.",
        )
    with ctx.state.lock:
        expiry = ctx.state.tokens.get(token)
    if expiry is None or expiry < time.time():
        raise ApiError(
            400,
            INVALID_ACCESS_TOKEN,
            "Invalid access token for authorization. Please make a request with token attached.",
        )
    return token


def expire_all(ctx: Context) -> None:
    with ctx.state.lock:
        ctx.state.tokens.clear()
