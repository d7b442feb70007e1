"""withdraw and reconciliation through the SDK (shapes, errors, idempotency, rate limits), the
withdrawal facade helpers, and the standalone entry point."""

from __future__ import annotations

import subprocess
import sys
import time
from decimal import Decimal
from typing import Any

import pytest
import requests
from lark_oapi.api.hire.v1 import (
    BonusAmount,
    Cash,
    ReconciliationReferralAccountRequest,
    ReconciliationReferralAccountRequestBody,
    TradeDetail,
    WithdrawReferralAccountRequest,
    WithdrawReferralAccountRequestBody,
)

from bot.emulator import Emulator
from bot.emulator.ratelimit import DEFAULT_LIMITS


def withdraw(client, account_id: str, types: Any, order: Any):
    body = (
        WithdrawReferralAccountRequestBody.builder()
        .withdraw_bonus_type(types)
        .external_order_id(order)
        .build()
    )
    req = (
        WithdrawReferralAccountRequest.builder()
        .referral_account_id(account_id)
        .request_body(body)
        .build()
    )
    return client.hire.v1.referral_account.withdraw(req)


def detail(account_id: Any, points: int | None = None, cash: float | None = None) -> TradeDetail:
    builder = TradeDetail.builder().account_id(account_id)
    if points is not None or cash is not None:
        info = BonusAmount.builder()
        if points is not None:
            info = info.point_bonus(points)
        if cash is not None:
            info = info.cash_bonus([Cash.builder().currency_type("CNY").amount(cash).build()])
        builder = builder.total_recharge_reward_info(info.build())
    return builder.build()


def reconcile(client, start: Any, end: Any, details: list[TradeDetail] | None):
    body = ReconciliationReferralAccountRequestBody.builder()
    if start is not None:
        body = body.start_trans_time(start)
    if end is not None:
        body = body.end_trans_time(end)
    if details is not None:
        body = body.trade_details(details)
    req = ReconciliationReferralAccountRequest.builder().request_body(body.build()).build()
    return client.hire.v1.referral_account.reconciliation(req)


def last_answer(emu: Emulator, operation: str) -> tuple[int, dict[str, Any]]:
    call = emu.calls_for(operation)[-1]
    return call.status, call.response


def now_ms() -> int:
    return int(time.time() * 1000)


# --- withdraw --------------------------------------------------------------------------------
def test_withdraw_zeroes_chosen_balances_idempotently(emu: Emulator, client):
    account_id = emu.create_account("ou_1")
    emu.add_bonus(account_id, points=40, cash={"CNY": Decimal("100.50")})
    resp = withdraw(client, account_id, [2], "order-1")
    assert resp.success(), (resp.code, resp.msg)
    details = resp.data.withdrawal_details
    assert resp.data.external_order_id == "order-1" and resp.data.trans_time.isdigit()
    assert [(c.currency_type, c.amount) for c in details.cash_bonus] == [("CNY", 100.5)]
    assert details.point_bonus == 0
    assert emu.account(account_id)["cash"] == {} and emu.account(account_id)["points"] == 40

    emu.add_bonus(account_id, cash={"CNY": "5"})
    again = withdraw(client, account_id, [1, 2], "order-1")  # a repeat, even with other types
    assert again.success()
    assert again.data.trans_time == resp.data.trans_time
    assert again.data.withdrawal_details.cash_bonus[0].amount == 100.5
    assert again.data.withdrawal_details.point_bonus == 0
    assert emu.account(account_id)["cash"] == {"CNY": Decimal("5.00")}  # not withdrawn twice
    assert emu.account(account_id)["points"] == 40

    both = withdraw(client, account_id, [1, 2], "order-2")
    assert both.data.withdrawal_details.point_bonus == 40
    assert both.data.withdrawal_details.cash_bonus[0].amount == 5.0
    assert emu.account(account_id)["points"] == 0 and emu.account(account_id)["cash"] == {}

    recorded = emu.withdrawals()
    assert [(w["external_order_id"], w["requests"]) for w in recorded] == [
        ("order-1", 2),
        ("order-2", 1),
    ]
    first = emu.withdrawal("order-1")
    assert first == {
        "external_order_id": "order-1",
        "account_id": account_id,
        "trans_time": resp.data.trans_time,
        "points": 0,
        "cash": {"CNY": Decimal("100.50")},
        "source": "api",
        "requests": 2,
    }
    assert emu.withdrawals(account_id="6900000000000000000") == []
    with pytest.raises(KeyError):
        emu.withdrawal("order-404")


