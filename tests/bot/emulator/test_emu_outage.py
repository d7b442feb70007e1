"""The outage knob: Feishu refusing connections, or answering 503, for a while."""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import lark_oapi as lark
import pytest
import requests
from lark_oapi.core.exception import ObtainAccessTokenException
from urllib3.exceptions import NewConnectionError

from bot.emulator import Emulator

from .conftest import SECRET, Api
from .test_emu_referral_sdk import assets

TOKEN = "/open-apis/auth/v3/tenant_access_token/internal"
ASSETS = "/open-apis/hire/v1/referral_account/get_account_assets"
ENABLE = "/open-apis/hire/v1/referral_account/enable"


def wait_until(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def causes(exc: BaseException | None) -> list[type[BaseException]]:
    chain = []
    while exc is not None:
        chain.append(type(exc))
        exc = exc.__cause__ or exc.__context__
    return chain


def post_token(url: str, session: requests.Session | None = None) -> requests.Response:
    body = {"app_id": "cli_any", "app_secret": SECRET}
    return (session or requests).post(url + TOKEN, json=body, timeout=5)


def assert_refused(send: Callable[[], object]) -> None:
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        send()
    assert NewConnectionError in causes(info.value)
    assert ConnectionRefusedError in causes(info.value)


def test_refuse_outage_ends_by_itself_on_the_same_url_with_state_intact(emu: Emulator, api: Api):
    account_id = emu.create_account("ou_1")
    emu.add_bonus(account_id, points=7)
    params = {"referral_account_id": account_id}
    assert api.get(ASSETS, params=params).status_code == 200
    emu.fail_next("enable", kind="5xx")
    url, calls_before = emu.url, emu.calls

    started = time.monotonic()
    emu.outage(0.5)
    assert emu.in_outage
    assert_refused(lambda: post_token(url))
    assert_refused(lambda: api.get(ASSETS, params=params))
    assert emu.calls == calls_before  # nothing reached the emulator

    wait_until(lambda: not emu.in_outage)
    assert time.monotonic() - started >= 0.45
    assert emu.url == url
    resp = api.get(ASSETS, params=params)  # the token issued before the outage still works
    assert resp.status_code == 200
    assert resp.json()["data"]["account"]["assets"]["confirmed_bonus"]["point_bonus"] == 7
    assert api.post(ENABLE, json=params).status_code == 500  # the pending knob survived
    assert emu.calls[: len(calls_before)] == calls_before


def test_lark_client_gets_connection_refused_until_end_outage(emu: Emulator, client: lark.Client):
    account_id = emu.create_account("ou_1")
    assert assets(client, account_id).success()
    emu.outage(None)
    assert_refused(lambda: assets(client, account_id))
    assert emu.in_outage
    emu.end_outage()
    assert not emu.in_outage
    assert assets(client, account_id).success()


def test_end_outage_ends_a_timed_outage_early(emu: Emulator):
    emu.outage(30)
    assert_refused(lambda: post_token(emu.url))
    emu.end_outage()
    assert not emu.in_outage
    assert post_token(emu.url).status_code == 400  # answered (unknown app_id)


def test_keep_alive_session_fails_during_the_outage_and_recovers(emu: Emulator):
    session = requests.Session()
    assert post_token(emu.url, session).status_code == 400
    emu.outage(0.3)
    assert_refused(lambda: post_token(emu.url, session))
    wait_until(lambda: not emu.in_outage)
    assert post_token(emu.url, session).status_code == 400
    session.close()


def test_refuse_outage_closes_open_connections(emu: Emulator):
    address = urlsplit(emu.url)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=2)
    try:
        conn.request("GET", "/open-apis/bot/v3/info")
        resp = conn.getresponse()
        assert (resp.status, resp.will_close) == (400, False)  # answered, kept alive
        resp.read()
        emu.outage(None)
        assert conn.sock.recv(1) == b""  # the server closed the connection
    finally:
        conn.close()


def test_5xx_outage_answers_503_on_every_path_and_records_calls(
    emu: Emulator, api: Api, client: lark.Client
):
    account_id = emu.create_account("ou_1")
    assert assets(client, account_id).success()  # the client caches its tenant token
    emu.clear_calls()
    emu.outage(None, kind="5xx")
    assert emu.in_outage

    token = post_token(emu.url)
    assert token.status_code == 503
    assert token.json() == {"code": 1500, "msg": "系统错误 system error"}
    resp = api.get(ASSETS, params={"referral_account_id": account_id})
    assert (resp.status_code, resp.json()["code"]) == (503, 1002001)
    unknown = api.get("/open-apis/nope/v1/thing")
    assert (unknown.status_code, unknown.json()["code"]) == (503, 1500)
    sdk = assets(client, account_id)
    assert (sdk.code, sdk.raw.status_code) == (1002001, 503)
    assert [(c.operation, c.status) for c in emu.calls] == [
        ("tenant_token", 503),
        ("get_account_assets", 503),
        ("unknown", 503),
        ("get_account_assets", 503),
    ]
    assert emu.calls[0].body == {"app_id": "cli_any", "app_secret": SECRET}


def test_token_endpoint_5xx_fails_the_lark_client_token_fetch(emu: Emulator):
    account_id = emu.create_account("ou_1")
    emu.outage(None, kind="5xx")
    client = (
        lark.Client.builder()
        .app_id(emu.app_id)
        .app_secret(SECRET)
        .domain(emu.url)
        .log_level(lark.LogLevel.ERROR)
        .build()
    )
    with pytest.raises(ObtainAccessTokenException) as info:
        assets(client, account_id)
    assert info.value.code == 1500
    assert [(c.operation, c.status) for c in emu.calls] == [("tenant_token", 503)]


def test_timed_5xx_outage_ends_by_itself(emu: Emulator):
    emu.outage(0.3, kind="5xx")
    assert post_token(emu.url).status_code == 503
    wait_until(lambda: not emu.in_outage)
    assert post_token(emu.url).status_code == 400


def test_a_new_outage_replaces_the_current_one(emu: Emulator):
    emu.outage(None)
    emu.outage(None, kind="5xx")
    assert post_token(emu.url).status_code == 503
    emu.outage(0.2)
    assert_refused(lambda: post_token(emu.url))
    wait_until(lambda: not emu.in_outage)
    assert post_token(emu.url).status_code == 400  # the 5xx outage was replaced, not resumed


@pytest.mark.parametrize("kind", ["refuse", "5xx"])
def test_reset_ends_the_outage(emu: Emulator, kind: str):
    emu.outage(None, kind=kind)
    emu.reset()
    assert not emu.in_outage
    assert post_token(emu.url).status_code == 400


@pytest.mark.parametrize("seconds", [None, 0.2])
def test_stop_during_an_outage(seconds: float | None):
    emu = Emulator(app_id="cli_outage_stop", app_secret=SECRET).start()
    url = emu.url
    emu.outage(seconds)
    emu.stop()
    assert not emu.in_outage
    time.sleep(0.3 if seconds else 0)  # a pending timer must find nothing to reopen
    assert_refused(lambda: post_token(url))
    emu.stop()  # twice is fine
    with emu:  # and it starts again (on a new free port)
        assert post_token(emu.url).status_code == 400


def test_unknown_kind_or_bad_seconds_raise_value_error(emu: Emulator):
    with pytest.raises(ValueError, match="kind"):
        emu.outage(1, kind="teapot")
    with pytest.raises(ValueError, match="seconds"):
        emu.outage(0)
    assert not emu.in_outage
    assert post_token(emu.url).status_code == 400
