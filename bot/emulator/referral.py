"""Feishu Hire referral-account operations: create, enable, deactivate, get_account_assets,
withdraw and reconciliation. Shapes follow the API pages and lark-oapi's hire/v1 models."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from . import scopes
from .context import Context
from .protocol import (
    HIRE_ACCOUNT_DISABLED,
    HIRE_ACCOUNT_NOT_FOUND,
    HIRE_NO_UNIQUE_USER,
    HIRE_USER_NOT_FOUND,
    MSG_ACCOUNT_DISABLED,
    MSG_ACCOUNT_NOT_FOUND,
    ApiError,
    Request,
    param_error,
)
from .state import USER_ID_TYPES, Account, Employee, State, Withdrawal, money, now_ms

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DIGITS_RE = re.compile(r"^\d{3,20}$")
CODE_RE = re.compile(r"^\+?\d{1,4}$")


def success(data: dict[str, Any]) -> dict[str, Any]:
    return {"code": 0, "msg": "SUCCESS", "data": data}


def bonus_json(points: int, cash: dict[str, Decimal]) -> dict[str, Any]:
    """A `bonus_amount`: point_bonus and one cash entry per currency (amounts as 2-dp floats)."""
    return {
        "point_bonus": int(points),
        "cash_bonus": [
            {"currency_type": cur, "amount": float(money(amount))}
            for cur, amount in sorted(cash.items())
            if amount != 0
        ],
    }


def account_json(acc: Account) -> dict[str, Any]:
    return {
        "account_id": acc.account_id,
        "assets": {"confirmed_bonus": bonus_json(acc.points, acc.cash)},
        "status": acc.status,
    }


def referrer_json(emp: Employee | None, open_id: str, user_id_type: str) -> dict[str, Any]:
    if emp is None:
        return {"id": open_id}
    ident = {"open_id": emp.open_id, "union_id": emp.union_id, "user_id": emp.user_id}
    out: dict[str, Any] = {
        "id": ident[user_id_type],
        "name": {"zh_cn": emp.name_zh, "en_us": emp.name_en},
    }
    if emp.email:
        out["email"] = emp.email
    if emp.mobile:
        # One string (the SDK's AccountReferrer.mobile: str); the API page's only example is a
        # bare mainland number ("1879087xxx8"). What Hire writes for other codes is not
        # documented: the emulator gives the national number alone, the case a caller can
        # least take for granted.
        out["mobile"] = emp.mobile[1]
    return out


def _user_id_type(req: Request) -> str:
    value = req.query.get("user_id_type", "open_id") or "open_id"
    if value not in USER_ID_TYPES:
        raise param_error(f"user_id_type must be one of {', '.join(USER_ID_TYPES)}")
    return value


def _account(ctx: Context, account_id: Any) -> Account:
    if not isinstance(account_id, str) or not account_id:
        raise param_error("referral_account_id is required")
    acc = ctx.state.accounts.get(account_id)
    if acc is None:
        raise ApiError(400, HIRE_ACCOUNT_NOT_FOUND, MSG_ACCOUNT_NOT_FOUND)
    return acc


def _matches(ctx: Context, body: dict[str, Any]) -> list[Employee]:
    mobile = body.get("mobile")
    email = body.get("email")
    if mobile is None and email is None:
        raise param_error("one of mobile or email is required")
    found: dict[str, Employee] = {}
    if mobile is not None:
        if not isinstance(mobile, dict):
            raise param_error("mobile must be an object {code, number}")
        code = mobile.get("code", "86")
        number = mobile.get("number")
        if code is None:
            code = "86"
        if not isinstance(code, str) or not CODE_RE.match(code):
            raise param_error("mobile.code is invalid")
        if not isinstance(number, str) or not DIGITS_RE.match(number):
            raise param_error("mobile.number is invalid")
        wanted = (code.lstrip("+"), number)
        for emp in ctx.state.employees:
            if emp.mobile == wanted:
                found[emp.open_id] = emp
    if email is not None:
        if not isinstance(email, str) or not EMAIL_RE.match(email):
            raise param_error("email is invalid")
        for emp in ctx.state.employees:
            if emp.email and emp.email.lower() == email.lower():
                found[emp.open_id] = emp
    return list(found.values())


def create(ctx: Context, req: Request) -> dict[str, Any]:
    """Register the one person the mobile or email names. A person who has an account already
    gets that account back, balance and status as they are: the API page lists no error for
    it, and its answer example carries a balance (100 points, 100 CNY) that a new account
    cannot have."""
    _user_id_type(req)
    with ctx.state.lock:
        matches = _matches(ctx, req.json())
        if not matches:
            raise ApiError(400, HIRE_USER_NOT_FOUND, "用户不存在 user does not exist")
        if len(matches) > 1:
            raise ApiError(400, HIRE_NO_UNIQUE_USER, "无法匹配唯一用户 cannot match a unique user")
        acc = ctx.state.create_account(matches[0].open_id)
        return success({"account": account_json(acc)})


def enable(ctx: Context, req: Request) -> dict[str, Any]:
    with ctx.state.lock:
        acc = _account(ctx, req.json().get("referral_account_id"))
        acc.status = 1
        return success({"account": account_json(acc)})


def deactivate(ctx: Context, req: Request) -> dict[str, Any]:
    with ctx.state.lock:
        acc = _account(ctx, req.params.get("referral_account_id"))
        acc.status = 2
        return success({"account": account_json(acc)})


def get_account_assets(ctx: Context, req: Request) -> dict[str, Any]:
    id_type = _user_id_type(req)
    with ctx.state.lock:
        acc = _account(ctx, req.query.get("referral_account_id"))
        data = account_json(acc)
        referrer = referrer_json(ctx.state.employee(acc.open_id), acc.open_id, id_type)
        data["referrer"] = scopes.visible(referrer, scopes.REFERRER_FIELD_SCOPES, ctx.scopes)
        return success({"account": data})


def withdrawal_data(w: Withdrawal) -> dict[str, Any]:
    """The withdraw answer's `data` for a recorded withdrawal (the same for every repeat)."""
    return {
        "external_order_id": w.external_order_id,
        "trans_time": w.trans_time,
        "withdrawal_details": bonus_json(w.points, w.cash),
    }


