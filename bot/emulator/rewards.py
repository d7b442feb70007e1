"""Referral rewards from outside Hire: import and delete.

- `POST /open-apis/hire/v1/external_referral_rewards?user_id_type=open_id`
  (external_reward_create; 10/s; hire:external_referral_reward; custom apps only). Body, per
  the API page: referral_user_id (required, of user_id_type), external_id (required, "only for
  idempotency"), application_id or talent_id (one required; application_id wins), job_id,
  reason, rule_type (required: 1 onboarding, 2 process, 3 campaign, 4 open-source, 5 other),
  bonus (required) {bonus_type (1 points, the default; 2 cash), point_bonus (int, for points),
  cash {currency_type, amount (a number, not negative)} (for cash)}, stage (required: 1 waiting
  for an admin to confirm, 2 confirmed, 3 paid), optional times as ms strings
  (create_time, confirm_time, pay_time, onboard_time, conversion_time), comment,
  create_user_id, confirm_user_id, pay_user_id. Answer `data {id}`. Errors documented:
  1002001, 1002002 (every refusal here is 1002002, HTTP 400).
  lark-oapi 1.7.5's BonusAmount carries both shapes: the docs' `bonus_type` + `cash {}` and the
  balance's `cash_bonus []`. The import follows the docs: `cash_bonus` is ignored, so a cash
  reward sent that way lacks `cash` and is refused.
- `DELETE /open-apis/hire/v1/external_referral_rewards/:external_referral_reward_id`
  (external_reward_delete; 10/s; same scope): only an imported reward; 1002556 otherwise (a
  reward Hire made itself, an unknown id, or one already deleted: an emulator choice, the page
  gives the one code). Answer `data {}`.

Emulator choices where the docs are silent:
- A repeated external_id answers the first import's id and changes nothing (whatever the rest
  of the body says); the reward counts the repeat in `requests`. Once deleted, its external_id
  is free again (a new import makes a new reward).
- The effect on the referrer's referral account is a knob (`RewardBook.effect`): "none" (the
  default: Hire lists the reward, the balance is untouched) or "credit_confirmed": a reward
  imported confirmed (stage 2) adds its points or cash to the referrer's confirmed balance, if
  they have a referral account, and Feishu sends `hire.referral_account.assets_update_v1`
  (only for an enabled account, as for any balance change) through the outbox; deleting a
  credited reward takes it back off (not below zero), with another event. Stages 1 and 3 never
  move the balance (not confirmed yet; already paid out).
- A point_bonus must be a non-negative integer; a cash amount is kept to two decimals.
"""

from __future__ import annotations

import math
import re
import weakref
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import events
from .context import Context
from .hire_apps import book as hire_book
from .outbox import outbox
from .protocol import ApiError, Request, param_error
from .state import USER_ID_TYPES, Account, State, money, now_ms

REWARD_NOT_IMPORTED = 1002556  # documented: only imported rewards can be deleted
MSG_REWARD_NOT_IMPORTED = "仅支持删除导入的内推奖励 only imported rewards can be deleted"
EFFECTS = ("none", "credit_confirmed")
RULE_TYPES = (1, 2, 3, 4, 5)
STAGES = (1, 2, 3)  # waiting for confirmation, confirmed, paid
CONFIRMED = 2
TIME_FIELDS = ("create_time", "confirm_time", "pay_time", "onboard_time", "conversion_time")
TEXT_FIELDS = ("reason", "comment", "create_user_id", "confirm_user_id", "pay_user_id")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MS_RE = re.compile(r"^\d{1,19}$")


@dataclass
class Reward:
    reward_id: str
    referrer_open_id: str
    rule_type: int
    stage: int
    points: int = 0
    cash: dict[str, Decimal] = field(default_factory=dict)
    bonus_type: int = 1
    external_id: str | None = None  # None: a reward Hire made itself
    application_id: str | None = None
    talent_id: str | None = None
    job_id: str | None = None
    details: dict[str, str] = field(default_factory=dict)  # reason, comment, times, ...
    requests: int = 0  # import calls answered with it: the first plus repeats
    credited_account: str | None = None  # the account its bonus was added to, if any
    deleted: bool = False

    @property
    def imported(self) -> bool:
        return self.external_id is not None

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.reward_id,
            "external_id": self.external_id,
            "imported": self.imported,
            "referrer_open_id": self.referrer_open_id,
            "application_id": self.application_id,
            "talent_id": self.talent_id,
            "job_id": self.job_id,
            "rule_type": self.rule_type,
            "stage": self.stage,
            "bonus_type": self.bonus_type,
            "points": self.points,
            "cash": dict(self.cash),
            **self.details,
            "requests": self.requests,
            "credited_account": self.credited_account,
            "deleted": self.deleted,
        }


