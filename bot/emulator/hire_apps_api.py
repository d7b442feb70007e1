"""Feishu Hire's read APIs over applications (the tenant state is in `hire_apps.py`):

- `GET /open-apis/hire/v1/referrals/get_by_application` (referral_get_by_application; 50/s;
  hire:referral:readonly or hire:referral): `data.referral {id, application_id, create_time
  (int ms), referral_user_id, referral_user {id, name {zh_cn, en_us}}}`, the ids per
  user_id_type. The docs do not say what an application without a referral answers, nor an
  unknown application_id; the emulator answers both alike, per the book's `referral_absent`:
  "empty" (default: code 0, `data: {}`) or "not_found" (HTTP 400, 1002201, the code Hire uses
  for an application that does not exist).
- `GET /open-apis/hire/v1/applications/:application_id/get_detail` (application_get_detail;
  10/s; hire:application:readonly or hire:application): `data.application_detail {basic_info,
  job, talent, referral}`; repeatable `options` (with_job, with_talent, with_referral, ...;
  others documented but not modelled add nothing; an undocumented one is 1002002). Each
  sub-object needs its own field scope (scopes.APPLICATION_DETAIL_SCOPES), else it is silently
  left out. 1002201 for an unknown application.
- `GET /open-apis/hire/v1/applications` (application_list; 1000/min and 50/s, the 50/s
  modelled; hire:application:readonly or hire:application): `data {items: [application ids],
  page_token, has_more}` (ids only, as the SDK's ListApplicationResponseBody), oldest first;
  filters process_id, stage_id, talent_id, job_id, active_status ("1", "2", "3" = all, the
  default), update_start_time / update_end_time (ms, both inclusive); page_size 1..200
  (default 10: an emulator choice, the page gives none).
- `GET /open-apis/hire/v1/job_processes` (job_process_list; 20/s; hire:job_process:readonly):
  `data {items: [{id, zh_name, en_name, type, stage_list [{id, zh_name, en_name, type}]}],
  page_token, has_more}`; page_size 1..100, default 10.
Malformed parameters answer 1002002 (HTTP 400).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from typing import Any

from . import scopes
from .context import Context
from .hire_apps import HireBook, Referral, book
from .protocol import ApiError, Request, param_error
from .state import USER_ID_TYPES, State

APPLICATION_NOT_FOUND = 1002201  # documented: "Application not exist" (投递不存在)
MSG_APPLICATION_NOT_FOUND = "投递不存在 application does not exist"
DETAIL_OPTIONS = (
    "with_job",
    "with_talent",
    "with_interview",
    "with_offer",
    "with_evaluation",
    "with_employee",
    "with_agency",
    "with_referral",
    "with_portal",
)
MS_RE = re.compile(r"^\d{1,19}$")


def _success(data: dict[str, Any]) -> dict[str, Any]:
    return {"code": 0, "msg": "success", "data": data}


def _not_found() -> ApiError:
    return ApiError(400, APPLICATION_NOT_FOUND, MSG_APPLICATION_NOT_FOUND)


def _user_id_type(req: Request) -> str:
    value = req.query.get("user_id_type") or "open_id"
    if value == "people_admin_id":  # in get_detail's enum; the emulator has no such ids
        return "user_id"
    if value not in USER_ID_TYPES:
        raise param_error(f"user_id_type must be one of {', '.join(USER_ID_TYPES)}")
    return value


def _person_ids(state: State, open_id: str) -> dict[str, Any]:
    """A person's ids and names as the directory has them (open_id alone when unknown)."""
    emp = state.employee(open_id)
    if emp is None:
        suffix = open_id.removeprefix("ou_")
        return {
            "open_id": open_id,
            "union_id": f"on_{suffix}",
            "user_id": f"u_{suffix}",
            "zh_cn": "",
            "en_us": "",
        }
    return {
        "open_id": emp.open_id,
        "union_id": emp.union_id,
        "user_id": emp.user_id,
        "zh_cn": emp.name_zh,
        "en_us": emp.name_en,
    }


def _referral_user(
    state: State, hire: HireBook, application_id: str, id_type: str
) -> tuple[Referral, dict[str, Any]]:
    referral = hire.referrals[application_id]
    who = _person_ids(state, referral.referrer_open_id)
    name = {
        "zh_cn": who["zh_cn"] if referral.name_zh is None else referral.name_zh,
        "en_us": who["en_us"] if referral.name_en is None else referral.name_en,
    }
    return referral, {"id": who[id_type], "name": name}


def referral_get_by_application(ctx: Context, req: Request) -> dict[str, Any]:
    id_type = _user_id_type(req)
    application_id = req.query.get("application_id")
    if not application_id:
        raise param_error("application_id is required")
    with ctx.state.lock:
        hire = book(ctx.state)
        if application_id not in hire.referrals:
            if hire.referral_absent == "not_found":
                raise _not_found()
            return _success({})
        referral, user = _referral_user(ctx.state, hire, application_id, id_type)
        return _success(
            {
                "referral": {
                    "id": referral.referral_id,
                    "application_id": referral.application_id,
                    "create_time": referral.create_time,
                    "referral_user_id": user["id"],
                    "referral_user": user,
                }
            }
        )


def query_values(req: Request, name: str) -> list[str]:
    """Every value of a repeatable query parameter (`options=a&options=b`)."""
    lists = req.extra.get("query_lists")
    if isinstance(lists, dict) and name in lists:
        return [str(v) for v in lists[name]]
    value = req.query.get(name)
    return [] if value is None else [value]