def record_withdrawal(
    state: State,
    account_id: str,
    order_id: str,
    points: int,
    cash: dict[str, Decimal],
    *,
    trans_time: str | None = None,
    source: str = "api",
) -> Withdrawal:
    """Note a withdrawal in Hire's books (the caller holds the lock and moves the balance)."""
    w = Withdrawal(
        external_order_id=order_id,
        account_id=account_id,
        trans_time=trans_time or now_ms(),
        points=int(points),
        cash={cur: money(amount) for cur, amount in cash.items() if money(amount) != 0},
        source=source,
        requests=1 if source == "api" else 0,
    )
    state.withdrawals[order_id] = w
    return w


def withdraw(ctx: Context, req: Request) -> dict[str, Any]:
    """Withdraw the whole points and/or cash balance. Checks, in order: the body (1002002), the
    account (1002553), a repeated external_order_id (answered with the original withdrawal's
    details, even if the account has since been disabled or emptied), a disabled account
    (1002555). A zero balance is no error: the answer details zero."""
    body = req.json()
    types = body.get("withdraw_bonus_type")
    order_id = body.get("external_order_id")
    if (
        not isinstance(types, list)
        or not types
        or any(t not in (1, 2) or isinstance(t, bool) for t in types)
    ):
        raise param_error("withdraw_bonus_type must be a non-empty list of 1 (points) / 2 (cash)")
    if not isinstance(order_id, str) or not order_id:
        raise param_error("external_order_id is required")
    with ctx.state.lock:
        acc = _account(ctx, req.params.get("referral_account_id"))
        previous = ctx.state.withdrawals.get(order_id)
        if previous is not None:  # idempotent by external_order_id: before the status check
            previous.requests += 1
            return success(withdrawal_data(previous))
        if acc.status != 1:
            raise ApiError(400, HIRE_ACCOUNT_DISABLED, MSG_ACCOUNT_DISABLED)
        points = acc.points if 1 in types else 0
        cash = dict(acc.cash) if 2 in types else {}
        if 1 in types:
            acc.points = 0
        if 2 in types:
            acc.cash = {}
        w = record_withdrawal(ctx.state, acc.account_id, order_id, points, cash)
        return success(withdrawal_data(w))