@dataclass
class RewardBook:
    """The tenant's referral rewards; hold `state.lock` while using it."""

    rewards: dict[str, Reward] = field(default_factory=dict)
    by_external_id: dict[str, str] = field(default_factory=dict)  # live imports only
    effect: str = "none"
    event_token: str = ""  # the verification token the balance events carry


_BOOKS: weakref.WeakKeyDictionary[State, RewardBook] = weakref.WeakKeyDictionary()


def book(state: State) -> RewardBook:
    with state.lock:
        return _BOOKS.setdefault(state, RewardBook())


def clear(state: State) -> None:
    with state.lock:
        _BOOKS.pop(state, None)


def set_effect(state: State, effect: str, token: str) -> None:
    if effect not in EFFECTS:
        raise ValueError(f"effect must be one of {EFFECTS}, not {effect!r}")
    with state.lock:
        rewards = book(state)
        rewards.effect = effect
        rewards.event_token = token


def add_hire_reward(
    state: State, referrer_open_id: str, points: int, cash: dict[str, Decimal], stage: int
) -> Reward:
    """A reward Hire's own rules made (not imported): the delete API refuses it."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}")
    with state.lock:
        reward = Reward(
            hire_book(state).new_id(),
            referrer_open_id,
            rule_type=1,
            stage=stage,
            points=int(points),
            cash={cur: money(amount) for cur, amount in cash.items()},
            bonus_type=2 if cash else 1,
        )
        book(state).rewards[reward.reward_id] = reward
        return reward


# --- validation -----------------------------------------------------------------------------
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bonus(value: Any) -> tuple[int, int, dict[str, Decimal]]:
    """(bonus_type, points, cash) from the docs' bonus {bonus_type, point_bonus, cash}."""
    if not isinstance(value, dict):
        raise param_error("bonus is required: {bonus_type, point_bonus | cash}")
    bonus_type = value.get("bonus_type", 1)
    if bonus_type is None:
        bonus_type = 1  # the documented default
    if bonus_type not in (1, 2) or not _is_int(bonus_type):
        raise param_error("bonus.bonus_type must be 1 (points) or 2 (cash)")
    if bonus_type == 1:
        points = value.get("point_bonus")
        if not _is_int(points) or points < 0:
            raise param_error("bonus.point_bonus is required for points: a non-negative integer")
        return 1, points, {}
    cash = value.get("cash")
    if not isinstance(cash, dict):
        raise param_error("bonus.cash {currency_type, amount} is required for cash")
    currency, amount = cash.get("currency_type"), cash.get("amount")
    if not isinstance(currency, str) or not CURRENCY_RE.match(currency):
        raise param_error("bonus.cash.currency_type must be a currency code such as CNY")
    if (
        not isinstance(amount, int | float)
        or isinstance(amount, bool)
        or not math.isfinite(amount)
        or amount < 0
    ):
        raise param_error("bonus.cash.amount must be a number, not negative")
    return 2, 0, {currency: money(amount)}


def _choice(body: dict[str, Any], name: str, allowed: tuple[int, ...]) -> int:
    value = body.get(name)
    if not _is_int(value) or value not in allowed:
        raise param_error(f"{name} is required: one of {', '.join(map(str, allowed))}")
    return value


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise param_error(f"{name} must be a string")
    return value


def _required_text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise param_error(f"{name} is required: a string")
    return value


