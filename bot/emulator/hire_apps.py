"""Feishu Hire's recruiting side as the emulated tenant holds it: job processes and their
stages, jobs, talents, applications and referrals, the tenant-side operations on them (an HR
person moves an application to a stage, or ends it) and the event Feishu pushes for a stage
change. The HTTP answers over this state are in `hire_apps_api.py`.

Facts (feishu-facts.md "Referral progress"; lark-oapi 1.7.5 `api/hire/v1/model`):
- Stage `type`: 1 screening, 2 evaluation, 3 written test, 4 interview, 5 offer, 6 awaiting
  onboarding (待入职), 7 onboarded (已入职, hired), 8 other, 255 system default.
- `hire.application.stage_changed_v1` carries {application_id, origin_stage_id,
  target_stage_id} (strings) and update_time (int ms): no stage name or type. Subscribing needs
  hire:application:readonly (or hire:application).
- Ending (terminating) an application sets active_status 2 and keeps its stage. The SDK knows
  no termination event (its hire events: application stage_changed / deleted, offer status,
  talent deleted, referral account assets, ...), so ending one pushes nothing.
"""

from __future__ import annotations

import secrets
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from . import events
from .state import State

STAGE_TYPES: dict[int, str] = {
    1: "screening",
    2: "evaluation",
    3: "written test",
    4: "interview",
    5: "offer",
    6: "awaiting onboarding",
    7: "onboarded",
    8: "other",
    255: "system default",
}
PROCESS_TYPES = (1, 2)  # 1 social (社招), 2 campus (校招)
ACTIVE, INACTIVE = 1, 2  # active_status
ONBOARDED = 1  # onboard_status once the application reaches a type-7 stage
STAGE_CHANGED = "hire.application.stage_changed_v1"
# What a tenant's default process looks like: (zh_name, en_name, type)
DEFAULT_STAGES: tuple[tuple[str, str, int], ...] = (
    ("简历筛选", "Resume screening", 1),
    ("评估", "Evaluation", 2),
    ("笔试", "Written test", 3),
    ("面试", "Interview", 4),
    ("Offer 沟通", "Offer", 5),
    ("待入职", "To be onboarded", 6),
    ("已入职", "Onboarded", 7),
)
REFERRAL_ABSENT_ANSWERS = ("empty", "not_found")


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Stage:
    stage_id: str
    zh_name: str
    en_name: str
    type: int

    def json(self) -> dict[str, Any]:
        return {
            "id": self.stage_id,
            "zh_name": self.zh_name,
            "en_name": self.en_name,
            "type": self.type,
        }


@dataclass
class JobProcess:
    process_id: str
    zh_name: str
    en_name: str
    type: int
    stages: list[Stage]

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.stage_id == stage_id), None)

    def json(self) -> dict[str, Any]:
        return {
            "id": self.process_id,
            "zh_name": self.zh_name,
            "en_name": self.en_name,
            "type": self.type,
            "stage_list": [s.json() for s in self.stages],
        }


@dataclass
class Job:
    job_id: str
    name: str
    code: str
    process_id: str


@dataclass
class Talent:
    talent_id: str
    name: str
    email: str | None = None
    mobile: tuple[str, str] | None = None  # (country code without "+", number)


@dataclass
class StageTime:
    stage_id: str
    enter_time: int  # ms
    exit_time: int | None = None


@dataclass
class Application:
    application_id: str
    job_id: str
    talent_id: str
    stage_id: str
    create_time: int  # ms
    update_time: int  # ms
    active_status: int = ACTIVE
    stage_times: list[StageTime] = field(default_factory=list)
    onboard_status: int | None = None


@dataclass
class Referral:
    """Who referred the talent of an application. The referrer is named as the directory has
    them unless a name is given."""

    referral_id: str
    application_id: str
    referrer_open_id: str
    create_time: int  # ms
    name_zh: str | None = None
    name_en: str | None = None


