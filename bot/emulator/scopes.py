"""The app's granted scopes and what they gate, in one place.

Two kinds of effect, as Feishu documents them:
- API scopes: an operation needs one of its scopes, else 99991672 (HTTP 400).
- Field scopes: a sensitive field is silently left out of an answer (or an event) unless its
  scope is granted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .protocol import scope_missing

# What the referral bot needs (im:chat:readonly: the doctor reads its chats), plus the user-ID
# field scope so answers carry `user_id`.
DEFAULT_SCOPES: frozenset[str] = frozenset(
    {
        "hire:referral_account",
        "hire:referral_account:readonly",
        "hire:employee.email:readonly",
        "hire:employee.mobile:readonly",
        "im:message",
        "im:message:send_as_bot",
        "im:resource",
        "im:chat:readonly",
        "contact:contact.base:readonly",
        "contact:user.base:readonly",
        "contact:user.email:readonly",
        "contact:user.phone:readonly",
        "contact:user.id:readonly",
        "contact:user.employee_id:readonly",
        # referral progress and rewards (hire_apps_api.py, rewards.py)
        "hire:application:readonly",
        "hire:referral:readonly",
        "hire:job:readonly",
        "hire:talent:readonly",
        "hire:job_process:readonly",
        "hire:external_referral_reward",
    }
)

_HIRE_WRITE = ("hire:referral_account",)
_IM_SEND = ("im:message", "im:message:send_as_bot")
_CONTACT_READ = (
    "contact:contact.base:readonly",
    "contact:contact:readonly_as_app",
    "contact:contact:readonly",
    "contact:contact:access_as_app",
)

# operation -> the scopes of which the app needs one. Operations not listed need none.
OPERATION_SCOPES: dict[str, tuple[str, ...]] = {
    "create": _HIRE_WRITE,
    "enable": _HIRE_WRITE,
    "deactivate": _HIRE_WRITE,
    "withdraw": _HIRE_WRITE,
    "reconciliation": _HIRE_WRITE,
    "get_account_assets": ("hire:referral_account", "hire:referral_account:readonly"),
    "message_create": _IM_SEND,
    "message_reply": _IM_SEND,
    "message_patch": (*_IM_SEND, "im:message:update"),
    "chat_get": ("im:chat", "im:chat:readonly"),
    "contact_user_get": _CONTACT_READ,
    "contact_batch_get_id": ("contact:user.id:readonly",),
    "referral_get_by_application": ("hire:referral:readonly", "hire:referral"),
    "application_get_detail": ("hire:application:readonly", "hire:application"),
    "application_list": ("hire:application:readonly", "hire:application"),
    "job_process_list": ("hire:job_process:readonly",),
    "external_reward_create": ("hire:external_referral_reward",),
    "external_reward_delete": ("hire:external_referral_reward",),
}

# get_detail's `options` -> the scopes (any one) without which that sub-object is left out.
APPLICATION_DETAIL_SCOPES: dict[str, tuple[str, ...]] = {
    "with_job": ("hire:job:readonly", "hire:job"),
    "with_talent": ("hire:talent:readonly", "hire:talent"),
    "with_referral": ("hire:referral:readonly", "hire:referral"),
}

# Who receives hire.application.stage_changed_v1 (the event's subscription scope).
STAGE_CHANGED_SCOPES: tuple[str, ...] = ("hire:application:readonly", "hire:application")

# A contact user (contact v3 answers and contact events): field -> its field scope.
USER_FIELD_SCOPES: dict[str, str] = {
    "name": "contact:user.base:readonly",
    "en_name": "contact:user.base:readonly",
    "email": "contact:user.email:readonly",
    "enterprise_email": "contact:user.email:readonly",
    "mobile": "contact:user.phone:readonly",
    "user_id": "contact:user.employee_id:readonly",
}

# get_account_assets' `referrer`: field -> its field scope.
REFERRER_FIELD_SCOPES: dict[str, str] = {
    "email": "hire:employee.email:readonly",
    "mobile": "hire:employee.mobile:readonly",
}

# A user-id triple {open_id, union_id, user_id} in an event (operator, sender, ...).
USER_ID_FIELD_SCOPES: dict[str, str] = {"user_id": "contact:user.employee_id:readonly"}

# The bot menu event's `operator.operator_name`.
MENU_OPERATOR_NAME_SCOPE = "application:application.bot.operator_name:readonly"


def normalize(scopes: Iterable[str]) -> frozenset[str]:
    out = frozenset(scopes)
    for scope in out:
        if not isinstance(scope, str) or not scope:
            raise ValueError(f"a scope is a non-empty string, not {scope!r}")
    return out


def check_operation(app_id: str, granted: frozenset[str], operation: str) -> None:
    """Raise 99991672 when the operation needs a scope the app was not granted."""
    needed = OPERATION_SCOPES.get(operation)
    if needed and not granted.intersection(needed):
        raise scope_missing(app_id, needed)


def visible(
    obj: dict[str, Any], field_scopes: Mapping[str, str], granted: frozenset[str]
) -> dict[str, Any]:
    """A copy of `obj` without the fields whose field scope is not granted."""
    return {
        key: value
        for key, value in obj.items()
        if key not in field_scopes or field_scopes[key] in granted
    }
