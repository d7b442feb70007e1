"""Contact v3: get one user, and look up user ids by email or mobile (batch_get_id).

Shapes follow the API pages and lark-oapi's contact/v3 models (`User`, `UserContactInfo`).
Field scopes and the contact range apply as Feishu documents them (see scopes.py)."""

from __future__ import annotations

from typing import Any

from . import scopes
from .context import Context
from .protocol import (
    CONTACT_NO_USER_AUTHORITY,
    CONTACT_USER_ID_INVALID,
    ApiError,
    Request,
    contact_param_error,
)
from .state import USER_ID_TYPES, Employee

BATCH_LIMIT = 50
DEPARTMENT_ID_TYPES = ("department_id", "open_department_id")


def _success(data: dict[str, Any]) -> dict[str, Any]:
    return {"code": 0, "msg": "success", "data": data}


def mobile_text(emp: Employee) -> str | None:
    """The mobile as Feishu shows it: "+<code><number>", e.g. "+8618900001111"."""
    if emp.mobile is None:
        return None
    code, number = emp.mobile
    return f"+{code}{number}"


def status_json(emp: Employee) -> dict[str, bool]:
    return {
        "is_frozen": False,
        "is_resigned": emp.resigned,
        "is_activated": not emp.resigned,
        "is_exited": False,
        "is_unjoin": False,
    }


def user_json(emp: Employee) -> dict[str, Any]:
    """The whole user, before field scopes are applied (see `visible_user`)."""
    out: dict[str, Any] = {
        "union_id": emp.union_id,
        "user_id": emp.user_id,
        "open_id": emp.open_id,
        "name": emp.name_zh,
        "en_name": emp.name_en,
    }
    if emp.email:
        out["email"] = emp.email
    if emp.enterprise_email:
        out["enterprise_email"] = emp.enterprise_email
    mobile = mobile_text(emp)
    if mobile:
        out["mobile"] = mobile
        out["mobile_visible"] = True
    out["status"] = status_json(emp)
    out["department_ids"] = list(emp.department_ids)
    return out


def visible_user(emp: Employee, granted: frozenset[str]) -> dict[str, Any]:
    """The user as an app with `granted` scopes sees it."""
    return scopes.visible(user_json(emp), scopes.USER_FIELD_SCOPES, granted)


def _id_type(req: Request) -> str:
    value = req.query.get("user_id_type", "open_id") or "open_id"
    if value not in USER_ID_TYPES:
        raise contact_param_error(f"user_id_type must be one of {', '.join(USER_ID_TYPES)}")
    return value


def user_get(ctx: Context, req: Request) -> dict[str, Any]:
    id_type = _id_type(req)
    dept_type = req.query.get("department_id_type")
    if dept_type is not None and dept_type not in DEPARTMENT_ID_TYPES:
        raise contact_param_error(
            f"department_id_type must be one of {', '.join(DEPARTMENT_ID_TYPES)}"
        )
    user_id = req.params.get("user_id", "")
    with ctx.state.lock:
        emp = ctx.state.employee_by(id_type, user_id) if user_id else None
        if emp is None:
            raise ApiError(400, CONTACT_USER_ID_INVALID, "user id invalid error")
        if not ctx.in_contact_range(emp):
            raise ApiError(400, CONTACT_NO_USER_AUTHORITY, "no user authority error")
        return _success({"user": visible_user(emp, ctx.scopes)})


def _strings(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise contact_param_error(f"{name} must be a list of strings")
    if len(value) > BATCH_LIMIT:
        raise contact_param_error(f"{name} holds at most {BATCH_LIMIT} entries")
    return value


def _mobile_matches(emp: Employee, wanted: str) -> bool:
    """A mainland number may come bare ("189..."); others need "+<code>" in front."""
    if emp.mobile is None:
        return False
    code, number = emp.mobile
    wanted = wanted.strip().replace(" ", "").replace("-", "")
    if wanted.startswith("+"):
        return wanted == f"+{code}{number}"
    return code == "86" and wanted == number


def batch_get_id(ctx: Context, req: Request) -> dict[str, Any]:
    """One entry per email, then one per mobile, in request order; an unknown one (or one
    outside the contact range, or resigned unless include_resigned) has no user_id."""
    id_type = _id_type(req)
    body = req.json()
    emails = _strings(body, "emails")
    mobiles = _strings(body, "mobiles")
    include_resigned = body.get("include_resigned", False)
    if not isinstance(include_resigned, bool):
        raise contact_param_error("include_resigned must be a boolean")
    with ctx.state.lock:
        candidates = [
            emp
            for emp in ctx.state.employees
            if ctx.in_contact_range(emp) and (include_resigned or not emp.resigned)
        ]
        found: list[dict[str, Any]] = []
        for key, values, matches in (
            ("email", emails, Employee.has_email),
            ("mobile", mobiles, _mobile_matches),
        ):
            for value in values:
                entry: dict[str, Any] = {key: value}
                emp = next((e for e in candidates if matches(e, value)), None)
                if emp is not None:
                    entry["user_id"] = emp.ident(id_type)
                    entry["status"] = status_json(emp)
                found.append(entry)
    return _success({"user_list": found})
