"""Referral progress: job processes, applications, referrals, and the stage-change event, driven
through the real lark-oapi client and the SDK's own event dispatcher."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import lark_oapi as lark
import pytest
from lark_oapi.api.hire.v1 import (
    GetByApplicationReferralRequest,
    GetDetailApplicationRequest,
    ListApplicationRequest,
    ListJobProcessRequest,
    P2HireApplicationStageChangedV1,
)

from bot.emulator import Employee, Emulator, events, hire_apps
from bot.emulator.ratelimit import DEFAULT_LIMITS

from .test_emu_events import dispatching_endpoint
from .test_emu_ws import ack, dial, recv_frame

KEY = "encrypt-key-123"
VTOKEN = "verification-token"


def referral_of(client: lark.Client, application_id: str, id_type: str = "open_id"):
    req = (
        GetByApplicationReferralRequest.builder()
        .application_id(application_id)
        .user_id_type(id_type)
        .build()
    )
    return client.hire.v1.referral.get_by_application(req)


def detail(client: lark.Client, application_id: str, *options: str):
    builder = GetDetailApplicationRequest.builder().application_id(application_id)
    if options:
        builder = builder.options(list(options))
    return client.hire.v1.application.get_detail(builder.build())


def list_applications(client: lark.Client, **filters):
    builder = ListApplicationRequest.builder()
    for name, value in filters.items():
        builder = getattr(builder, name)(value)
    return client.hire.v1.application.list(builder.build())


def list_processes(
    client: lark.Client, page_size: int | None = None, page_token: str | None = None
):
    builder = ListJobProcessRequest.builder()
    if page_size is not None:
        builder = builder.page_size(page_size)
    if page_token is not None:
        builder = builder.page_token(page_token)
    return client.hire.v1.job_process.list(builder.build())


# --- referrals ------------------------------------------------------------------------------
def test_get_by_application_names_the_referrer(emu: Emulator, client):
    application_id = emu.add_referred_application("ou_1", create_time_ms=1_700_000_000_000)

    resp = referral_of(client, application_id)

    assert resp.success(), (resp.code, resp.msg)
    referral = resp.data.referral
    assert referral.application_id == application_id
    assert referral.create_time == 1_700_000_000_000
    assert referral.referral_user_id == "ou_1" and referral.referral_user.id == "ou_1"
    assert (referral.referral_user.name.zh_cn, referral.referral_user.name.en_us) == (
        "张三",
        "Zhang San",
    )
    assert referral.id == emu.application(application_id)["referral_id"]
    (call,) = emu.calls_for("referral_get_by_application")
    assert call.query == {"application_id": application_id, "user_id_type": "open_id"}
    # the ids follow user_id_type
    by_union = referral_of(client, application_id, "union_id").data.referral
    assert by_union.referral_user_id == "on_1" and by_union.referral_user.id == "on_1"


def test_a_referral_can_name_someone_outside_the_directory(emu: Emulator, client):
    application_id = emu.add_application(emu.add_job("QA"), emu.add_talent("王五"))
    emu.add_referral(application_id, "ou_gone", name_zh="前员工", name_en="Former")

    referral = referral_of(client, application_id).data.referral

    assert referral.referral_user_id == "ou_gone"
    assert referral.referral_user.name.zh_cn == "前员工"


def test_an_application_without_referral_answers_per_the_knob(emu: Emulator, client):
    plain = emu.add_application(emu.add_job("QA"), emu.add_talent("王五"))

    assert emu.referral_absent_answer == "empty"
    for application_id in (plain, "6900000000000000000"):  # no referral; no application
        resp = referral_of(client, application_id)
        assert resp.success() and resp.data.referral is None
        assert json.loads(resp.raw.content) == {"code": 0, "msg": "success", "data": {}}

    emu.set_referral_absent_answer("not_found")
    for application_id in (plain, "6900000000000000000"):
        resp = referral_of(client, application_id)
        assert (resp.code, resp.raw.status_code) == (1002201, 400)
    with pytest.raises(ValueError):
        emu.set_referral_absent_answer("maybe")


def test_get_by_application_refuses_bad_parameters(emu: Emulator, client, api):
    missing = client.hire.v1.referral.get_by_application(
        GetByApplicationReferralRequest.builder().build()
    )
    assert (missing.code, missing.raw.status_code) == (1002002, 400)
    bad_type = api.get(
        "/open-apis/hire/v1/referrals/get_by_application",
        params={"application_id": "1", "user_id_type": "email"},
    )
    assert bad_type.json()["code"] == 1002002


# --- application detail ---------------------------------------------------------------------
def test_get_detail_with_options_returns_each_sub_object(emu: Emulator, client):
    job_id = emu.add_job("Backend engineer", "BE-01")
    talent_id = emu.add_talent("李四", email="li@example.com", mobile=("86", "13800000000"))
    application_id = emu.add_application(job_id, talent_id, create_time_ms=1_700_000_000_000)
    emu.add_referral(application_id, "ou_1")

    resp = detail(client, application_id, "with_job", "with_talent", "with_referral")

    assert resp.success(), (resp.code, resp.msg)
    got = resp.data.application_detail
    basic = got.basic_info
    assert (basic.id, basic.job_id, basic.talent_id) == (application_id, job_id, talent_id)
    assert basic.active_status == 1
    assert basic.stage.type == 1 and basic.stage.zh_name == "简历筛选"
    assert [(t.stage_id, t.enter_time, t.exit_time) for t in basic.stage_time_list] == [
        (basic.stage.id, "1700000000000", None)
    ]
    assert (got.job.id, got.job.name, got.job.code) == (job_id, "Backend engineer", "BE-01")
    assert (got.talent.name, got.talent.email) == ("李四", "li@example.com")
    assert (got.talent.mobile_code, got.talent.mobile_number) == ("86", "13800000000")
    assert got.referral.basic_info.user_info.id == "ou_1"
    assert got.referral.basic_info.user_info.name.en_us == "Zhang San"
    (call,) = emu.calls_for("application_get_detail")
    assert call.path == f"/open-apis/hire/v1/applications/{application_id}/get_detail"

    bare = detail(client, application_id).data.application_detail
    assert bare.basic_info.id == application_id
    assert (bare.job, bare.talent, bare.referral) == (None, None, None)
    assert detail(client, application_id, "with_referral").data.application_detail.job is None


def test_get_detail_leaves_out_what_a_scope_does_not_cover(emu: Emulator, client):
    application_id = emu.add_referred_application("ou_1")
    emu.revoke_scopes("hire:job:readonly", "hire:referral:readonly")

    got = detail(client, application_id, "with_job", "with_talent", "with_referral")

    assert got.success()
    data = got.data.application_detail
    assert data.job is None and data.referral is None and data.talent.name == "李四"
    emu.grant_scopes("hire:job")  # the write scope also covers it
    assert detail(client, application_id, "with_job").data.application_detail.job is not None


def test_get_detail_errors(emu: Emulator, client):
    application_id = emu.add_referred_application("ou_1")

    unknown = detail(client, "6900000000000000000")
    assert (unknown.code, unknown.raw.status_code) == (1002201, 400)
    bad_option = detail(client, application_id, "with_job", "with_everything")
    assert (bad_option.code, bad_option.raw.status_code) == (1002002, 400)
    # documented options the emulator does not model add nothing
    assert detail(client, application_id, "with_offer").data.application_detail.offer is None


def test_moving_and_ending_show_in_the_detail(emu: Emulator, client):
    application_id = emu.add_referred_application("ou_1", create_time_ms=1_700_000_000_000)
    first = emu.application(application_id)["stage_id"]
    interview, hired = emu.stage_id(4), emu.stage_id(7)

    emu.move_application(application_id, interview, token=VTOKEN, at_ms=1_700_000_100_000)
    emu.move_application(application_id, hired, token=VTOKEN, at_ms=1_700_000_200_000)

    basic = detail(client, application_id).data.application_detail.basic_info
    assert basic.stage.id == hired and basic.stage.type == 7
    assert basic.stage.en_name == "Onboarded"
    assert [(t.stage_id, t.enter_time, t.exit_time) for t in basic.stage_time_list] == [
        (first, "1700000000000", "1700000100000"),
        (interview, "1700000100000", "1700000200000"),
        (hired, "1700000200000", None),
    ]
    assert basic.modify_time == "1700000200000" and basic.onboard_status == 1
    assert basic.active_status == 1

    ended = emu.end_application(application_id, at_ms=1_700_000_300_000)
    assert ended["active_status"] == 2 and ended["stage_id"] == hired
    basic = detail(client, application_id).data.application_detail.basic_info
    assert (basic.active_status, basic.modify_time) == (2, "1700000300000")


def test_tenant_operations_refuse_what_hire_would_not_do(emu: Emulator):
    application_id = emu.add_referred_application("ou_1")
    current = emu.application(application_id)["stage_id"]
    other_process = emu.add_job_process("校招流程", "Campus", process_type=2)

    with pytest.raises(ValueError):
        emu.move_application(application_id, current, token=VTOKEN)  # the stage it is in
    with pytest.raises(ValueError):
        emu.move_application(application_id, other_process["stage_list"][1]["id"], token=VTOKEN)
    with pytest.raises(KeyError):
        emu.move_application("6900000000000000000", current, token=VTOKEN)
    with pytest.raises(ValueError):  # before the last update
        emu.move_application(application_id, emu.stage_id(4), token=VTOKEN, at_ms=1)
    emu.end_application(application_id)
    with pytest.raises(ValueError):
        emu.move_application(application_id, emu.stage_id(4), token=VTOKEN)
    with pytest.raises(ValueError):
        emu.end_application(application_id)
    with pytest.raises(ValueError):
        emu.add_job_process(stages=[("怪", "Odd", 9)])
    assert emu.application(application_id)["stage_id"] == current


# --- application list -----------------------------------------------------------------------
def test_list_filters_by_update_time_and_status(emu: Emulator, client):
    job_id = emu.add_job("QA")
    ids = [
        emu.add_application(job_id, emu.add_talent(f"T{i}"), create_time_ms=1_000 * (i + 1))
        for i in range(4)
    ]
    emu.move_application(ids[0], emu.stage_id(4), token=VTOKEN, at_ms=9_000)
    emu.end_application(ids[1], at_ms=8_000)

    # updated at 9000, 8000, 3000, 4000; both ends inclusive
    window = list_applications(client, update_start_time=3_500, update_end_time=8_000)
    assert window.success(), (window.code, window.msg)
    assert window.data.items == [ids[1], ids[3]] and window.data.has_more is False
    call = emu.calls_for("application_list")[-1]
    assert call.query == {"update_start_time": "3500", "update_end_time": "8000"}
    assert list_applications(client, update_start_time=9_000).data.items == [ids[0]]

    assert list_applications(client, active_status="2").data.items == [ids[1]]
    assert list_applications(client, active_status="1").data.items == [ids[0], ids[2], ids[3]]
    assert list_applications(client, stage_id=emu.stage_id(4)).data.items == [ids[0]]
    other = emu.add_application(emu.add_job("Ops"), emu.add_talent("X"))
    assert list_applications(client, job_id=job_id).data.items == ids
    assert list_applications(client).data.items == [*ids, other]


def test_list_pages_through_every_application(emu: Emulator, client):
    job_id = emu.add_job("QA")
    ids = [emu.add_application(job_id, emu.add_talent(f"T{i}")) for i in range(5)]

    seen, token, pages = [], None, 0
    while True:
        kwargs = {"page_size": 2} | ({"page_token": token} if token else {})
        resp = list_applications(client, **kwargs)
        assert resp.success(), (resp.code, resp.msg)
        seen += resp.data.items
        pages += 1
        if not resp.data.has_more:
            assert resp.data.page_token is None
            break
        token = resp.data.page_token
    assert seen == ids and pages == 3
    assert len(emu.calls_for("application_list")) == 3


def test_list_refuses_bad_parameters(emu: Emulator, client):
    for kwargs in (
        {"page_size": 201},
        {"page_size": 0},
        {"page_token": "not-a-token"},
        {"active_status": "4"},
    ):
        resp = list_applications(client, **kwargs)
        assert (resp.code, resp.raw.status_code) == (1002002, 400), kwargs
    assert list_applications(client, page_size=200).success()


def test_list_refuses_a_time_that_is_not_milliseconds(emu: Emulator, api):
    resp = api.get("/open-apis/hire/v1/applications", params={"update_start_time": "yesterday"})
    assert (resp.status_code, resp.json()["code"]) == (400, 1002002)


# --- job processes --------------------------------------------------------------------------
def test_job_processes_list_stages_with_their_types(emu: Emulator, client):
    default = emu.add_job_process()
    campus = emu.add_job_process(
        "校招流程", "Campus", [("初筛", "Screening", 1), ("已入职", "Hired", 7)], process_type=2
    )

    resp = list_processes(client)

    assert resp.success(), (resp.code, resp.msg)
    assert [p.id for p in resp.data.items] == [default["id"], campus["id"]]
    listed = resp.data.items[0]
    assert [(s.zh_name, s.type) for s in listed.stage_list] == [
        (zh, kind) for zh, _, kind in hire_apps.DEFAULT_STAGES
    ]
    assert resp.data.items[1].type == 2
    assert [s.en_name for s in resp.data.items[1].stage_list] == ["Screening", "Hired"]
    assert emu.stage_id(7, campus["id"]) == campus["stage_list"][1]["id"]


def test_job_processes_page_at_most_100(emu: Emulator, client):
    made = [emu.add_job_process(f"流程{i}", f"P{i}")["id"] for i in range(3)]

    first = list_processes(client, page_size=2)
    assert [p.id for p in first.data.items] == made[:2] and first.data.has_more
    rest = list_processes(client, page_size=2, page_token=first.data.page_token)
    assert [p.id for p in rest.data.items] == made[2:] and not rest.data.has_more
    too_big = list_processes(client, page_size=101)
    assert (too_big.code, too_big.raw.status_code) == (1002002, 400)
    assert list_processes(client, page_size=100).success()


# --- scopes, limits, failures ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("operation", "scopes_needed", "call"),
    [
        (
            "referral_get_by_application",
            ("hire:referral:readonly", "hire:referral"),
            lambda client, app_id: referral_of(client, app_id),
        ),
        (
            "application_get_detail",
            ("hire:application:readonly", "hire:application"),
            lambda client, app_id: detail(client, app_id),
        ),
        (
            "application_list",
            ("hire:application:readonly", "hire:application"),
            lambda client, app_id: list_applications(client),
        ),
        (
            "job_process_list",
            ("hire:job_process:readonly",),
            lambda client, app_id: list_processes(client),
        ),
    ],
)
def test_each_api_needs_its_scope(emu: Emulator, client, operation, scopes_needed, call):
    application_id = emu.add_referred_application("ou_1")
    assert call(client, application_id).success()
    emu.revoke_scopes(*scopes_needed)

    refused = call(client, application_id)

    assert (refused.code, refused.raw.status_code) == (99991672, 400)
    assert set(scopes_needed) <= set(refused.msg.split("[", 1)[1].split("]", 1)[0].split(", "))
    assert [c.status for c in emu.calls_for(operation)] == [200, 400]
    if len(scopes_needed) > 1:  # either of the documented scopes will do
        emu.grant_scopes(scopes_needed[1])
        assert call(client, application_id).success()


def test_documented_rate_limits():
    assert DEFAULT_LIMITS["referral_get_by_application"] == (50, 1.0)
    assert DEFAULT_LIMITS["application_get_detail"] == (10, 1.0)
    assert DEFAULT_LIMITS["application_list"] == (50, 1.0)
    assert DEFAULT_LIMITS["job_process_list"] == (20, 1.0)


@pytest.mark.parametrize(
    "operation",
    [
        "referral_get_by_application",
        "application_get_detail",
        "application_list",
        "job_process_list",
    ],
)
def test_rate_limited_calls_answer_429(emu: Emulator, client, operation):
    # a long window, so the loaded test machine cannot slide past it
    emu.rate_limits[operation] = (2, 60.0)
    application_id = emu.add_referred_application("ou_1")
    call = {
        "referral_get_by_application": lambda: referral_of(client, application_id),
        "application_get_detail": lambda: detail(client, application_id),
        "application_list": lambda: list_applications(client),
        "job_process_list": lambda: list_processes(client),
    }[operation]

    answers = [call() for _ in range(3)]

    assert [a.code for a in answers] == [0, 0, 99991400]
    limited = answers[-1].raw
    assert limited.status_code == 429
    assert limited.headers["x-ogw-ratelimit-limit"] == "2"
    assert [c.status for c in emu.calls_for(operation)] == [200, 200, 429]


def test_the_hire_failure_knob_covers_these_apis(emu: Emulator, client):
    application_id = emu.add_referred_application("ou_1")
    emu.fail_next("hire", n=2)

    assert detail(client, application_id).code == 1002001
    assert list_processes(client).code == 1002001
    assert detail(client, application_id).success()


# --- the stage-change event -----------------------------------------------------------------
@pytest.fixture
def receiver() -> Iterator[tuple[str, list[P2HireApplicationStageChangedV1]]]:
    """A webhook endpoint that runs the SDK's dispatcher (decrypts, checks the signature and
    the verification token), standing in for the bot."""
    received: list[P2HireApplicationStageChangedV1] = []
    dispatcher = (
        lark.EventDispatcherHandler.builder(KEY, VTOKEN)
        .register_p2_hire_application_stage_changed_v1(received.append)
        .build()
    )

    with dispatching_endpoint(dispatcher) as url:
        yield url, received


def test_stage_change_arrives_signed_and_encrypted_at_a_webhook(emu: Emulator, receiver):
    url, received = receiver
    application_id = emu.add_referred_application("ou_1", create_time_ms=1_700_000_000_000)
    origin = emu.application(application_id)["stage_id"]
    hired = emu.stage_id(7)

    event = emu.move_application(
        application_id, hired, token=VTOKEN, event_id="ev-1", at_ms=1_700_000_000_123
    )
    assert event is not None
    result = events.deliver(url, event, encrypt_key=KEY)

    assert result.status == 200, result.body
    (got,) = received
    assert got.header.event_type == "hire.application.stage_changed_v1"
    assert got.header.event_id == "ev-1" and got.header.app_id == emu.app_id
    body = got.event
    assert (body.application_id, body.origin_stage_id, body.target_stage_id) == (
        application_id,
        origin,
        hired,
    )
    assert body.update_time == 1_700_000_000_123
    assert set(event["event"]) == {
        "application_id",
        "origin_stage_id",
        "target_stage_id",
        "update_time",
    }
    # a wrong key fails the signature: nothing more is handled
    again = emu.move_application(application_id, emu.stage_id(6), token=VTOKEN)
    assert again is not None
    assert events.deliver(url, again, encrypt_key="wrong").status == 500
    assert len(received) == 1


def test_stage_change_over_the_long_connection(emu: Emulator):
    conn, _ = dial(emu)
    application_id = emu.add_referred_application("ou_1")
    event = emu.move_application(application_id, emu.stage_id(4), token=VTOKEN)
    assert event is not None
    with ThreadPoolExecutor(max_workers=1) as pool:
        pushed = pool.submit(emu.ws_push, event, timeout=10)
        frame = recv_frame(conn)
        parsed = lark.JSON.unmarshal(frame.payload.decode("utf-8"), P2HireApplicationStageChangedV1)
        ack(conn, frame)
        assert pushed.result(timeout=10) == {"code": 200}
    conn.close()
    assert parsed.event.application_id == application_id
    assert parsed.event.target_stage_id == emu.stage_id(4)
    assert emu.ws_log[-1]["event_type"] == "hire.application.stage_changed_v1"


def test_no_stage_change_event_without_the_scope(emu: Emulator):
    application_id = emu.add_referred_application("ou_1")
    emu.revoke_scopes("hire:application:readonly")

    assert emu.move_application(application_id, emu.stage_id(2), token=VTOKEN) is None
    # the move itself happened in Hire
    assert emu.application(application_id)["stage_type"] == 2


def test_reset_forgets_the_recruiting_records(emu: Emulator, client):
    emu.add_referred_application("ou_1")
    emu.set_referral_absent_answer("not_found")

    emu.reset()
    emu.add_employee(Employee(open_id="ou_1"))

    assert emu.applications() == [] and emu.job_processes() == []
    assert emu.referral_absent_answer == "empty"
    assert list_processes(client).data.items == []
