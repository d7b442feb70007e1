"""The route table: HTTP method and path pattern -> operation name and handler."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import auth, chats, contact, files, hire_apps_api, im, referral, rewards, ws
from .context import Context
from .protocol import Request

Handler = Callable[[Context, Request], dict[str, Any]]

# Feishu Hire's operations: their system error is 1002001, and the failure key "hire" (knobs.py)
# covers them all: the referral accounts, and referral progress and rewards (issue 20).
HIRE_OPERATIONS = frozenset(
    {"create", "enable", "deactivate", "get_account_assets", "withdraw", "reconciliation"}
    | {"referral_get_by_application", "application_get_detail", "application_list"}
    | {"job_process_list", "external_reward_create", "external_reward_delete"}
)
UNAUTHENTICATED = frozenset({"tenant_token", "app_token", "ws_endpoint"})


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    handler: Handler


def _route(method: str, path: str, operation: str, handler: Handler) -> Route:
    regex = re.sub(r":(\w+)", r"(?P<\1>[^/]+)", path)
    return Route(method, re.compile(f"^{regex}$"), operation, handler)


HIRE = "/open-apis/hire/v1/referral_account"
HIRE_V1 = "/open-apis/hire/v1"
CONTACT = "/open-apis/contact/v3/users"
ROUTES: list[Route] = [
    _route(
        "POST", "/open-apis/auth/v3/tenant_access_token/internal", "tenant_token", auth.tenant_token
    ),
    _route("POST", "/open-apis/auth/v3/app_access_token/internal", "app_token", auth.app_token),
    # literal sub-paths before the :referral_account_id patterns
    _route("POST", f"{HIRE}/enable", "enable", referral.enable),
    _route("GET", f"{HIRE}/get_account_assets", "get_account_assets", referral.get_account_assets),
    _route("POST", f"{HIRE}/reconciliation", "reconciliation", referral.reconciliation),
    _route("POST", HIRE, "create", referral.create),
    _route("POST", f"{HIRE}/:referral_account_id/deactivate", "deactivate", referral.deactivate),
    _route("POST", f"{HIRE}/:referral_account_id/withdraw", "withdraw", referral.withdraw),
    # referral progress (hire_apps_api) and external rewards (rewards)
    _route(
        "GET",
        f"{HIRE_V1}/referrals/get_by_application",
        "referral_get_by_application",
        hire_apps_api.referral_get_by_application,
    ),
    _route(
        "GET",
        f"{HIRE_V1}/applications/:application_id/get_detail",
        "application_get_detail",
        hire_apps_api.application_get_detail,
    ),
    _route("GET", f"{HIRE_V1}/applications", "application_list", hire_apps_api.application_list),
    _route("GET", f"{HIRE_V1}/job_processes", "job_process_list", hire_apps_api.job_process_list),
    _route(
        "POST", f"{HIRE_V1}/external_referral_rewards", "external_reward_create", rewards.create
    ),
    _route(
        "DELETE",
        f"{HIRE_V1}/external_referral_rewards/:external_referral_reward_id",
        "external_reward_delete",
        rewards.delete,
    ),
    _route("POST", "/open-apis/im/v1/messages", "message_create", im.message_create),
    _route(
        "POST", "/open-apis/im/v1/messages/:message_id/reply", "message_reply", im.message_reply
    ),
    _route("PATCH", "/open-apis/im/v1/messages/:message_id", "message_patch", im.message_patch),
    _route("POST", "/open-apis/im/v1/files", "file_upload", files.upload),
    _route("POST", "/open-apis/interactive/v1/card/update", "card_update", im.card_update),
    _route("GET", "/open-apis/bot/v3/info", "bot_info", im.bot_info),
    _route("GET", "/open-apis/im/v1/chats/:chat_id", "chat_get", chats.chat_get),
    # long connection: the SDK posts to {domain}/callback/ws/endpoint (no /open-apis prefix)
    _route("POST", "/callback/ws/endpoint", "ws_endpoint", ws.endpoint),
    # literal sub-path before the :user_id pattern
    _route("POST", f"{CONTACT}/batch_get_id", "contact_batch_get_id", contact.batch_get_id),
    _route("GET", f"{CONTACT}/:user_id", "contact_user_get", contact.user_get),
]


def match(method: str, path: str) -> tuple[Route | None, dict[str, str]]:
    for route in ROUTES:
        if route.method != method:
            continue
        m = route.pattern.match(path)
        if m:
            return route, m.groupdict()
    return None, {}
