"""Feishu Hire referral-account operations: create, enable, deactivate, get_account_assets,
withdraw and reconciliation. Shapes follow the API pages and lark-oapi's hire/v1 models."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from . import scopes
from .context import Context
from .protocol import (
    HIRE_ACCOUNT_NOT_FOUND,
    HIRE_NO_UNIQUE_USER,
    HIRE_USER_NOT_FOUND,
    ApiError,
    Request,
    param_error,
)
from .state import USER_ID_TYPES, Account, Employee, Withdrawal, money, now_ms

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
        raise ApiError(400, HIRE_ACCOUNT_NOT_FOUND, "账户不存在 referral account does not exist")
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


def withdraw(ctx: Context, req: Request) -> dict[str, Any]:
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
        if previous is not None:
            return previous.response  # idempotent by external_order_id
        if acc.status != 1:
            raise param_error("referral account is disabled and cannot withdraw")
        points = acc.points if 1 in types else 0
        cash = {k: v for k, v in acc.cash.items() if v != 0} if 2 in types else {}
        if 1 in types:
            acc.points = 0
        if 2 in types:
            acc.cash = {}
        trans_time = now_ms()
        response = success(
            {
                "external_order_id": order_id,
                "trans_time": trans_time,
                "withdrawal_details": bonus_json(points, cash),
            }
        )
        ctx.state.withdrawals[order_id] = Withdrawal(
            order_id, acc.account_id, trans_time, points, cash, response
        )
        return response


def _parse_bonus(value: Any) -> tuple[int, dict[str, Decimal]]:
    if value is None:
        return 0, {}
    if not isinstance(value, dict):
        raise param_error("total_recharge_reward_info must be an object")
    points = value.get("point_bonus") or 0
    cash: dict[str, Decimal] = {}
    entries = list(value.get("cash_bonus") or [])
    if value.get("cash"):
        entries.append(value["cash"])
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("currency_type"), str):
            raise param_error("cash_bonus entries need currency_type and amount")
        cur = entry["currency_type"]
        cash[cur] = cash.get(cur, Decimal(0)) + money(entry.get("amount") or 0)
    return int(points), {k: v for k, v in cash.items() if v != 0}


def reconciliation(ctx: Context, req: Request) -> dict[str, Any]:
    """Compare the caller's per-account totals with the withdrawals made in the time range."""
    body = req.json()
    try:
        start = int(body.get("start_trans_time"))
        end = int(body.get("end_trans_time"))
    except (TypeError, ValueError):
        raise param_error("start_trans_time and end_trans_time (ms) are required") from None
    details = body.get("trade_details") or []
    if not isinstance(details, list):
        raise param_error("trade_details must be a list")
    failed: list[dict[str, Any]] = []
    with ctx.state.lock:
        for detail in details:
            if not isinstance(detail, dict) or not isinstance(detail.get("account_id"), str):
                raise param_error("trade_details[].account_id is required")
            account_id = detail["account_id"]
            theirs = _parse_bonus(detail.get("total_recharge_reward_info"))
            points, cash = 0, {}
            for w in ctx.state.withdrawals.values():
                if w.account_id == account_id and start <= int(w.trans_time) <= end:
                    points += w.points
                    for cur, amount in w.cash.items():
                        cash[cur] = cash.get(cur, Decimal(0)) + amount
            if (points, cash) != theirs:
                failed.append(
                    {
                        "account_id": account_id,
                        "total_withdraw_reward_info": bonus_json(points, cash),
                        "total_recharge_reward_info": bonus_json(*theirs),
                    }
                )
    return success({"check_failed_list": failed})
