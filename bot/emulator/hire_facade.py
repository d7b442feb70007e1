"""The Emulator's recruiting side for tests and the sandbox: job processes, jobs, talents,
applications and referrals (hire_apps.py), external rewards (rewards.py) and the events the
tenant sends on its own (outbox.py). Mixed into `Emulator`."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from . import hire_apps, outbox, rewards, scopes
from .context import Context
from .outbox import Sink
from .state import State, money


class HireFacade:
    _state: State
    _ctx: Context

    # --- processes, jobs, talents ------------------------------------------------------------
    def add_job_process(
        self,
        zh_name: str = "社招流程",
        en_name: str = "Social hiring",
        stages: Iterable[tuple[str, str, int]] | None = None,
        *,
        process_type: int = 1,
        process_id: str | None = None,
    ) -> dict[str, Any]:
        """A recruiting process with its stages, each (zh_name, en_name, type) (default
        `hire_apps.DEFAULT_STAGES`: screening ... onboarded). Returns it as job_processes
        lists it: {id, zh_name, en_name, type, stage_list [{id, zh_name, en_name, type}]}."""
        listed = list(hire_apps.DEFAULT_STAGES if stages is None else stages)
        process = hire_apps.add_process(
            self._state, zh_name, en_name, listed, process_type, process_id
        )
        with self._state.lock:
            return process.json()

    def job_processes(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return [p.json() for p in hire_apps.book(self._state).processes.values()]

    def stage_id(self, stage_type: int, process_id: str | None = None) -> str:
        """The id of the first stage of `stage_type` (7: onboarded/hired) in the process
        (default: the tenant's first, made with the default stages on first use)."""
        with self._state.lock:
            if process_id is None:
                process = hire_apps.default_process(self._state)
            else:
                found = hire_apps.book(self._state).processes.get(process_id)
                if found is None:
                    raise KeyError(f"no job process {process_id}")
                process = found
            for stage in process.stages:
                if stage.type == stage_type:
                    return stage.stage_id
        raise KeyError(f"no stage of type {stage_type} in process {process.process_id}")

    def add_job(
        self,
        name: str,
        code: str = "",
        *,
        process_id: str | None = None,
        job_id: str | None = None,
    ) -> str:
        """A job (in `process_id`, default the tenant's first process); returns its id."""
        return hire_apps.add_job(self._state, name, code, process_id, job_id).job_id

    def add_talent(
        self,
        name: str,
        *,
        email: str | None = None,
        mobile: tuple[str, str] | None = None,
        talent_id: str | None = None,
    ) -> str:
        """A talent (a candidate); `mobile` is (country code, number). Returns its id."""
        return hire_apps.add_talent(self._state, name, email, mobile, talent_id).talent_id

    # --- applications and referrals ----------------------------------------------------------
    def add_application(
        self,
        job_id: str,
        talent_id: str,
        *,
        stage_id: str | None = None,
        application_id: str | None = None,
        create_time_ms: int | None = None,
    ) -> str:
        """The talent applies to the job, in `stage_id` (default the process's first stage);
        active, updated at its creation. Returns its id."""
        app = hire_apps.add_application(
            self._state, job_id, talent_id, stage_id, application_id, create_time_ms
        )
        return app.application_id

    def add_referral(
        self,
        application_id: str,
        referrer_open_id: str,
        *,
        create_time_ms: int | None = None,
        referral_id: str | None = None,
        name_zh: str | None = None,
        name_en: str | None = None,
    ) -> str:
        """`referrer_open_id` referred the application's talent; named as the directory has
        them unless `name_zh` / `name_en` are given. Returns the referral's id."""
        referral = hire_apps.add_referral(
            self._state,
            application_id,
            referrer_open_id,
            create_time_ms,
            referral_id,
            name_zh,
            name_en,
        )
        return referral.referral_id

    def add_referred_application(
        self,
        referrer_open_id: str,
        *,
        talent_name: str = "李四",
        job_name: str = "Backend engineer",
        stage_id: str | None = None,
        create_time_ms: int | None = None,
    ) -> str:
        """A new job, talent and application in one go, referred by `referrer_open_id`.
        Returns the application's id."""
        job_id = self.add_job(job_name)
        talent_id = self.add_talent(talent_name)
        application_id = self.add_application(
            job_id, talent_id, stage_id=stage_id, create_time_ms=create_time_ms
        )
        self.add_referral(application_id, referrer_open_id, create_time_ms=create_time_ms)
        return application_id

    def application(self, application_id: str) -> dict[str, Any]:
        """{application_id, job_id, talent_id, process_id, stage_id, stage_type,
        active_status, onboard_status, stage_time_list [{stage_id, enter_time, exit_time}],
        create_time, update_time, referral_id, referrer_open_id}; times in ms (ints)."""
        return hire_apps.snapshot(self._state, application_id)

    def applications(self) -> list[dict[str, Any]]:
        with self._state.lock:
            ids = list(hire_apps.book(self._state).applications)
            return [hire_apps.snapshot(self._state, i) for i in ids]

    def move_application(
        self,
        application_id: str,
        stage_id: str,
        *,
        token: str,
        event_id: str | None = None,
        at_ms: int | None = None,
    ) -> dict[str, Any] | None:
        """Someone in Hire moves the application to `stage_id` (see `stage_id(type)`): its
        stage, stage_time_list and update_time change (at `at_ms`, default now), and Feishu
        tells the app: returns the hire.application.stage_changed_v1 event to deliver (webhook
        or `ws_push`), or None when the app lacks hire:application:readonly /
        hire:application and so would get none. ValueError for an ended application, a stage
        outside its process, or the stage it is in."""
        origin, at = hire_apps.move(self._state, application_id, stage_id, at_ms)
        if not self._ctx.scopes.intersection(scopes.STAGE_CHANGED_SCOPES):
            return None
        return hire_apps.stage_changed_event(
            application_id,
            origin,
            stage_id,
            at,
            token=token,
            app_id=self._ctx.app_id,
            tenant_key=self._ctx.tenant_key,
            event_id=event_id,
        )

    def end_application(self, application_id: str, *, at_ms: int | None = None) -> dict[str, Any]:
        """Someone in Hire ends (terminates) the application: active_status 2, same stage,
        update_time moves. Feishu sends no event for it. Returns `application(...)`."""
        hire_apps.end(self._state, application_id, at_ms)
        return self.application(application_id)

    @property
    def referral_absent_answer(self) -> str:
        with self._state.lock:
            return hire_apps.book(self._state).referral_absent

    def set_referral_absent_answer(self, answer: str) -> None:
        """What get_by_application answers for an application without a referral (or an
        unknown one), which the docs leave open: "empty" (default; code 0, data {}) or
        "not_found" (HTTP 400, code 1002201)."""
        if answer not in hire_apps.REFERRAL_ABSENT_ANSWERS:
            raise ValueError(f"answer must be one of {hire_apps.REFERRAL_ABSENT_ANSWERS}")
        with self._state.lock:
            hire_apps.book(self._state).referral_absent = answer

    # --- rewards -----------------------------------------------------------------------------
    @property
    def reward_effect(self) -> str:
        with self._state.lock:
            return rewards.book(self._state).effect

    def set_reward_effect(self, effect: str, *, token: str = "") -> None:
        """What an imported reward does to the referrer's referral account, which the docs
        leave open: "none" (default) or "credit_confirmed" (a confirmed import, stage 2, adds
        to the confirmed balance and queues hire.referral_account.assets_update_v1, carrying
        `token`, in the outbox: see `take_events` / `set_event_sink`)."""
        rewards.set_effect(self._state, effect, token)

    def external_rewards(self) -> list[dict[str, Any]]:
        """Every reward, oldest first, deleted ones too: {id, external_id, imported,
        referrer_open_id, application_id, talent_id, job_id, rule_type, stage, bonus_type,
        points, cash {currency: Decimal}, reason / comment / times as sent (create_time always),
        requests (import calls answered with it), credited_account, deleted}."""
        with self._state.lock:
            return [r.snapshot() for r in rewards.book(self._state).rewards.values()]

    def external_reward(self, reward_id: str) -> dict[str, Any]:
        with self._state.lock:
            reward = rewards.book(self._state).rewards.get(reward_id)
            if reward is None:
                raise KeyError(f"no reward {reward_id}")
            return reward.snapshot()

    def add_hire_reward(
        self,
        referrer_open_id: str,
        points: int = 0,
        cash: dict[str, Decimal | float | str] | None = None,
        *,
        stage: int = 2,
    ) -> str:
        """A reward Hire's own rules made (not imported: the delete API answers 1002556). The
        balance is left as it is (shape it with add_bonus). Returns its id."""
        amounts = {cur: money(amount) for cur, amount in (cash or {}).items()}
        return rewards.add_hire_reward(
            self._state, referrer_open_id, points, amounts, stage
        ).reward_id

    # --- events the tenant sends on its own --------------------------------------------------
    def take_events(self) -> list[dict[str, Any]]:
        """The events queued by API side effects (see `set_reward_effect`), oldest first,
        for the test to deliver; the queue is left empty."""
        return copy.deepcopy(outbox.outbox(self._state).take())

    def set_event_sink(self, sink: Sink | None) -> None:
        """Hand each such event to `sink(event)` (in order, on a worker thread) instead of
        queueing it; None: queue again."""
        outbox.outbox(self._state).set_sink(sink)

    def _reset_hire(self) -> None:
        hire_apps.clear(self._state)
        rewards.clear(self._state)
        outbox.clear(self._state)
