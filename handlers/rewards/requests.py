"""Reward requests and their approval by a second admin (the withdrawals' rule, one copy of it:
`handlers.withdrawals.policy` and `REFUSALS`).

A request names the referrer (by their account, or by the hired card's referral) and the
amount; nothing is called. Approving records the `external_id` in the same transaction that
queues the import (`handlers/rewards/imports.py`); the press waits a moment for it so the card
usually turns into the receipt at once. Every request, approval, refusal, cancellation and
expiry is audited: a press or a command returns its `Act`, the jobs write theirs.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.domain.rewards import RULE_HIRED, Amount, BadAmount, Reward, State, parse_amount
from bot.domain.withdrawals import Refusal
from bot.records.rewards import TTL
from bot.records.store import utcnow
from cards.text import Text
from handlers.asker import Answer
from handlers.audit_trail import Act, refused
from handlers.referrals.telling import account_of
from handlers.registry import job
from handlers.rewards import imports
from handlers.rewards.trail import about, card_of, record, show
from handlers.services import Services
from handlers.withdrawals.requests import REFUSALS, policy, wait_for_result

EXPIRE = "bot.expire_reward"
MAX_REASON = 200


def parse(amount: str, unit: str, reason: str) -> tuple[Amount, str]:
    """The form's or the command's words; BadAmount when they are not a reward."""
    parsed = parse_amount(amount, unit)
    reason = " ".join(reason.split())
    if not reason:
        raise BadAmount("Say why: a reason is needed.", "请填写奖励原因。")
    if len(reason) > MAX_REASON:
        raise BadAmount(
            f"The reason is longer than {MAX_REASON} characters.",
            f"原因超过 {MAX_REASON} 个字符。",
        )
    return parsed, reason


def for_account(
    services: Services,
    account_id: str,
    amount: Amount,
    reason: str,
    *,
    requested_by: str,
    chat_id: str | None,
    asked_in: str | None = None,
) -> Answer:
    """`/referral reward <who> …`: the account as the records hold it (no call)."""
    record_ = services.accounts.get(account_id)
    account = record_.account if record_ else None
    referrer = account.referrer.id if account and account.referrer else None
    if account is None or not referrer:
        text = Text(
            f"The bot does not know who holds account {account_id}: `/referral show "
            f"{account_id}` reads it from Feishu, then ask again.",
            f"机器人尚不知道账户 {account_id} 的持有人：先用 `/referral show {account_id}` "
            "从飞书读取，再重新申请。",
        )
        act = replace(refused("unknown_account"), account_id=account_id)
        return Answer(text=text, kind="warning", act=act)
    if not account.enabled:
        text = Text(
            f"Account {account_id} is disabled: enable it before rewarding its referrer.",
            f"账户 {account_id} 已停用，请先启用再发放奖励。",
        )
        act = replace(refused("account_disabled"), account_id=account_id)
        return Answer(text=text, kind="warning", act=act)
    # Feishu ties every imported reward to an application (or a talent): the referrer's
    # latest referral the bot knows.
    latest, _ = services.referrals.of_referrer(referrer, limit=1)
    if not latest:
        text = Text(
            "Feishu ties every reward to a referred candidate, and the bot knows no referral "
            f"of the holder of account {account_id} yet. `referral-bot import --referrals "
            "FROM TO` brings in past referrals.",
            f"飞书的每笔奖励都须对应一位被推荐的候选人，而机器人尚不知道账户 {account_id} "
            "持有人的任何内推。可用 `referral-bot import --referrals FROM TO` 导入过往内推。",
        )
        return Answer(
            text=text, kind="warning", act=replace(refused("no_referral"), account_id=account_id)
        )
    return _create(
        services,
        account_id=account_id,
        referrer_open_id=referrer,
        amount=amount,
        reason=reason,
        requested_by=requested_by,
        chat_id=chat_id,
        application_id=latest[0].application_id,
        job_id=latest[0].job_id,
        asked_in=asked_in,
    )


def for_application(
    services: Services,
    application_id: str,
    amount: Amount,
    reason: str,
    *,
    requested_by: str,
    chat_id: str | None,
    asked_in: str | None = None,
) -> Answer:
    """The Reward form of a hired card: the referral's referrer, tied to the application."""
    referral = services.referrals.get(application_id)
    if referral is None:
        text = Text("This referral is not known to the bot.", "机器人不知道这条内推。")
        return Answer(text=text, kind="error", act=refused("no_referral"))
    standing = services.rewards.standing_for(application_id)
    if standing is not None:
        return _already(services, standing)
    account_id, account = account_of(services, referral.referrer_open_id)
    if account_id is None:
        text = Text(
            "The referrer has no referral account the bot knows: register them with "
            "`/referral register @person`, then press Reward again.",
            "推荐人还没有机器人已知的内推账户：请先用 `/referral register @员工` 注册，"
            "再点击发放奖励。",
        )
        return Answer(text=text, kind="warning", act=refused("unknown_account"))
    if account is not None and not account.enabled:
        text = Text(
            f"Account {account_id} is disabled: enable it before rewarding its referrer.",
            f"账户 {account_id} 已停用，请先启用再发放奖励。",
        )
        return Answer(
            text=text,
            kind="warning",
            act=replace(refused("account_disabled"), account_id=account_id),
        )
    return _create(
        services,
        account_id=account_id,
        referrer_open_id=referral.referrer_open_id,
        amount=amount,
        reason=reason,
        requested_by=requested_by,
        chat_id=chat_id,
        application_id=application_id,
        job_id=referral.job_id,
        rule_type=RULE_HIRED,
        asked_in=asked_in,
    )


