"""Importing an approved reward: one `external_referral_rewards` call with the `external_id`
recorded at approval (stage 2, confirmed; rule_type 1 for a hire, 5 otherwise), retried only
with that id, after a restart too (`resume`). Feishu imports one id once ("only for
idempotency"; what a repeat answers is not documented, and the bot takes any success as the
one reward). Afterwards the referrer's balance is read, not assumed: the docs do not say
whether a confirmed import changes it. A failure Feishu states in words fails the request; a
call that cannot get through for `Services.payout_window` leaves it *uncertain*, tried again
with the same id at each start."""

from __future__ import annotations

import logging

from bot.domain.rewards import State
from bot.feishu.openapi import OpenApiError
from bot.records.store import utcnow
from handlers.answers import explain
from handlers.audit_trail import Act, failed
from handlers.errors import RetryLater
from handlers.registry import job
from handlers.rewards.trail import SHOW, record, show_later
from handlers.services import Services

log = logging.getLogger(__name__)

IMPORT = "bot.import_reward"  # queued in the approving transaction


def gave_up(services: Services, payload: dict, reason: str) -> None:
    """The import could not get through for the whole window (or the worker gave it up):
    Feishu may have imported it; the same id is sent again at the next start."""
    current = services.rewards.get(payload["id"])
    if current is None or current.state is not State.APPROVED:
        return

    def everywhere() -> None:
        record(
            services,
            current,
            Act("uncertain", reason, {"reason": {"en": reason, "zh": reason}}),
            actor=current.approved_by,
            action="rewarded",
        )
        show_later(services, current, "uncertain")

    if services.rewards.uncertain(current.id, reason, then=everywhere):
        log.warning("reward #%s is uncertain: %s", current.id, reason)
        services.inbox.notify()


@job(IMPORT, on_failure=gave_up)
def finish(services: Services, event_id: str, payload: dict) -> None:
    current = services.rewards.get(payload["id"])
    if current is None or current.state not in (State.APPROVED, State.UNCERTAIN):
        return  # done already
    try:
        feishu_id = services.hire.import_reward(
            external_id=current.external_id,
            referrer_open_id=current.referrer_open_id,
            amount=current.amount,
            reason=current.reason,
            rule_type=current.rule_type,
            application_id=current.application_id,
            job_id=current.job_id,
        )
    except OpenApiError as exc:
        if exc.transient or exc.may_have_acted:
            waited = utcnow() - current.approved_at
            if current.state is State.UNCERTAIN or waited < services.payout_window:
                raise RetryLater(f"reward #{current.id}: {exc}") from None
            gave_up(services, payload, str(exc))
            return
        act = failed(exc)

        def did_fail() -> None:
            record(services, current, act, actor=current.approved_by, action="rewarded")
            show_later(services, current, "result")

        if services.rewards.failed(current.id, explain(exc).en, then=did_fail):
            services.inbox.notify()
        return

    def done() -> None:
        act = Act("ok", f"reward {feishu_id}", {"external": current.external_id})
        record(services, current, act, actor=current.approved_by, action="rewarded")

    if services.rewards.rewarded(current.id, feishu_id, then=done):
        _read_balance(services, current.id)
        services.inbox.enqueue(SHOW, {"id": current.id}, key=f"{current.id}:result")


def _read_balance(services: Services, reward_id: int) -> None:
    """The balance as Feishu holds it after the import, for the receipt and the records (which
    tell the change, if any, the usual way)."""
    reward = services.rewards.get(reward_id)
    if reward is None or not reward.account_id:
        return
    try:
        account = services.gateway.get_assets(reward.account_id)
    except OpenApiError as exc:
        log.info("balance of %s not read after reward #%s: %s", reward.account_id, reward_id, exc)
        return
    services.accounts.remember(account)
    services.rewards.note_balance(reward_id, account.points, account.cash)


def resume(services: Services) -> int:
    """At start: every approved or uncertain reward is imported (again) with its own id."""
    count = 0
    for reward in services.rewards.in_states(State.APPROVED, State.UNCERTAIN):
        count += services.inbox.enqueue(IMPORT, {"id": reward.id}, key=str(reward.id), again=True)
    return count