def test_withdraw_answer_has_the_documented_shape_and_sdk_types(emu: Emulator, client):
    account_id = emu.create_account("ou_1")
    emu.add_bonus(account_id, points=12, cash={"CNY": "3.10", "USD": "2"})
    before = now_ms()
    resp = withdraw(client, account_id, [1, 2], "shape-1")
    status, body = last_answer(emu, "withdraw")
    assert status == 200
    assert body == {
        "code": 0,
        "msg": "SUCCESS",
        "data": {
            "external_order_id": "shape-1",
            "trans_time": body["data"]["trans_time"],
            "withdrawal_details": {
                "point_bonus": 12,
                "cash_bonus": [
                    {"currency_type": "CNY", "amount": 3.1},
                    {"currency_type": "USD", "amount": 2.0},
                ],
            },
        },
    }
    trans_time = body["data"]["trans_time"]
    assert isinstance(trans_time, str) and before <= int(trans_time) <= now_ms()
    # the SDK model declares trans_time str, point_bonus int, amount float
    assert isinstance(resp.data.trans_time, str) and resp.data.trans_time == trans_time
    assert isinstance(resp.data.withdrawal_details.point_bonus, int)
    assert all(isinstance(c.amount, float) for c in resp.data.withdrawal_details.cash_bonus)


def test_withdraw_of_a_zero_balance_succeeds_with_zero_details(emu: Emulator, client):
    account_id = emu.create_account("ou_1")
    resp = withdraw(client, account_id, [1, 2], "zero-1")
    assert resp.success(), (resp.code, resp.msg)
    assert last_answer(emu, "withdraw")[1]["data"]["withdrawal_details"] == {
        "point_bonus": 0,
        "cash_bonus": [],
    }
    assert resp.data.withdrawal_details.point_bonus == 0
    assert resp.data.withdrawal_details.cash_bonus == []
    assert emu.withdrawal("zero-1")["points"] == 0


def test_a_withdraw_answered_without_trans_time_was_carried_out(emu: Emulator, client):
    account_id = emu.create_account("ou_1")
    emu.add_bonus(account_id, points=30)
    emu.fail_next("withdraw", kind="no_trans_time")
    resp = withdraw(client, account_id, [1], "quiet-1")
    assert resp.success() and resp.data.trans_time is None
    assert last_answer(emu, "withdraw")[1]["data"] == {
        "external_order_id": "quiet-1",
        "withdrawal_details": {"point_bonus": 30, "cash_bonus": []},
    }
    assert emu.account(account_id)["points"] == 0 and emu.withdrawal("quiet-1")["points"] == 30
    again = withdraw(client, account_id, [1], "quiet-1")  # the knob strikes once
    assert again.data.trans_time == emu.withdrawal("quiet-1")["trans_time"]


def test_withdraw_from_a_disabled_account_answers_1002555(emu: Emulator, client):
    account_id = emu.create_account("ou_1")
    emu.add_bonus(account_id, points=10, cash={"CNY": "1"})
    emu.set_status(account_id, 2)
    resp = withdraw(client, account_id, [1, 2], "disabled-1")
    assert resp.code == 1002555 and not resp.success()
    assert last_answer(emu, "withdraw") == (
        400,
        {"code": 1002555, "msg": "账户已停用 referral account is disabled"},
    )
    assert emu.account(account_id)["points"] == 10
    assert emu.account(account_id)["cash"] == {"CNY": Decimal("1.00")}
    assert emu.withdrawals() == []

    emu.set_status(account_id, 1)  # the refused order id was not used up
    assert withdraw(client, account_id, [1], "disabled-1").data.withdrawal_details.point_bonus == 10


def test_a_repeated_order_answers_the_original_even_after_disabling(emu: Emulator, client):
    account_id = emu.create_account("ou_1")
    emu.add_bonus(account_id, points=25)
    first = withdraw(client, account_id, [1], "repeat-1")
    emu.set_status(account_id, 2)
    emu.add_bonus(account_id, points=5)

    again = withdraw(client, account_id, [1], "repeat-1")
    assert again.success(), (again.code, again.msg)
    assert again.data.external_order_id == "repeat-1"
    assert again.data.trans_time == first.data.trans_time
    assert again.data.withdrawal_details.point_bonus == 25
    assert withdraw(client, account_id, [1], "repeat-2").code == 1002555  # a new order is not
    assert emu.account(account_id)["points"] == 5
    assert [(w["external_order_id"], w["requests"]) for w in emu.withdrawals()] == [("repeat-1", 2)]


