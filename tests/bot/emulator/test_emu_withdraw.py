"""withdraw and reconciliation through the SDK, plus the standalone entry point."""

from __future__ import annotations

import subprocess
import sys
import time
from decimal import Decimal

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


def withdraw(client, account_id: str, types: list[int], order: str):
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
    again = withdraw(client, account_id, [2], "order-1")
    assert again.data.trans_time == resp.data.trans_time
    assert again.data.withdrawal_details.cash_bonus[0].amount == 100.5
    assert emu.account(account_id)["cash"] == {"CNY": Decimal("5.00")}  # not withdrawn twice

    both = withdraw(client, account_id, [1, 2], "order-2")
    assert both.data.withdrawal_details.point_bonus == 40
    assert emu.account(account_id)["points"] == 0 and emu.account(account_id)["cash"] == {}
    assert len(emu.withdrawals()) == 2


def test_withdraw_errors(emu: Emulator, client):
    account_id = emu.create_account("ou_1")
    emu.add_bonus(account_id, points=10)
    emu.set_status(account_id, 2)
    assert withdraw(client, account_id, [1], "o-x").code == 1002002
    assert emu.account(account_id)["points"] == 10
    emu.set_status(account_id, 1)
    assert withdraw(client, account_id, [3], "o-y").code == 1002002
    assert withdraw(client, "6900000000000000000", [1], "o-z").code == 1002553
    assert emu.account(account_id)["points"] == 10


def test_reconciliation_compares_with_withdrawals(emu: Emulator, client):
    account_id = emu.create_account("ou_1")
    emu.add_bonus(account_id, points=7, cash={"CNY": "12.30"})
    start = str(int(time.time() * 1000) - 1000)
    assert withdraw(client, account_id, [1, 2], "rec-1").success()
    end = str(int(time.time() * 1000) + 1000)

    def reconcile(points: int, amount: float):
        info = (
            BonusAmount.builder()
            .point_bonus(points)
            .cash_bonus([Cash.builder().currency_type("CNY").amount(amount).build()])
            .build()
        )
        detail = TradeDetail.builder().account_id(account_id).total_recharge_reward_info(info)
        body = (
            ReconciliationReferralAccountRequestBody.builder()
            .start_trans_time(start)
            .end_trans_time(end)
            .trade_details([detail.build()])
            .build()
        )
        req = ReconciliationReferralAccountRequest.builder().request_body(body).build()
        return client.hire.v1.referral_account.reconciliation(req)

    ok = reconcile(7, 12.3)
    assert ok.success() and ok.data.check_failed_list == []
    off = reconcile(7, 99.0)
    (failed,) = off.data.check_failed_list
    assert failed.account_id == account_id
    assert failed.total_withdraw_reward_info.cash_bonus[0].amount == 12.3
    assert failed.total_recharge_reward_info.cash_bonus[0].amount == 99.0


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
