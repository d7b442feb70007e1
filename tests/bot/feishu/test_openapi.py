"""The Open API gateway against the emulator: retries, rate limits, tokens, typed errors."""

import threading
import time

import pytest

from bot.feishu.openapi import OpenApi, OpenApiError, RetryPolicy, TokenCache, build_client
from bot.feishu.ratelimit import Priority, RateLimitTimeout, SlidingWindowLimiter
from bot.feishu.referral import ReferralGateway
from tests.conftest import make_settings


@pytest.fixture
def gateway(emulator, tmp_path) -> ReferralGateway:
    settings = make_settings(emulator, str(tmp_path / "x.db"))
    cache = TokenCache()
    return ReferralGateway(OpenApi(build_client(settings, cache), cache))


def test_get_assets_is_retried_after_5xx(gateway, emulator):
    account_id = emulator.create_account("ou_hire")
    emulator.fail_next("get_account_assets", n=2, kind="5xx")
    account = gateway.get_assets(account_id)
    assert account.account_id == account_id
    assert [c.status for c in emulator.calls_for("get_account_assets")] == [500, 500, 200]


def test_error_code_with_http_200_is_still_an_error(gateway, emulator):
    account_id = emulator.create_account("ou_hire")
    emulator.fail_next("get_account_assets", n=1, kind="server_error_code")
    assert gateway.get_assets(account_id).account_id == account_id
    assert len(emulator.calls_for("get_account_assets")) == 2


def test_rate_limit_answer_waits_for_the_reset_then_retries(gateway, emulator):
    account_id = emulator.create_account("ou_hire")
    emulator.fail_next("enable", n=1, kind="ratelimit", reset_seconds=1)
    started = time.monotonic()
    gateway.enable(account_id)
    assert time.monotonic() - started >= 1.0
    assert [c.status for c in emulator.calls_for("enable")] == [429, 200]


def test_create_is_not_retried_after_a_5xx(gateway, emulator):
    emulator.fail_next("create", n=1, kind="5xx")
    with pytest.raises(OpenApiError) as caught:
        gateway.register_by_email("hire@open.com")
    assert caught.value.code == 1002001
    assert caught.value.log_id  # Feishu support asks for it
    assert len(emulator.calls_for("create")) == 1


def test_create_is_retried_after_a_rate_limit_answer(gateway, emulator):
    emulator.fail_next("create", n=1, kind="ratelimit", reset_seconds=1)
    account = gateway.register_by_email("hire@open.com")
    assert [c.status for c in emulator.calls_for("create")] == [429, 200]
    assert len(emulator.accounts()) == 1 and account.account_id


def test_create_is_not_retried_when_the_connection_dropped_before_the_answer(gateway, emulator):
    # The request went out on a connection: Feishu may have acted, whatever the error says.
    emulator.fail_next("create", kind="drop_after")
    with pytest.raises(OpenApiError) as caught:
        gateway.register_by_email("hire@open.com")
    assert caught.value.transient and caught.value.may_have_acted
    assert len(emulator.calls_for("create")) == 1 and len(emulator.accounts()) == 1


