"""External referral rewards: import and delete through the real lark-oapi client, the
validation the API page documents, idempotency by external_id, and the balance-effect knob."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import lark_oapi as lark
import pytest
from lark_oapi.api.hire.v1 import (
    BonusAmount,
    Cash,
    CreateExternalReferralRewardRequest,
    DeleteExternalReferralRewardRequest,
    ExternalReward,
    P2HireReferralAccountAssetsUpdateV1,
)

from bot.emulator import Employee, Emulator, events
from bot.emulator.ratelimit import DEFAULT_LIMITS

from .conftest import Api

VTOKEN = "verification-token"
REWARDS = "/open-apis/hire/v1/external_referral_rewards"


def points(n: int) -> BonusAmount:
    return BonusAmount.builder().bonus_type(1).point_bonus(n).build()


def cash(currency: str, amount: float) -> BonusAmount:
    money = Cash.builder().currency_type(currency).amount(amount).build()
    return BonusAmount.builder().bonus_type(2).cash(money).build()


def import_reward(
    client: lark.Client,
    external_id: str,
    *,
    application_id: str | None = None,
    talent_id: str | None = None,
    bonus: BonusAmount | None = None,
    stage: int = 2,
    rule_type: int = 1,
    referrer: str = "ou_1",
    id_type: str = "open_id",
    **extra: str,
):
    builder = (
        ExternalReward.builder()
        .referral_user_id(referrer)
        .external_id(external_id)
        .rule_type(rule_type)
        .stage(stage)
        .bonus(bonus or points(100))
    )
    if application_id:
        builder = builder.application_id(application_id)
    if talent_id:
        builder = builder.talent_id(talent_id)
    for name, value in extra.items():
        builder = getattr(builder, name)(value)
    req = (
        CreateExternalReferralRewardRequest.builder()
        .user_id_type(id_type)
        .request_body(builder.build())
        .build()
    )
    return client.hire.v1.external_referral_reward.create(req)


def delete_reward(client: lark.Client, reward_id: str):
    req = (
        DeleteExternalReferralRewardRequest.builder().external_referral_reward_id(reward_id).build()
    )
    return client.hire.v1.external_referral_reward.delete(req)


@pytest.fixture
def application_id(emu: Emulator) -> str:
    return emu.add_referred_application("ou_1")


# --- import ---------------------------------------------------------------------------------
def test_import_a_points_reward(emu: Emulator, client, application_id):
    resp = import_reward(
        client,
        "ext-1",
        application_id=application_id,
        reason="入职",
        comment="已确认",
        onboard_time="1704720275002",
    )

    assert resp.success(), (resp.code, resp.msg)
    reward = emu.external_reward(resp.data.id)
    app = emu.application(application_id)
    assert reward["external_id"] == "ext-1" and reward["imported"] is True
    assert reward["referrer_open_id"] == "ou_1"
    assert (reward["application_id"], reward["talent_id"], reward["job_id"]) == (
        application_id,
        app["talent_id"],
        app["job_id"],
    )
    assert (reward["rule_type"], reward["stage"], reward["bonus_type"]) == (1, 2, 1)
    assert (reward["points"], reward["cash"]) == (100, {})
    assert (reward["reason"], reward["comment"], reward["onboard_time"]) == (
        "入职",
        "已确认",
        "1704720275002",
    )
    assert reward["create_time"].isdigit()  # "the time of the call" when not sent
    assert reward["requests"] == 1 and reward["deleted"] is False
    (call,) = emu.calls_for("external_reward_create")
    assert call.query == {"user_id_type": "open_id"}
    assert call.body["bonus"] == {"bonus_type": 1, "point_bonus": 100}
    assert json.loads(resp.raw.content) == {
        "code": 0,
        "msg": "success",
        "data": {"id": resp.data.id},
    }


def test_import_a_cash_reward_by_talent(emu: Emulator, client):
    talent_id = emu.add_talent("赵六")

    resp = import_reward(client, "ext-cash", talent_id=talent_id, bonus=cash("USD", 100.5))

    assert resp.success(), (resp.code, resp.msg)
    reward = emu.external_reward(resp.data.id)
    assert reward["bonus_type"] == 2 and reward["cash"] == {"USD": Decimal("100.50")}
    assert (reward["talent_id"], reward["application_id"], reward["job_id"]) == (
        talent_id,
        None,
        None,
    )


def test_referral_user_id_follows_user_id_type(emu: Emulator, client, application_id):
    resp = import_reward(
        client, "ext-union", application_id=application_id, referrer="on_1", id_type="union_id"
    )
    assert resp.success(), (resp.code, resp.msg)
    assert emu.external_reward(resp.data.id)["referrer_open_id"] == "ou_1"
    # an open_id is not a union_id
    wrong = import_reward(
        client, "ext-wrong", application_id=application_id, referrer="ou_1", id_type="union_id"
    )
    assert wrong.code == 1002002


def test_the_same_external_id_answers_the_same_reward(emu: Emulator, client, application_id):
    first = import_reward(client, "ext-1", application_id=application_id)
    # a retry, even one whose body drifted, creates nothing
    again = import_reward(client, "ext-1", application_id=application_id, bonus=points(999))

    assert first.success() and again.success()
    assert again.data.id == first.data.id
    (reward,) = emu.external_rewards()
    assert reward["points"] == 100 and reward["requests"] == 2
    other = import_reward(client, "ext-2", application_id=application_id)
    assert other.data.id != first.data.id and len(emu.external_rewards()) == 2


BASE: dict[str, Any] = {
    "referral_user_id": "ou_1",
    "external_id": "ext-raw",
    "rule_type": 1,
    "stage": 2,
    "bonus": {"bonus_type": 1, "point_bonus": 100},
}


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"referral_user_id": None}, "referral_user_id missing"),
        ({"external_id": None}, "external_id missing"),
        ({"external_id": ""}, "external_id empty"),
        ({"application_id": None}, "neither application_id nor talent_id"),
        ({"rule_type": None}, "rule_type missing"),
        ({"rule_type": 6}, "rule_type out of range"),
        ({"stage": None}, "stage missing"),
        ({"stage": 4}, "stage out of range"),
        ({"stage": "2"}, "stage as a string"),
        ({"bonus": None}, "bonus missing"),
        ({"bonus": {"bonus_type": 3, "point_bonus": 1}}, "bonus_type out of range"),
        ({"bonus": {"bonus_type": 1}}, "point_bonus missing"),
        ({"bonus": {"bonus_type": 1, "point_bonus": -5}}, "negative points"),
        ({"bonus": {"bonus_type": 1, "point_bonus": 1.5}}, "fractional points"),
        ({"bonus": {"bonus_type": 2, "point_bonus": 1}}, "cash missing"),
        (
            {"bonus": {"bonus_type": 2, "cash_bonus": [{"currency_type": "CNY", "amount": 1}]}},
            "the balance shape (cash_bonus) instead of the docs' cash",
        ),
        ({"bonus": {"bonus_type": 2, "cash": {"currency_type": "CNY", "amount": -1}}}, "negative"),
        ({"bonus": {"bonus_type": 2, "cash": {"currency_type": "CNY"}}}, "amount missing"),
        ({"bonus": {"bonus_type": 2, "cash": {"currency_type": "yuan", "amount": 1}}}, "currency"),
        ({"bonus": {"bonus_type": 2, "cash": {"currency_type": "CNY", "amount": "1"}}}, "text"),
        ({"referral_user_id": "ou_nobody"}, "unknown referrer"),
        ({"application_id": "6900000000000000000"}, "unknown application"),
        ({"job_id": "6900000000000000000"}, "unknown job"),
        ({"create_time": "yesterday"}, "a time that is not milliseconds"),
        ({"reason": 5}, "a reason that is not text"),
    ],
)
def test_import_refuses_what_the_docs_do_not_allow(
    emu: Emulator, api: Api, application_id, change, why
):
    body = {**BASE, "application_id": application_id, **change}
    body = {k: v for k, v in body.items() if v is not None}

    resp = api.post(REWARDS, params={"user_id_type": "open_id"}, json=body)

    assert (resp.status_code, resp.json()["code"]) == (400, 1002002), why
    assert emu.external_rewards() == []


def test_import_refuses_an_unknown_user_id_type(emu: Emulator, api: Api, application_id):
    body = {**BASE, "application_id": application_id}
    resp = api.post(REWARDS, params={"user_id_type": "email"}, json=body)
    assert resp.json()["code"] == 1002002
    # bonus_type defaults to 1 (points), as documented
    ok = api.post(REWARDS, json={**body, "bonus": {"point_bonus": 7}})
    assert ok.json()["code"] == 0, ok.text
    assert emu.external_rewards()[0]["points"] == 7


# --- delete ---------------------------------------------------------------------------------
def test_delete_an_imported_reward(emu: Emulator, client, application_id):
    reward_id = import_reward(client, "ext-1", application_id=application_id).data.id

    resp = delete_reward(client, reward_id)

    assert resp.success(), (resp.code, resp.msg)
    assert emu.external_reward(reward_id)["deleted"] is True
    (call,) = emu.calls_for("external_reward_delete")
    assert call.method == "DELETE" and call.path == f"{REWARDS}/{reward_id}"
    again = delete_reward(client, reward_id)
    assert (again.code, again.raw.status_code) == (1002556, 400)
    # its external_id is free again: a new import makes a new reward
    fresh = import_reward(client, "ext-1", application_id=application_id)
    assert fresh.success() and fresh.data.id != reward_id


def test_only_imported_rewards_can_be_deleted(emu: Emulator, client):
    hire_made = emu.add_hire_reward("ou_1", points=50)

    for reward_id in (hire_made, "6900000000000000000"):
        resp = delete_reward(client, reward_id)
        assert (resp.code, resp.raw.status_code) == (1002556, 400)
    assert emu.external_reward(hire_made)["deleted"] is False
    assert emu.external_reward(hire_made)["imported"] is False


# --- the balance effect ---------------------------------------------------------------------
def test_by_default_an_import_leaves_the_balance_alone(emu: Emulator, client, application_id):
    account_id = emu.create_account("ou_1")
    assert emu.reward_effect == "none"

    assert import_reward(client, "ext-1", application_id=application_id).success()

    assert emu.account(account_id)["points"] == 0
    assert emu.take_events() == []


def test_a_confirmed_import_can_credit_the_balance_and_tell_the_app(
    emu: Emulator, client, application_id
):
    account_id = emu.create_account("ou_1")
    emu.add_bonus(account_id, points=10, cash={"CNY": "1.00"})
    emu.set_reward_effect("credit_confirmed", token=VTOKEN)

    first = import_reward(client, "ext-1", application_id=application_id, bonus=points(100))
    import_reward(client, "ext-1", application_id=application_id)  # a repeat: no second credit
    import_reward(client, "ext-2", application_id=application_id, bonus=cash("CNY", 20.25))
    import_reward(client, "ext-3", application_id=application_id, stage=1)  # not confirmed yet
    import_reward(client, "ext-4", application_id=application_id, stage=3)  # already paid

    account = emu.account(account_id)
    assert (account["points"], account["cash"]) == (110, {"CNY": Decimal("21.25")})
    assert emu.external_reward(first.data.id)["credited_account"] == account_id
    sent = emu.take_events()
    assert [e["event"]["assets"]["confirmed_bonus"]["point_bonus"] for e in sent] == [110, 110]
    assert emu.take_events() == []
    # each one is what Feishu pushes: the SDK's dispatcher takes it
    got: list[P2HireReferralAccountAssetsUpdateV1] = []
    handler = (
        lark.EventDispatcherHandler.builder("", VTOKEN)
        .register_p2_hire_referral_account_assets_update_v1(got.append)
        .build()
    )
    req = lark.RawRequest()
    req.uri, req.body = "/webhook/event", events.encode(sent[-1])
    req.headers = events.signed_headers(req.body, "")
    assert handler.do(req).status_code == 200
    assert got[0].event.account_id == account_id
    assert [
        (c.currency_type, c.amount) for c in got[0].event.assets.confirmed_bonus.cash_bonus
    ] == [("CNY", 21.25)]

    # deleting a credited reward takes it back off, and says so
    assert delete_reward(client, first.data.id).success()
    assert emu.account(account_id)["points"] == 10
    (after_delete,) = emu.take_events()
    assert after_delete["event"]["assets"]["confirmed_bonus"]["point_bonus"] == 10


def test_a_disabled_or_missing_account_gets_no_event(emu: Emulator, client, application_id):
    emu.set_reward_effect("credit_confirmed", token=VTOKEN)
    # no referral account: nothing to credit
    assert import_reward(client, "ext-0", application_id=application_id).success()
    assert emu.external_rewards()[0]["credited_account"] is None
    account_id = emu.create_account("ou_1")
    emu.set_status(account_id, 2)

    assert import_reward(client, "ext-1", application_id=application_id).success()

    assert emu.account(account_id)["points"] == 100  # Hire keeps the books...
    assert emu.take_events() == []  # ...but sends balance events for enabled accounts only
    with pytest.raises(ValueError):
        emu.set_reward_effect("double")


def test_an_event_sink_receives_the_events_in_order(emu: Emulator, client, application_id):
    account_id = emu.create_account("ou_1")
    emu.set_reward_effect("credit_confirmed", token=VTOKEN)
    delivered: list[dict[str, Any]] = []
    emu.set_event_sink(delivered.append)

    for n in range(3):
        assert import_reward(client, f"ext-{n}", application_id=application_id).success()

    deadline = time.monotonic() + 5
    while len(delivered) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e["event"]["assets"]["confirmed_bonus"]["point_bonus"] for e in delivered] == [
        100,
        200,
        300,
    ]
    assert all(e["header"]["token"] == VTOKEN for e in delivered)
    assert delivered[0]["event"]["account_id"] == account_id
    assert emu.take_events() == []
    emu.set_event_sink(None)
    assert import_reward(client, "ext-9", application_id=application_id).success()
    assert len(emu.take_events()) == 1


# --- scope, limits, failures ----------------------------------------------------------------
def test_both_apis_need_the_import_scope(emu: Emulator, client, application_id):
    reward_id = import_reward(client, "ext-1", application_id=application_id).data.id
    emu.revoke_scopes("hire:external_referral_reward")

    created = import_reward(client, "ext-2", application_id=application_id)
    deleted = delete_reward(client, reward_id)

    for resp in (created, deleted):
        assert (resp.code, resp.raw.status_code) == (99991672, 400)
        assert "hire:external_referral_reward" in resp.msg
    assert len(emu.external_rewards()) == 1
    assert emu.external_reward(reward_id)["deleted"] is False


def test_documented_rate_limits():
    assert DEFAULT_LIMITS["external_reward_create"] == (10, 1.0)
    assert DEFAULT_LIMITS["external_reward_delete"] == (10, 1.0)


def test_rate_limited_imports_answer_429_and_create_nothing(emu: Emulator, client, application_id):
    emu.rate_limits["external_reward_create"] = (2, 60.0)  # a long window: no sliding past it

    answers = [import_reward(client, f"ext-{n}", application_id=application_id) for n in range(3)]

    assert [a.code for a in answers] == [0, 0, 99991400]
    assert answers[-1].raw.status_code == 429
    assert answers[-1].raw.headers["x-ogw-ratelimit-limit"] == "2"
    assert len(emu.external_rewards()) == 2


def test_rate_limited_deletes_answer_429(emu: Emulator, client, application_id):
    ids = [
        import_reward(client, f"ext-{n}", application_id=application_id).data.id for n in range(3)
    ]
    emu.rate_limits["external_reward_delete"] = (2, 60.0)

    answers = [delete_reward(client, reward_id) for reward_id in ids]

    assert [a.code for a in answers] == [0, 0, 99991400]
    assert emu.external_reward(ids[2])["deleted"] is False


def test_a_lost_answer_then_a_retry_still_makes_one_reward(emu: Emulator, client, application_id):
    # Hire acted, the answer was lost: the retry with the same external_id is answered the same id
    emu.fail_next("external_reward_create", kind="5xx_after")

    lost = import_reward(client, "ext-1", application_id=application_id)
    retry = import_reward(client, "ext-1", application_id=application_id)

    assert (lost.code, lost.raw.status_code) == (1002001, 500)
    assert retry.success()
    (reward,) = emu.external_rewards()
    assert reward["id"] == retry.data.id and reward["requests"] == 2


def test_reset_forgets_rewards_and_knobs(emu: Emulator, client, application_id):
    emu.set_reward_effect("credit_confirmed", token=VTOKEN)
    emu.create_account("ou_1")
    assert import_reward(client, "ext-1", application_id=application_id).success()

    emu.reset()

    assert emu.external_rewards() == [] and emu.take_events() == []
    assert emu.reward_effect == "none"
    emu.add_employee(Employee(open_id="ou_1"))