def _granted_any(granted: frozenset[str], needed: Iterable[str]) -> bool:
    return any(scope in granted for scope in needed)


def application_get_detail(ctx: Context, req: Request) -> dict[str, Any]:
    id_type = _user_id_type(req)
    options = query_values(req, "options")
    unknown = [o for o in options if o not in DETAIL_OPTIONS]
    if unknown:
        raise param_error(f"options must be among {', '.join(DETAIL_OPTIONS)}: {unknown[0]!r}")
    wanted = {
        option
        for option in options
        if _granted_any(ctx.scopes, scopes.APPLICATION_DETAIL_SCOPES.get(option, ()))
    }
    with ctx.state.lock:
        hire = book(ctx.state)
        app = hire.applications.get(req.params.get("application_id", ""))
        if app is None:
            raise _not_found()
        stage = hire.stage_of(app)
        basic: dict[str, Any] = {
            "id": app.application_id,
            "job_id": app.job_id,
            "talent_id": app.talent_id,
            "stage": stage.json(),
            "active_status": app.active_status,
            "stage_time_list": [
                {"stage_id": t.stage_id, "enter_time": str(t.enter_time)}
                | ({} if t.exit_time is None else {"exit_time": str(t.exit_time)})
                for t in app.stage_times
            ],
            "create_time": str(app.create_time),
            "modify_time": str(app.update_time),
        }
        if app.onboard_status is not None:
            basic["onboard_status"] = app.onboard_status
        detail: dict[str, Any] = {"basic_info": basic}
        if "with_job" in wanted:
            job = hire.jobs[app.job_id]
            process = hire.processes[job.process_id]
            detail["job"] = {
                "id": job.job_id,
                "name": job.name,
                "code": job.code,
                "process_id": process.process_id,
                "process_type": process.type,
            }
        if "with_talent" in wanted:
            talent = hire.talents[app.talent_id]
            person: dict[str, Any] = {"id": talent.talent_id, "name": talent.name}
            if talent.email:
                person["email"] = talent.email
            if talent.mobile:
                person["mobile_code"], person["mobile_number"] = talent.mobile
            detail["talent"] = person
        if "with_referral" in wanted and app.application_id in hire.referrals:
            referral, user = _referral_user(ctx.state, hire, app.application_id, id_type)
            detail["referral"] = {
                "basic_info": {
                    "id": referral.referral_id,
                    "application_id": referral.application_id,
                    "user_info": user,
                    "create_time": str(referral.create_time),
                }
            }
        return _success({"application_detail": detail})


# --- paging ---------------------------------------------------------------------------------
def _page_size(req: Request, default: int, maximum: int) -> int:
    raw = req.query.get("page_size")
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise param_error(f"page_size must be an integer from 1 to {maximum}")
    return int(raw)


def _offset(req: Request) -> int:
    token = req.query.get("page_token")
    if not token:
        return 0
    try:
        decoded = base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii")
    except (ValueError, UnicodeError):
        raise param_error("page_token is invalid") from None
    prefix, _, number = decoded.partition(":")
    if prefix != "offset" or not number.isdigit():
        raise param_error("page_token is invalid")
    return int(number)


def _page(items: list[Any], req: Request, default: int, maximum: int) -> dict[str, Any]:
    size = _page_size(req, default, maximum)
    start = _offset(req)
    end = start + size
    has_more = end < len(items)
    out: dict[str, Any] = {"items": items[start:end], "has_more": has_more}
    if has_more:
        out["page_token"] = base64.urlsafe_b64encode(f"offset:{end}".encode()).decode("ascii")
    return out


def _ms(req: Request, name: str) -> int | None:
    raw = req.query.get(name)
    if raw is None or raw == "":
        return None
    if not MS_RE.match(raw):
        raise param_error(f"{name} must be a millisecond timestamp")
    return int(raw)


def application_list(ctx: Context, req: Request) -> dict[str, Any]:
    active = req.query.get("active_status") or "3"
    if active not in ("1", "2", "3"):
        raise param_error("active_status must be 1 (active), 2 (inactive) or 3 (all)")
    start, end = _ms(req, "update_start_time"), _ms(req, "update_end_time")
    with ctx.state.lock:
        hire = book(ctx.state)
        checks: list[Callable[[Any], bool]] = []
        for name, attr in (
            ("job_id", "job_id"),
            ("talent_id", "talent_id"),
            ("stage_id", "stage_id"),
        ):
            wanted = req.query.get(name)
            if wanted:
                checks.append(lambda a, attr=attr, wanted=wanted: getattr(a, attr) == wanted)
        process_id = req.query.get("process_id")
        if process_id:
            checks.append(lambda a: hire.jobs[a.job_id].process_id == process_id)
        if active != "3":
            checks.append(lambda a: a.active_status == int(active))
        if start is not None:
            checks.append(lambda a: a.update_time >= start)
        if end is not None:
            checks.append(lambda a: a.update_time <= end)
        ids = [
            a.application_id
            for a in hire.applications.values()
            if all(check(a) for check in checks)
        ]
    return _success(_page(ids, req, default=10, maximum=200))


def job_process_list(ctx: Context, req: Request) -> dict[str, Any]:
    with ctx.state.lock:
        items = [p.json() for p in book(ctx.state).processes.values()]
    return _success(_page(items, req, default=10, maximum=100))