def test_create_is_retried_when_the_connection_was_refused(emulator, tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    settings = make_settings(
        emulator, str(tmp_path / "x.db"), domain=f"http://127.0.0.1:{dead_port}"
    )
    cache = TokenCache()
    attempts = []
    api = OpenApi(build_client(settings, cache), cache, sleep=attempts.append)
    with pytest.raises(OpenApiError) as caught:
        ReferralGateway(api).register_by_email("hire@open.com")
    assert caught.value.code is None
    assert len(attempts) == RetryPolicy().attempts - 1  # retried: it certainly never arrived


def test_typed_errors_carry_code_and_message(gateway):
    with pytest.raises(OpenApiError) as caught:
        gateway.get_assets("999")
    assert (caught.value.code, caught.value.http_status) == (1002553, 400)


def test_expired_token_is_dropped_and_fetched_again(gateway, emulator):
    account_id = emulator.create_account("ou_hire")
    gateway.get_assets(account_id)
    emulator.expire_tokens()
    gateway.get_assets(account_id)
    assert len(emulator.calls_for("tenant_token")) == 2


def test_concurrent_callers_stay_under_10_per_second(gateway, emulator):
    account_id = emulator.create_account("ou_hire")
    threads = [threading.Thread(target=gateway.get_assets, args=(account_id,)) for _ in range(25)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = [c.status for c in emulator.calls_for("get_account_assets")]
    assert statuses == [200] * 25  # no rate-limit answer at all
    assert time.monotonic() - started >= 2.0  # 25 calls at 10/s need two full windows


def test_limiter_serves_interactive_callers_before_background_ones():
    limiter = SlidingWindowLimiter(2, 0.2)
    order: list[str] = []
    for _ in range(2):
        limiter.release(limiter.acquire())
    background = threading.Thread(
        target=lambda: (limiter.acquire(Priority.BACKGROUND), order.append("background")),
    )
    background.start()
    time.sleep(0.05)
    limiter.acquire(Priority.INTERACTIVE)
    order.append("interactive")
    background.join()
    assert order == ["interactive", "background"]


def test_a_slot_in_flight_is_held_until_its_answer_plus_a_period():
    now = [0.0]
    limiter = SlidingWindowLimiter(1, 1.0, clock=lambda: now[0])
    slot = limiter.acquire()
    now[0] = 5.0  # still in flight: no new slot
    with pytest.raises(RateLimitTimeout):
        limiter.acquire(timeout=0)
    limiter.release(slot)
    now[0] = 5.9
    with pytest.raises(RateLimitTimeout):
        limiter.acquire(timeout=0)
    now[0] = 6.0
    limiter.acquire(timeout=0)


def test_refused_connections_take_no_place_in_the_rate_window(emulator, tmp_path):
    # A minute's allowance of two: were refused attempts counted, the calls after the outage
    # would wait out the minute.
    settings = make_settings(emulator, str(tmp_path / "x.db"))
    cache = TokenCache()
    api = OpenApi(build_client(settings, cache), cache, limits={"get_account_assets": (2, 60.0)})
    gateway = ReferralGateway(api)
    account_id = emulator.create_account("ou_hire")
    gateway.get_assets(account_id)  # the token is fetched: the next call goes straight out
    emulator.outage(None, "refuse")
    with pytest.raises(OpenApiError) as caught:
        gateway.get_assets(account_id, deadline=time.monotonic() + 5)
    assert caught.value.transient and not caught.value.may_have_acted
    assert not api.reachability.reachable
    emulator.end_outage()
    began = time.monotonic()
    assert gateway.get_assets(account_id).account_id == account_id
    assert time.monotonic() - began < 2
    assert api.reachability.reachable


def test_a_limiter_forgets_a_slot_that_was_never_counted():
    limiter = SlidingWindowLimiter(1, 60.0)
    limiter.release(limiter.acquire(), counted=False)
    limiter.acquire(timeout=0.1)  # free at once
    with pytest.raises(RateLimitTimeout):
        limiter.acquire(timeout=0.1)


@pytest.mark.parametrize(
    ("lost", "then"),
    [
        ("drop_after", "refuse"),  # the connection drops with Feishu, which comes back refusing
        ("5xx_after", "ratelimit"),  # a 500 after acting, then rate-limit answers
    ],
)
def test_a_call_that_may_have_acted_says_so_though_its_retries_were_refused(
    emulator, tmp_path, lost, then
):
    # Feishu carries out the first attempt and its answer is lost; the idempotent call is sent
    # again, and every retry is refused. That proves nothing about the first attempt: a
    # command that trusted the last refusal would run again instead of reading first.
    account_id = emulator.create_account("ou_hire")
    emulator.fail_next("deactivate", kind=lost)
    if then == "ratelimit":
        emulator.fail_next("deactivate", n=RetryPolicy().attempts - 1, kind=then, reset_seconds=0)
    waits: list[float] = []

    def wait(seconds: float) -> None:  # Feishu goes away while the call waits to retry
        waits.append(seconds)
        if then == "refuse" and not emulator.in_outage:
            emulator.outage(None, "refuse")

    settings = make_settings(emulator, str(tmp_path / "x.db"))
    cache = TokenCache()
    gateway = ReferralGateway(OpenApi(build_client(settings, cache), cache, sleep=wait))
    try:
        with pytest.raises(OpenApiError) as caught:
            gateway.deactivate(account_id)
    finally:
        emulator.end_outage()
    assert len(waits) == RetryPolicy().attempts - 1  # retried, each retry refused
    assert caught.value.transient and caught.value.may_have_acted
    assert emulator.account(account_id)["status"] == 2  # the first attempt took effect