@dataclass
class HireBook:
    """The tenant's recruiting records; hold `state.lock` while using it."""

    processes: dict[str, JobProcess] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    talents: dict[str, Talent] = field(default_factory=dict)
    applications: dict[str, Application] = field(default_factory=dict)
    referrals: dict[str, Referral] = field(default_factory=dict)  # by application_id
    # What get_by_application answers for an application with no referral (see hire_apps_api)
    referral_absent: str = "empty"
    _ids: set[str] = field(default_factory=set)

    def new_id(self, wanted: str | None = None) -> str:
        """`wanted`, or a fresh 19-digit id (Hire's ids look like "6930815272790114324")."""
        if wanted is not None:
            if not wanted or wanted in self._ids:
                raise ValueError(f"the id {wanted!r} is empty or already taken")
            self._ids.add(wanted)
            return wanted
        while True:
            candidate = "69" + "".join(str(secrets.randbelow(10)) for _ in range(17))
            if candidate not in self._ids:
                self._ids.add(candidate)
                return candidate

    def process_of(self, app: Application) -> JobProcess:
        return self.processes[self.jobs[app.job_id].process_id]

    def stage_of(self, app: Application) -> Stage:
        stage = self.process_of(app).stage(app.stage_id)
        assert stage is not None, "an application's stage belongs to its job's process"
        return stage

    def application(self, application_id: str) -> Application:
        app = self.applications.get(application_id)
        if app is None:
            raise KeyError(f"no application {application_id}")
        return app


# The book lives beside the tenant's state (one per emulator), dropped with it.
_BOOKS: weakref.WeakKeyDictionary[State, HireBook] = weakref.WeakKeyDictionary()


def book(state: State) -> HireBook:
    with state.lock:
        return _BOOKS.setdefault(state, HireBook())


def clear(state: State) -> None:
    with state.lock:
        _BOOKS.pop(state, None)


# --- tenant setup ---------------------------------------------------------------------------
def add_process(
    state: State,
    zh_name: str,
    en_name: str,
    stages: tuple[tuple[str, str, int], ...] | list[tuple[str, str, int]],
    process_type: int = 1,
    process_id: str | None = None,
) -> JobProcess:
    if process_type not in PROCESS_TYPES:
        raise ValueError(f"process_type is 1 (social) or 2 (campus), not {process_type!r}")
    if not stages:
        raise ValueError("a process needs at least one stage")
    for _, _, stage_type in stages:
        if stage_type not in STAGE_TYPES:
            raise ValueError(f"stage type must be one of {sorted(STAGE_TYPES)}, not {stage_type}")
    with state.lock:
        hire = book(state)
        process = JobProcess(
            hire.new_id(process_id),
            zh_name,
            en_name,
            process_type,
            [Stage(hire.new_id(), zh, en, kind) for zh, en, kind in stages],
        )
        hire.processes[process.process_id] = process
        return process


def default_process(state: State) -> JobProcess:
    """The tenant's first process, made with the usual stages on first use."""
    with state.lock:
        hire = book(state)
        if hire.processes:
            return next(iter(hire.processes.values()))
        return add_process(state, "社招流程", "Social hiring", DEFAULT_STAGES)


def add_job(state: State, name: str, code: str, process_id: str | None, job_id: str | None) -> Job:
    with state.lock:
        hire = book(state)
        if process_id is None:
            process_id = default_process(state).process_id
        elif process_id not in hire.processes:
            raise KeyError(f"no job process {process_id}")
        job = Job(hire.new_id(job_id), name, code, process_id)
        hire.jobs[job.job_id] = job
        return job


def add_talent(
    state: State,
    name: str,
    email: str | None,
    mobile: tuple[str, str] | None,
    talent_id: str | None,
) -> Talent:
    with state.lock:
        hire = book(state)
        if mobile is not None:
            mobile = (str(mobile[0]).lstrip("+"), str(mobile[1]))
        talent = Talent(hire.new_id(talent_id), name, email, mobile)
        hire.talents[talent.talent_id] = talent
        return talent


def add_application(
    state: State,
    job_id: str,
    talent_id: str,
    stage_id: str | None,
    application_id: str | None,
    create_time_ms: int | None,
) -> Application:
    with state.lock:
        hire = book(state)
        job = hire.jobs.get(job_id)
        if job is None:
            raise KeyError(f"no job {job_id}")
        if talent_id not in hire.talents:
            raise KeyError(f"no talent {talent_id}")
        process = hire.processes[job.process_id]
        stage = process.stages[0] if stage_id is None else process.stage(stage_id)
        if stage is None:
            raise ValueError(f"stage {stage_id} is not in the job's process {process.process_id}")
        at = now_ms() if create_time_ms is None else int(create_time_ms)
        app = Application(
            hire.new_id(application_id),
            job_id,
            talent_id,
            stage.stage_id,
            create_time=at,
            update_time=at,
            stage_times=[StageTime(stage.stage_id, at)],
        )
        if stage.type == 7:
            app.onboard_status = ONBOARDED
        hire.applications[app.application_id] = app
        return app


