"""Wire-level vocabulary shared by the emulator's handlers: requests, errors, error codes.

Codes marked "documented" come from Feishu's API pages (see /work/shared/seeds and the Open
Platform docs). Codes marked "emulator choice" are plausible stand-ins where the exact Feishu code
could not be confirmed; they are kept here so tests and the bot can refer to one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# --- platform-wide (documented) -------------------------------------------------------------
OK = 0
APP_SECRET_INVALID = 10014  # tenant/app token endpoints, wrong app_id or app_secret
MISSING_ACCESS_TOKEN = 99991661
INVALID_ACCESS_TOKEN = 99991663
FREQUENCY_LIMIT = 99991400
BAD_REQUEST = 9499  # body is not JSON
INTERNAL_ERROR = 1500  # generic internal error (non-hire APIs)
NOT_FOUND = 404
APP_SCOPE_MISSING = 99991672  # the app lacks the API's scope (HTTP 400, with permission_violations)

# --- hire referral accounts (documented on the API pages) -----------------------------------
HIRE_SYSTEM_ERROR = 1002001
HIRE_PARAM_ERROR = 1002002
HIRE_USER_NOT_FOUND = 1002551
HIRE_NO_UNIQUE_USER = 1002552
HIRE_ACCOUNT_NOT_FOUND = 1002553
HIRE_ACCOUNT_DISABLED = 1002555  # withdraw from a disabled account (HTTP 400)

# --- IM (documented: 230001 invalid param, 230020 chat rate limit, 230025 content too long) --
IM_INVALID_PARAM = 230001
IM_RATE_LIMIT = 230020
IM_CONTENT_TOO_LONG = 230025
CARD_V2_TO_V1 = 200830  # a JSON 2.0 card cannot become a 1.0 card (issue threads)
IM_MESSAGE_RECALLED = 230011  # the message was recalled (emulator choice of code and wording)

# --- contact v3 (documented on the user pages: "no user authority error" etc.) ------------
CONTACT_PARAM_ERROR = 40001  # invalid parameter
CONTACT_USER_ID_INVALID = 41012  # user id invalid (no such user for that id type)
CONTACT_NO_USER_AUTHORITY = 41050  # the user is outside the app's contact range

# --- delayed card update (emulator choice: exact Feishu codes not confirmed) ----------------
CARD_TOKEN_INVALID = 200740  # unknown or expired callback token
CARD_TOKEN_USED_UP = 200741  # the token was already used twice

MSG_PARAM_ERROR = "参数错误 invalid parameter"
MSG_SYSTEM_ERROR = "系统错误 system error"
MSG_FREQUENCY_LIMIT = "request trigger frequency limit"
MSG_ACCOUNT_NOT_FOUND = "账户不存在 referral account does not exist"
MSG_ACCOUNT_DISABLED = "账户已停用 referral account is disabled"


class ApiError(Exception):
    """Raised by a handler to answer with an error body."""

    def __init__(
        self,
        http_status: int,
        code: int,
        msg: str,
        headers: dict[str, str] | None = None,
        *,
        error: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{http_status} {code} {msg}")
        self.http_status = http_status
        self.code = code
        self.msg = msg
        self.headers = dict(headers or {})
        self.error = error  # Feishu's optional `error` object (e.g. permission_violations)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "msg": self.msg}
        if self.error is not None:
            out["error"] = self.error
        return out


def param_error(detail: str) -> ApiError:
    """Hire APIs' 1002002 with a hint of what was wrong."""
    return ApiError(400, HIRE_PARAM_ERROR, f"{MSG_PARAM_ERROR}: {detail}")


def im_param_error(detail: str) -> ApiError:
    """IM APIs' 230001, formatted like Feishu's `ext=` messages."""
    return ApiError(
        400,
        IM_INVALID_PARAM,
        f"Your request contains an invalid request parameter, ext={detail}",
    )


def contact_param_error(detail: str) -> ApiError:
    """Contact APIs' 40001."""
    return ApiError(400, CONTACT_PARAM_ERROR, f"invalid parameter: {detail}")


def scope_missing(app_id: str, scopes: tuple[str, ...]) -> ApiError:
    """99991672: none of the scopes the API accepts is granted to the app (Feishu's wording)."""
    listed = ", ".join(scopes)
    query = ",".join(scopes)
    msg = (
        f"Access denied. One of the following scopes is required: [{listed}]."
        f"应用尚未开通所需的应用身份权限：[{listed}]，点击链接申请并开通任一权限即可："
        f"https://open.feishu.cn/app/{app_id}/auth?q={query}&op_from=openapi&token_type=tenant"
    )
    violations = [{"type": "action_scope_required", "subject": s} for s in scopes]
    return ApiError(400, APP_SCOPE_MISSING, msg, error={"permission_violations": violations})


def rate_limited(code: int, msg: str, limit: int, reset_seconds: int) -> ApiError:
    """HTTP 429 with the x-ogw headers Feishu's gateway sends."""
    return ApiError(
        429,
        code,
        msg,
        {
            "x-ogw-ratelimit-limit": str(limit),
            "x-ogw-ratelimit-reset": str(max(1, int(reset_seconds))),
        },
    )


@dataclass
class Request:
    """One parsed HTTP request, as handed to an operation handler."""

    operation: str
    method: str
    path: str
    params: dict[str, str]  # path parameters, e.g. referral_account_id
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any] | None
    token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        return self.body if self.body is not None else {}
