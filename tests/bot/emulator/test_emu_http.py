"""Tokens, generic errors, rate limits and knobs, over raw HTTP."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from bot.emulator import Emulator

from .conftest import SECRET, Api

ASSETS = "/open-apis/hire/v1/referral_account/get_account_assets"
ENABLE = "/open-apis/hire/v1/referral_account/enable"


def test_token_endpoints(emu: Emulator):
    for kind in ("tenant_access_token", "app_access_token"):
        url = f"{emu.url}/open-apis/auth/v3/{kind}/internal"
        bad = requests.post(url, json={"app_id": emu.app_id, "app_secret": "nope"}, timeout=5)
        assert bad.status_code == 400
        assert bad.json()["code"] == 10014
        good = requests.post(url, json={"app_id": emu.app_id, "app_secret": SECRET}, timeout=5)
        body = good.json()
        assert good.status_code == 200 and body["code"] == 0 and body["expire"] == 7200
        assert body["tenant_access_token"].startswith("t-")
        assert good.headers["Content-Type"] == "application/json; charset=utf-8"
        assert good.headers["X-Tt-Logid"]
    assert body["app_access_token"].startswith("a-")
    assert [c.status for c in emu.calls] == [400, 200, 400, 200]
    assert [c.operation for c in emu.calls] == ["tenant_token"] * 2 + ["app_token"] * 2


def test_bearer_token_checks(emu: Emulator, api: Api):
    account_id = emu.create_account("ou_1")
    params = {"referral_account_id": account_id}
    missing = api.get(ASSETS, params=params, headers={})
    assert (missing.status_code, missing.json()["code"]) == (400, 99991661)
    wrong = api.get(ASSETS, params=params, headers={"Authorization": "Bearer t-forged"})
    assert (wrong.status_code, wrong.json()["code"]) == (400, 99991663)
    assert api.get(ASSETS, params=params).json()["code"] == 0
    emu.expire_tokens()
    expired = api.get(ASSETS, params=params)
    assert (expired.status_code, expired.json()["code"]) == (400, 99991663)
    # the token check comes before injected failures and limits
    emu.fail_next("get_account_assets", kind="5xx")
    assert api.get(ASSETS, params=params, headers={}).json()["code"] == 99991661


def test_unknown_path_and_bad_json(emu: Emulator, api: Api):
    resp = api.get("/open-apis/nope/v1/thing")
    assert (resp.status_code, resp.json()) == (404, {"code": 404, "msg": "not found"})
    assert emu.calls[-1].operation == "unknown"
    resp = api.post(
        ENABLE,
        data=b"{not json",
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )
    assert (resp.status_code, resp.json()["code"]) == (400, 9499)


def test_rate_limit_429_with_gateway_headers(emu: Emulator, api: Api):
    account_id = emu.create_account("ou_1")
    params = {"referral_account_id": account_id}
    statuses = [api.get(ASSETS, params=params).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    limited = api.get(ASSETS, params=params)
    assert limited.status_code == 429
    assert limited.json() == {"code": 99991400, "msg": "request trigger frequency limit"}
    assert limited.headers["x-ogw-ratelimit-limit"] == "10"
    assert int(limited.headers["x-ogw-ratelimit-reset"]) >= 1
    assert [c.status for c in emu.calls_for("get_account_assets")].count(429) == 2
    # another operation has its own window
    assert api.post(ENABLE, json={"referral_account_id": account_id}).status_code == 200


def test_rate_limit_override_and_window_slides():
    with Emulator(
        app_id="cli_rl_override", app_secret=SECRET, rate_limits={"get_account_assets": (2, 0.3)}
    ) as emu:
        api = Api(emu)
        account_id = emu.create_account("ou_1")
        params = {"referral_account_id": account_id}
        assert [api.get(ASSETS, params=params).status_code for _ in range(3)] == [200, 200, 429]
        time.sleep(0.35)
        assert api.get(ASSETS, params=params).status_code == 200


def test_rate_limits_off():
    with Emulator(app_id="cli_rl_off", app_secret=SECRET, enforce_rate_limits=False) as emu:
        api = Api(emu)
        account_id = emu.create_account("ou_1")
        params = {"referral_account_id": account_id}
        assert {api.get(ASSETS, params=params).status_code for _ in range(15)} == {200}


def test_fail_next_kinds(emu: Emulator, api: Api):
    account_id = emu.create_account("ou_1")
    params = {"referral_account_id": account_id}
    emu.fail_next("get_account_assets", n=2, kind="5xx")
    emu.fail_next("get_account_assets", kind="ratelimit", reset_seconds=7)
    emu.fail_next("get_account_assets", kind="server_error_code")
    first, second = api.get(ASSETS, params=params), api.get(ASSETS, params=params)
    for resp in (first, second):
        assert resp.status_code == 500
        assert resp.json()["code"] == 1002001
    limited = api.get(ASSETS, params=params)
    assert limited.status_code == 429 and limited.json()["code"] == 99991400
    assert limited.headers["x-ogw-ratelimit-reset"] == "7"
    coded = api.get(ASSETS, params=params)
    assert coded.status_code == 200 and coded.json()["code"] == 1002001
    assert api.get(ASSETS, params=params).json()["code"] == 0
    # other operations were untouched
    emu.fail_next("enable")
    assert api.get(ASSETS, params=params).json()["code"] == 0


def test_latency_keeps_server_responsive(emu: Emulator, api: Api):
    account_id = emu.create_account("ou_1")
    emu.set_latency("get_account_assets", 0.6)
    slow_result: dict = {}

    def slow() -> None:
        t0 = time.monotonic()
        resp = api.get(ASSETS, params={"referral_account_id": account_id})
        slow_result.update(status=resp.status_code, elapsed=time.monotonic() - t0)

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    fast = api.post(ENABLE, json={"referral_account_id": account_id})
    fast_elapsed = time.monotonic() - t0
    thread.join()
    assert fast.status_code == 200 and fast_elapsed < 0.4
    assert slow_result["status"] == 200 and slow_result["elapsed"] >= 0.6
    emu.set_latency("get_account_assets", 0)
    t0 = time.monotonic()
    api.get(ASSETS, params={"referral_account_id": account_id})
    assert time.monotonic() - t0 < 0.4


def test_bot_info_calls_and_reset(emu: Emulator, api: Api):
    body = api.get("/open-apis/bot/v3/info").json()
    assert body["code"] == 0 and body["bot"]["app_name"] == "referral-bot"
    assert body["bot"]["open_id"].startswith("ou_")
    call = emu.calls_for("bot_info")[0]
    assert (call.method, call.path, call.status, call.response) == (
        "GET",
        "/open-apis/bot/v3/info",
        200,
        body,
    )
    assert call.at <= time.time()
    emu.clear_calls()
    assert emu.calls == []
    emu.create_account("ou_1")
    emu.set_latency("*", 5)
    emu.reset()
    assert emu.accounts() == [] and emu.messages == []
    t0 = time.monotonic()
    assert api.get("/open-apis/bot/v3/info").status_code == 200  # token survives, no latency
    assert time.monotonic() - t0 < 1


def test_a_5xx_after_the_request_was_carried_out(emu: Emulator, api: Api):
    account_id = emu.create_account("ou_1")
    emu.add_bonus(account_id, points=7)
    emu.fail_next("withdraw", kind="5xx_after")
    path = f"/open-apis/hire/v1/referral_account/{account_id}/withdraw"
    body = {"withdraw_bonus_type": [1], "external_order_id": "o-1"}
    lost = api.post(path, json=body)
    assert (lost.status_code, lost.json()["code"]) == (500, 1002001)
    assert emu.account(account_id)["points"] == 0  # ... yet Feishu acted
    again = api.post(path, json=body)  # the repeat of the order id gets the original
    assert (
        again.status_code == 200 and again.json()["data"]["withdrawal_details"]["point_bonus"] == 7
    )
    (made,) = emu.withdrawals()
    assert made["requests"] == 2


def test_an_answer_dropped_after_the_request_was_carried_out(emu: Emulator, api: Api):
    account_id = emu.create_account("ou_1")
    emu.fail_next("deactivate", kind="drop_after")
    path = f"/open-apis/hire/v1/referral_account/{account_id}/deactivate"
    with pytest.raises(requests.ConnectionError):  # the connection closes without an answer
        api.post(path)
    assert emu.account(account_id)["status"] == 2  # ... yet Feishu acted
    (call,) = emu.calls_for("deactivate")
    assert call.status == 200
    assert api.post(path).status_code == 200  # one request only


def test_fail_until_stopped_fails_only_the_referral_api_until_stopped(emu: Emulator, api: Api):
    account_id = emu.create_account("ou_1")
    params = {"referral_account_id": account_id}
    emu.fail_until_stopped("hire", kind="server_error_code")
    for _ in range(3):  # not a count: every request, until stopped
        failed = api.get(ASSETS, params=params)
        assert (failed.status_code, failed.json()["code"]) == (200, 1002001)
    refused = api.post(ENABLE, json={"referral_account_id": account_id})
    assert refused.json()["code"] == 1002001
    assert api.get("/open-apis/bot/v3/info").json()["code"] == 0  # IM works meanwhile
    emu.stop_failing()
    assert api.get(ASSETS, params=params).json()["code"] == 0


def test_fail_until_stopped_per_operation_and_after_the_fact(emu: Emulator, api: Api):
    account_id = emu.create_account("ou_1")
    params = {"referral_account_id": account_id}
    emu.fail_until_stopped("enable", kind="5xx_after")
    emu.set_status(account_id, 2)
    lost = api.post(ENABLE, json={"referral_account_id": account_id})
    assert (lost.status_code, lost.json()["code"]) == (500, 1002001)
    assert emu.account(account_id)["status"] == 1  # carried out, then answered 500
    assert api.get(ASSETS, params=params).json()["code"] == 0  # other operations work
    emu.stop_failing("enable")
    assert api.post(ENABLE, json={"referral_account_id": account_id}).json()["code"] == 0
    with pytest.raises(ValueError):
        emu.fail_until_stopped("enable", kind="sometimes")