def _create(services: Services, *, ttl: timedelta = TTL, **fields) -> Answer:
    """A new request (or, for an asking run again, the one it made), with its expiry queued."""
    created = services.rewards.create(**fields, ttl=ttl)
    if created is None:  # another request for the application was written meanwhile
        return _already(services, services.rewards.standing_for(fields["application_id"]))
    # Keyed by the request: an asking run again queues nothing more.
    services.inbox.enqueue(EXPIRE, {"id": created.id}, key=str(created.id), delay=ttl)
    return Answer(
        text=Text("Reward requested: another admin must approve", "已申请奖励，需另一位管理员批准"),
        kind="success",
        card=card_of(services, created),
        reward=created,
        act=about(created, Act("requested")),
    )


def _already(services: Services, standing: Reward | None) -> Answer:
    if standing is None:
        text = Text(
            "Another request was decided just now: ask again.", "另一申请刚刚已处理，请重新申请。"
        )
        return Answer(text=text, kind="warning", act=refused("decided"))
    text = Text(
        f"This hire already has reward #{standing.id} ({standing.state}): one hire, one reward.",
        f"该入职已有奖励 #{standing.id}：每次入职只发放一次奖励。",
    )
    return Answer(
        text=text,
        kind="info",
        card=card_of(services, standing, text),
        reward=standing,
        act=about(standing, Act("already open")),
        new=False,
    )


def approve(services: Services, reward_id: int, approver: str | None) -> Answer:
    current = services.rewards.get(reward_id)
    if current is None:
        return _none(reward_id)
    refusal = policy(services).refuse_approval(current, approver, utcnow())
    if refusal is Refusal.EXPIRED:
        expire_now(services, current)
        current = services.rewards.get(reward_id)
    if refusal is not None:
        card = card_of(services, current)
        return Answer(
            text=REFUSALS[refusal],
            kind="error",
            card=card,
            reward=current,
            act=about(current, refused(str(refusal))),
        )

    def queue_import(external_id: str) -> None:
        services.inbox.enqueue(imports.IMPORT, {"id": reward_id}, key=str(reward_id), notify=False)

    external_id = services.rewards.approve(reward_id, approver, then=queue_import)
    if external_id is None:  # another approver, or a second click, was first
        decided = services.rewards.get(reward_id)
        act = about(decided, refused(str(Refusal.DECIDED)))
        return Answer(
            text=REFUSALS[Refusal.DECIDED],
            kind="info",
            card=card_of(services, decided),
            reward=decided,
            act=act,
        )
    act = about(current, Act("approved", f"reward id {external_id}", {"external": external_id}))
    services.inbox.notify()
    latest = wait_for_result(services.rewards.get, reward_id)
    card = card_of(services, latest)
    if latest.state is State.REWARDED:
        return Answer(
            text=Text("Rewarded", "已发放奖励"), kind="success", card=card, reward=latest, act=act
        )
    if latest.state is State.FAILED:
        return Answer(
            text=Text("The reward failed", "奖励发放失败"),
            kind="error",
            card=card,
            reward=latest,
            act=act,
        )
    return Answer(
        text=Text("Approved: importing, the receipt follows", "已批准：导入中，稍后显示回执"),
        kind="success",
        card=card,
        reward=latest,
        act=act,
    )


def cancel(services: Services, reward_id: int, who: str | None) -> Answer:
    current = services.rewards.get(reward_id)
    if current is None:
        return _none(reward_id)
    refusal = policy(services).refuse_cancel(current, who)
    if refusal is None and not services.rewards.cancel(reward_id, who or ""):
        refusal = Refusal.DECIDED
    if refusal is not None:
        latest = services.rewards.get(reward_id)
        card = card_of(services, latest)
        return Answer(
            text=REFUSALS[refusal],
            kind="error",
            card=card,
            reward=latest,
            act=about(current, refused(str(refusal))),
        )
    cancelled = services.rewards.get(reward_id)
    return Answer(
        text=Text("Reward request cancelled", "奖励申请已取消"),
        kind="success",
        card=card_of(services, cancelled),
        reward=cancelled,
        act=about(cancelled, Act("cancelled")),
    )


def _none(reward_id: int) -> Answer:
    return Answer(
        text=Text("This request no longer exists", "该申请不存在"),
        kind="error",
        act=refused("no_request", reward=reward_id),
    )


def expire_now(services: Services, reward: Reward) -> bool:
    if not services.rewards.expire(reward.id):
        return False
    record(services, reward, Act("expired"), actor=None, action="expire_reward")
    return True


@job(EXPIRE)
def expire(services: Services, event_id: str, payload: dict) -> None:
    """Due 24 h after the request: expire it if nobody decided, and say so on its card."""
    current = services.rewards.get(payload["id"])
    if current is None or current.state is not State.REQUESTED:
        return
    if current.expires_at > utcnow():
        services.inbox.enqueue(EXPIRE, {"id": current.id}, delay=current.expires_at - utcnow())
        return
    if expire_now(services, current):
        show(services, event_id, payload)