MS_RE = re.compile(r"^\d{1,19}$")
INT64_MAX = 2**63 - 1


def _trans_time(body: dict[str, Any], name: str) -> int:
    """A required ms timestamp sent as a string (the SDK's type), read as an int64."""
    value = body.get(name)
    if not isinstance(value, str) or not MS_RE.match(value) or int(value) > INT64_MAX:
        raise param_error(f"{name} is required: a millisecond timestamp as a string")
    return int(value)


def _recharge_points(value: Any) -> int:
    """The caller's `total_recharge_reward_info.point_bonus` (absent: 0). Cash, which the
    SDK's BonusAmount could carry, is not part of the documented reconciliation: ignored."""
    if value is None:
        return 0
    if not isinstance(value, dict):
        raise param_error("trade_details[].total_recharge_reward_info must be an object")
    points = value.get("point_bonus")
    if points is None:
        return 0
    if not isinstance(points, int) or isinstance(points, bool):
        raise param_error("trade_details[].total_recharge_reward_info.point_bonus is an integer")
    return points


def reconciliation(ctx: Context, req: Request) -> dict[str, Any]:
    """Compare the points the caller recorded per account with the points Hire recorded as
    withdrawn (withdraw API and console alike) with trans_time in [start, end], both inclusive.

    Documented for points only: cash is neither compared nor reported. The answer lists only
    mismatches among the trade_details sent (each entry compared on its own); accounts Hire has
    withdrawals for but that the caller did not send are not reported: the documented behaviour
    is to return the mismatches of the details sent. `total_withdraw_reward_info` is left out
    when Hire recorded no withdrawal for the account in the window.

    Neither the API page nor the SDK documents a maximum window or number of trade_details, so
    any is accepted. Errors: 1002002 for a missing or malformed time, start after end, or a
    detail without account_id; 1002553 for an account_id Hire does not know."""
    body = req.json()
    start = _trans_time(body, "start_trans_time")
    end = _trans_time(body, "end_trans_time")
    if start > end:
        raise param_error("start_trans_time must not be after end_trans_time")
    details = body.get("trade_details")
    if details is None:
        details = []  # optional on the API page: nothing sent, nothing to report
    if not isinstance(details, list):
        raise param_error("trade_details must be a list")
    sent: list[tuple[str, int]] = []
    for detail in details:
        if not isinstance(detail, dict):
            raise param_error("trade_details[] entries must be objects")
        account_id = detail.get("account_id")
        if not isinstance(account_id, str) or not account_id:
            raise param_error("trade_details[].account_id is required")
        sent.append((account_id, _recharge_points(detail.get("total_recharge_reward_info"))))
    failed: list[dict[str, Any]] = []
    with ctx.state.lock:
        for account_id, _ in sent:
            _account(ctx, account_id)
        withdrawn: dict[str, int] = {}  # account -> points; only accounts with a withdrawal
        for w in ctx.state.withdrawals.values():
            if start <= int(w.trans_time) <= end:
                withdrawn[w.account_id] = withdrawn.get(w.account_id, 0) + w.points
    for account_id, theirs in sent:
        ours = withdrawn.get(account_id)
        if (ours or 0) == theirs:
            continue
        item: dict[str, Any] = {"account_id": account_id}
        if ours is not None:
            item["total_withdraw_reward_info"] = {"point_bonus": ours}
        item["total_recharge_reward_info"] = {"point_bonus": theirs}
        failed.append(item)
    return success({"check_failed_list": failed})
