"""The four referral-account operations, driven through the real lark-oapi client."""

from __future__ import annotations

from decimal import Decimal

import lark_oapi as lark
from lark_oapi.api.hire.v1 import (
    CreateReferralAccountRequest,
    CreateReferralAccountRequestBody,
    DeactivateReferralAccountRequest,
    EnableReferralAccountRequest,
    EnableReferralAccountRequestBody,
    GetAccountAssetsReferralAccountRequest,
    Mobile,
)

from bot.emulator import Employee, Emulator


def create_by_email(client: lark.Client, email: str):
    body = CreateReferralAccountRequestBody.builder().email(email).build()
    req = CreateReferralAccountRequest.builder().user_id_type("open_id").request_body(body).build()
    return client.hire.v1.referral_account.create(req)


def create_by_mobile(client: lark.Client, code: str, number: str):
    mobile = Mobile.builder().code(code).number(number).build()
    body = CreateReferralAccountRequestBody.builder().mobile(mobile).build()
    req = CreateReferralAccountRequest.builder().request_body(body).build()
    return client.hire.v1.referral_account.create(req)


def assets(client: lark.Client, account_id: str):
    req = (
        GetAccountAssetsReferralAccountRequest.builder()
        .referral_account_id(account_id)
        .user_id_type("open_id")
        .build()
    )
    return client.hire.v1.referral_account.get_account_assets(req)


def test_create_by_email_registers_a_new_enabled_empty_account(emu: Emulator, client):
    resp = create_by_email(client, "hire@open.com")
    assert resp.success(), (resp.code, resp.msg)
    account = resp.data.account
    assert len(account.account_id) == 19 and account.account_id.isdigit()
    assert account.status == 1
    assert account.assets.confirmed_bonus.point_bonus == 0
    assert account.assets.confirmed_bonus.cash_bonus == []
    assert emu.account(account.account_id)["open_id"] == "ou_1"
    assert resp.get_log_id()
    call = emu.calls_for("create")[-1]
    assert call.body == {"email": "hire@open.com"}
    assert call.query == {"user_id_type": "open_id"}
    assert call.headers["Authorization"].startswith("Bearer t-")
    assert [c.operation for c in emu.calls] == ["tenant_token", "create"]


def test_create_by_mobile_returns_the_existing_account(emu: Emulator, client):
    existing = emu.create_account("ou_1")
    emu.add_bonus(existing, points=300)
    emu.set_status(existing, 2)
    resp = create_by_mobile(client, "86", "18900001111")
    assert resp.success(), (resp.code, resp.msg)
    account = resp.data.account
    assert account.account_id == existing
    assert account.assets.confirmed_bonus.point_bonus == 300 and account.status == 2
    assert len(emu.accounts()) == 1


def test_a_referrers_mobile_of_elsewhere_comes_without_its_code(emu: Emulator, client):
    emu.add_employee(Employee(open_id="ou_hk", mobile=("852", "61234567")))
    assert create_by_mobile(client, "852", "61234567").success()
    assert create_by_mobile(client, "86", "61234567").code == 1002551  # the code counts
    (account,) = [a for a in emu.accounts() if a["open_id"] == "ou_hk"]
    assert assets(client, account["account_id"]).data.account.referrer.mobile == "61234567"


def test_create_errors(emu: Emulator, client):
    emu.add_employee(Employee(open_id="ou_2", email="dup@open.com"))
    emu.add_employee(Employee(open_id="ou_3", email="dup@open.com"))
    assert create_by_email(client, "nobody@open.com").code == 1002551
    assert create_by_email(client, "dup@open.com").code == 1002552
    assert create_by_email(client, "not-an-email").code == 1002002
    assert create_by_mobile(client, "86", "12ab").code == 1002002
    req = (
        CreateReferralAccountRequest.builder()
        .request_body(CreateReferralAccountRequestBody.builder().build())
        .build()
    )
    assert client.hire.v1.referral_account.create(req).code == 1002002
    assert [c.status for c in emu.calls_for("create")] == [400] * 5
    assert emu.accounts() == []


def test_enable_deactivate_and_assets(emu: Emulator, client):
    account_id = emu.create_account("ou_1")
    emu.add_bonus(account_id, points=30, cash={"CNY": Decimal("100.50"), "USD": "2"})

    req = DeactivateReferralAccountRequest.builder().referral_account_id(account_id).build()
    resp = client.hire.v1.referral_account.deactivate(req)
    assert resp.success() and resp.data.account.status == 2
    assert emu.account(account_id)["status"] == 2

    resp = assets(client, account_id)
    assert resp.success()
    acc = resp.data.account
    assert acc.status == 2
    assert acc.assets.confirmed_bonus.point_bonus == 30
    cash = {c.currency_type: c.amount for c in acc.assets.confirmed_bonus.cash_bonus}
    assert cash == {"CNY": 100.5, "USD": 2.0}
    assert acc.referrer.id == "ou_1"
    assert acc.referrer.name.zh_cn == "张三" and acc.referrer.name.en_us == "Zhang San"
    assert acc.referrer.email == "hire@open.com"
    assert acc.referrer.mobile == "18900001111"

    body = EnableReferralAccountRequestBody.builder().referral_account_id(account_id).build()
    resp = client.hire.v1.referral_account.enable(
        EnableReferralAccountRequest.builder().request_body(body).build()
    )
    assert resp.success() and resp.data.account.status == 1
    assert emu.account(account_id)["status"] == 1


def test_unknown_and_missing_account_ids(emu: Emulator, client):
    assert assets(client, "6942778198054125570").code == 1002553
    req = DeactivateReferralAccountRequest.builder().referral_account_id("123").build()
    assert client.hire.v1.referral_account.deactivate(req).code == 1002553
    body = EnableReferralAccountRequestBody.builder().referral_account_id("999").build()
    enable = EnableReferralAccountRequest.builder().request_body(body).build()
    assert client.hire.v1.referral_account.enable(enable).code == 1002553
    empty = EnableReferralAccountRequest.builder().request_body(
        EnableReferralAccountRequestBody.builder().build()
    )
    assert client.hire.v1.referral_account.enable(empty.build()).code == 1002002
    missing = GetAccountAssetsReferralAccountRequest.builder().build()
    assert client.hire.v1.referral_account.get_account_assets(missing).code == 1002002


def test_sdk_surfaces_expired_tokens(emu: Emulator, client):
    account_id = emu.create_account("ou_1")
    assert assets(client, account_id).success()
    emu.expire_tokens()
    resp = assets(client, account_id)  # the SDK still holds its cached token
    assert resp.code == 99991663
    assert emu.calls_for("get_account_assets")[-1].status == 400