def add_referral(
    state: State,
    application_id: str,
    referrer_open_id: str,
    create_time_ms: int | None,
    referral_id: str | None,
    name_zh: str | None,
    name_en: str | None,
) -> Referral:
    with state.lock:
        hire = book(state)
        app = hire.application(application_id)
        if app.application_id in hire.referrals:
            raise ValueError(f"application {application_id} already has a referral")
        referral = Referral(
            hire.new_id(referral_id),
            app.application_id,
            referrer_open_id,
            now_ms() if create_time_ms is None else int(create_time_ms),
            name_zh,
            name_en,
        )
        hire.referrals[app.application_id] = referral
        return referral


# --- tenant operations ----------------------------------------------------------------------
def _when(app: Application, at_ms: int | None) -> int:
    """When a change happens: `at_ms`, or now; never before the application's last update
    (now is kept to it, so a change in the same millisecond still orders after it)."""
    if at_ms is None:
        return max(now_ms(), app.update_time)
    if int(at_ms) < app.update_time:
        raise ValueError(f"at_ms {at_ms} is before the application's last update")
    return int(at_ms)


def move(state: State, application_id: str, stage_id: str, at_ms: int | None) -> tuple[str, int]:
    """Move an active application to another stage of its process, as someone in Hire does:
    the stage, its entry in stage_time_list (the old one gets its exit_time) and update_time
    change; reaching an onboarded (type 7) stage sets onboard_status. Returns (origin stage id,
    update_time)."""
    with state.lock:
        hire = book(state)
        app = hire.application(application_id)
        if app.active_status != ACTIVE:
            raise ValueError(f"application {application_id} has ended; Hire moves only active ones")
        target = hire.process_of(app).stage(stage_id)
        if target is None:
            raise ValueError(f"stage {stage_id} is not in the process of {application_id}")
        if target.stage_id == app.stage_id:
            raise ValueError(f"application {application_id} is already in stage {stage_id}")
        at = _when(app, at_ms)
        origin = app.stage_id
        for entry in app.stage_times:
            if entry.exit_time is None:
                entry.exit_time = at
        app.stage_times.append(StageTime(target.stage_id, at))
        app.stage_id = target.stage_id
        app.update_time = at
        if target.type == 7:
            app.onboard_status = ONBOARDED
        return origin, at


def end(state: State, application_id: str, at_ms: int | None) -> Application:
    """End (terminate) an application: inactive, in the stage it was in. No event."""
    with state.lock:
        app = book(state).application(application_id)
        if app.active_status != ACTIVE:
            raise ValueError(f"application {application_id} has already ended")
        at = _when(app, at_ms)
        app.active_status = INACTIVE
        app.update_time = at
        return app


def snapshot(state: State, application_id: str) -> dict[str, Any]:
    """An application as tests read it (ms times as ints)."""
    with state.lock:
        hire = book(state)
        app = hire.application(application_id)
        stage = hire.stage_of(app)
        referral = hire.referrals.get(app.application_id)
        return {
            "application_id": app.application_id,
            "job_id": app.job_id,
            "talent_id": app.talent_id,
            "process_id": hire.jobs[app.job_id].process_id,
            "stage_id": stage.stage_id,
            "stage_type": stage.type,
            "active_status": app.active_status,
            "onboard_status": app.onboard_status,
            "stage_time_list": [
                {"stage_id": t.stage_id, "enter_time": t.enter_time, "exit_time": t.exit_time}
                for t in app.stage_times
            ],
            "create_time": app.create_time,
            "update_time": app.update_time,
            "referral_id": referral.referral_id if referral else None,
            "referrer_open_id": referral.referrer_open_id if referral else None,
        }


# --- the event ------------------------------------------------------------------------------
def stage_changed_event(
    application_id: str,
    origin_stage_id: str,
    target_stage_id: str,
    update_time_ms: int,
    *,
    token: str,
    app_id: str = "cli_x",
    tenant_key: str = events.DEFAULT_TENANT,
    event_id: str | None = None,
    create_time: int | str | None = None,
) -> dict[str, Any]:
    """`hire.application.stage_changed_v1` (P2HireApplicationStageChangedV1)."""
    event = {
        "application_id": application_id,
        "origin_stage_id": origin_stage_id,
        "target_stage_id": target_stage_id,
        "update_time": int(update_time_ms),
    }
    # the package's one envelope builder, so every event has the same header
    return events._envelope(
        STAGE_CHANGED,
        event,
        token=token,
        app_id=app_id,
        tenant_key=tenant_key,
        event_id=event_id,
        create_time=create_time,
    )