def test_withdraw_errors(emu: Emulator, client):
    account_id = emu.create_account("ou_1")
    emu.add_bonus(account_id, points=10)
    assert withdraw(client, account_id, [3], "o-y").code == 1002002
    assert withdraw(client, account_id, [], "o-y").code == 1002002
    assert withdraw(client, account_id, [True], "o-y").code == 1002002
    assert withdraw(client, account_id, [1], "").code == 1002002
    assert withdraw(client, account_id, [1], None).code == 1002002
    assert last_answer(emu, "withdraw")[0] == 400
    assert withdraw(client, "6900000000000000000", [1], "o-z").code == 1002553
    assert last_answer(emu, "withdraw")[0] == 400
    assert emu.account(account_id)["points"] == 10 and emu.withdrawals() == []


# --- reconciliation --------------------------------------------------------------------------
def test_reconciliation_compares_points_only(emu: Emulator, client):
    account_id = emu.create_account("ou_1")
    emu.add_bonus(account_id, points=7, cash={"CNY": "12.30"})
    start = str(now_ms() - 1000)
    assert withdraw(client, account_id, [1, 2], "rec-1").success()
    end = str(now_ms() + 1000)

    # the cash was withdrawn too, but only points are reconciled: no mismatch
    ok = reconcile(client, start, end, [detail(account_id, 7)])
    assert ok.success() and ok.data.check_failed_list == []
    assert last_answer(emu, "reconciliation")[1] == {
        "code": 0,
        "msg": "SUCCESS",
        "data": {"check_failed_list": []},
    }
    cash_off = reconcile(client, start, end, [detail(account_id, 7, cash=99.0)])
    assert cash_off.success() and cash_off.data.check_failed_list == []

    off = reconcile(client, start, end, [detail(account_id, 9, cash=12.3)])
    assert off.success()
    (failed,) = off.data.check_failed_list
    assert failed.account_id == account_id
    assert failed.total_withdraw_reward_info.point_bonus == 7
    assert failed.total_recharge_reward_info.point_bonus == 9
    assert failed.total_withdraw_reward_info.cash_bonus is None
    assert last_answer(emu, "reconciliation")[1]["data"] == {
        "check_failed_list": [
            {
                "account_id": account_id,
                "total_withdraw_reward_info": {"point_bonus": 7},
                "total_recharge_reward_info": {"point_bonus": 9},
            }
        ]
    }


def test_reconciliation_leaves_out_what_hire_did_not_record(emu: Emulator, client):
    quiet = emu.create_account("ou_1")
    busy = emu.create_account("ou_2")
    unsent = emu.create_account("ou_3")
    emu.record_withdrawal(busy, 4)
    emu.record_withdrawal(unsent, 50)  # Hire has it, the caller does not send it: not reported
    start, end = str(now_ms() - 60_000), str(now_ms() + 60_000)

    resp = reconcile(client, start, end, [detail(quiet, 3), detail(busy, 4), detail(quiet)])
    (failed,) = resp.data.check_failed_list
    assert failed.account_id == quiet
    assert failed.total_withdraw_reward_info is None
    assert failed.total_recharge_reward_info.point_bonus == 3
    assert last_answer(emu, "reconciliation")[1]["data"]["check_failed_list"] == [
        {"account_id": quiet, "total_recharge_reward_info": {"point_bonus": 3}}
    ]

    # no trade_details at all (optional on the API page): nothing to report
    assert reconcile(client, start, end, None).data.check_failed_list == []
    assert reconcile(client, start, end, []).data.check_failed_list == []