def _details(body: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in TIME_FIELDS:
        value = _text(body, name)
        if value is not None:
            if not MS_RE.match(value):
                raise param_error(f"{name} must be a millisecond timestamp as a string")
            out[name] = value
    for name in TEXT_FIELDS:
        value = _text(body, name)
        if value is not None:
            out[name] = value
    out.setdefault("create_time", now_ms())  # "the time of the call" when not given
    return out


# --- the balance effect ---------------------------------------------------------------------
def _move_balance(acc: Account, reward: Reward, sign: int) -> None:
    acc.points = max(0, acc.points + sign * reward.points)
    for cur, amount in reward.cash.items():
        acc.cash[cur] = max(Decimal(0), money(acc.cash.get(cur, Decimal(0)) + sign * amount))


def _balance_event(ctx: Context, acc: Account, token: str) -> dict[str, Any] | None:
    """The assets_update_v1 event Feishu sends after a balance change (enabled accounts)."""
    if acc.status != 1:
        return None
    return events.assets_update_event(
        acc.account_id,
        acc.points,
        {cur: amount for cur, amount in acc.cash.items() if amount != 0},
        token=token,
        app_id=ctx.app_id,
        tenant_key=ctx.tenant_key,
    )


# --- handlers -------------------------------------------------------------------------------
def create(ctx: Context, req: Request) -> dict[str, Any]:
    id_type = req.query.get("user_id_type") or "open_id"
    if id_type not in USER_ID_TYPES:
        raise param_error(f"user_id_type must be one of {', '.join(USER_ID_TYPES)}")
    body = req.json()
    referral_user_id = _required_text(body, "referral_user_id")
    external_id = _required_text(body, "external_id")
    application_id, talent_id, job_id = (
        _text(body, "application_id"),
        _text(body, "talent_id"),
        _text(body, "job_id"),
    )
    if not application_id and not talent_id:
        raise param_error("one of application_id or talent_id is required")
    rule_type = _choice(body, "rule_type", RULE_TYPES)
    stage = _choice(body, "stage", STAGES)
    bonus_type, points, cash = _bonus(body.get("bonus"))
    details = _details(body)
    event = None
    with ctx.state.lock:
        rewards = book(ctx.state)
        previous = rewards.by_external_id.get(external_id)
        if previous is not None:  # idempotent by external_id: the first import's id
            rewards.rewards[previous].requests += 1
            return {"code": 0, "msg": "success", "data": {"id": previous}}
        referrer = ctx.state.employee_by(id_type, referral_user_id)
        if referrer is None:
            raise param_error(f"referral_user_id {referral_user_id} is not a known user")
        hire = hire_book(ctx.state)
        if application_id:
            app = hire.applications.get(application_id)
            if app is None:
                raise param_error(f"application_id {application_id} does not exist")
            talent_id, job_id = app.talent_id, job_id or app.job_id
        elif talent_id not in hire.talents:
            raise param_error(f"talent_id {talent_id} does not exist")
        if job_id and job_id not in hire.jobs:
            raise param_error(f"job_id {job_id} does not exist")
        reward = Reward(
            hire.new_id(),
            referrer.open_id,
            rule_type,
            stage,
            points,
            cash,
            bonus_type,
            external_id,
            application_id or None,
            talent_id,
            job_id or None,
            details,
            requests=1,
        )
        rewards.rewards[reward.reward_id] = reward
        rewards.by_external_id[external_id] = reward.reward_id
        acc = ctx.state.account_of(referrer.open_id)
        if rewards.effect == "credit_confirmed" and stage == CONFIRMED and acc is not None:
            _move_balance(acc, reward, +1)
            reward.credited_account = acc.account_id
            event = _balance_event(ctx, acc, rewards.event_token)
    if event is not None:
        outbox(ctx.state).emit(event)
    return {"code": 0, "msg": "success", "data": {"id": reward.reward_id}}


def delete(ctx: Context, req: Request) -> dict[str, Any]:
    reward_id = req.params.get("external_referral_reward_id", "")
    event = None
    with ctx.state.lock:
        rewards = book(ctx.state)
        reward = rewards.rewards.get(reward_id)
        if reward is None or not reward.imported or reward.deleted:
            raise ApiError(400, REWARD_NOT_IMPORTED, MSG_REWARD_NOT_IMPORTED)
        reward.deleted = True
        if reward.external_id is not None:
            rewards.by_external_id.pop(reward.external_id, None)
        acc = ctx.state.accounts.get(reward.credited_account or "")
        if acc is not None:
            _move_balance(acc, reward, -1)
            event = _balance_event(ctx, acc, rewards.event_token)
    if event is not None:
        outbox(ctx.state).emit(event)
    return {"code": 0, "msg": "success", "data": {}}