def test_reconciliation_window_is_inclusive_and_counts_console_withdrawals(emu: Emulator, client):
    account_id = emu.create_account("ou_1")
    emu.add_bonus(account_id, points=100)
    emu.record_withdrawal(account_id, 10, trans_time_ms=1_000, order_id="c-1")
    emu.record_withdrawal(account_id, 20, cash={"CNY": "8"}, trans_time_ms="2000")
    emu.record_withdrawal(account_id, 40, trans_time_ms=3_001)
    assert emu.account(account_id)["points"] == 100  # the balance is left alone

    def hire_points(start: int, end: int) -> int | None:
        resp = reconcile(client, str(start), str(end), [detail(account_id, 999_999)])
        (failed,) = resp.data.check_failed_list
        info = failed.total_withdraw_reward_info
        return None if info is None else info.point_bonus

    assert hire_points(1_000, 2_000) == 30
    assert hire_points(1_001, 3_000) == 20
    assert hire_points(2_000, 2_000) == 20
    assert hire_points(0, 999) is None
    assert hire_points(0, 9_223_372_036_854_775_807) == 70  # no documented window limit
    assert reconcile(client, "1000", "3001", [detail(account_id, 70)]).data.check_failed_list == []

    console = emu.withdrawal("c-1")
    assert console["source"] == "console" and console["requests"] == 0
    assert console["trans_time"] == "1000"
    second = emu.withdrawals()[1]
    assert second["external_order_id"].startswith("console_")
    assert second["cash"] == {"CNY": Decimal("8.00")}

    # a withdraw call repeating a console order id is answered with it
    again = withdraw(client, account_id, [1], "c-1")
    assert again.data.trans_time == "1000" and again.data.withdrawal_details.point_bonus == 10
    assert emu.withdrawal("c-1")["requests"] == 1 and emu.account(account_id)["points"] == 100

    with pytest.raises(ValueError):
        emu.record_withdrawal(account_id, 1, order_id="c-1")
    with pytest.raises(KeyError):
        emu.record_withdrawal("6900000000000000000", 1)


def test_reconciliation_accepts_many_details(emu: Emulator, client):
    account_id = emu.create_account("ou_1")
    emu.record_withdrawal(account_id, 5, trans_time_ms=10)
    details = [detail(account_id, 5)] * 1000  # no documented maximum: each compared on its own
    resp = reconcile(client, "0", str(now_ms()), details)
    assert resp.success() and resp.data.check_failed_list == []


def test_reconciliation_errors(emu: Emulator, client):
    account_id = emu.create_account("ou_1")
    ok = [detail(account_id, 0)]
    cases = [
        (None, "2000", ok),
        ("1000", None, ok),
        ("", "2000", ok),
        ("soon", "2000", ok),
        (1000, "2000", ok),  # a number, not the string the SDK declares
        ("-5", "2000", ok),
        ("1000", "99999999999999999999", ok),  # past int64
        ("2001", "2000", ok),  # start after end
        ("1000", "2000", [detail(None, 1)]),
        ("1000", "2000", [detail("", 1)]),
        ("1000", "2000", [detail(account_id, "many")]),
    ]
    for start, end, details in cases:
        resp = reconcile(client, start, end, details)
        assert resp.code == 1002002, (start, end, resp.code, resp.msg)
        assert last_answer(emu, "reconciliation")[0] == 400
    missing = reconcile(client, "1000", "2000", [detail(account_id, 0), detail("69404", 0)])
    assert missing.code == 1002553
    assert last_answer(emu, "reconciliation")[0] == 400
    assert reconcile(client, "2000", "2000", ok).success()


# --- rate limits -----------------------------------------------------------------------------
def test_withdraw_and_reconciliation_allow_100_a_minute(emu: Emulator, client):
    assert DEFAULT_LIMITS["withdraw"] == (100, 60.0)
    assert DEFAULT_LIMITS["reconciliation"] == (100, 60.0)
    account_id = emu.create_account("ou_1")
    for i in range(100):
        assert withdraw(client, account_id, [1], f"rl-{i}").success(), i
    limited = withdraw(client, account_id, [1], "rl-100")
    assert limited.code == 99991400
    status, _ = last_answer(emu, "withdraw")
    assert status == 429
    assert "rl-100" not in {w["external_order_id"] for w in emu.withdrawals()}

    details = [detail(account_id, 0)]
    for i in range(100):
        assert reconcile(client, "0", "1", details).success(), i
    assert reconcile(client, "0", "1", details).code == 99991400  # a limit of its own


def test_standalone_entry_point():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.emulator",
            "--port",
            "0",
            "--app-id",
            "cli_cli",
            "--app-secret",
            "s",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        resp = requests.post(
            f"{url}/open-apis/auth/v3/tenant_access_token/internal",
            json={"app_id": "cli_cli", "app_secret": "s"},
            timeout=5,
        )
        assert resp.json()["code"] == 0
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
