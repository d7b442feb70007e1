"""Referral progress cards: the referrer's one-to-one update, the "referral hired" card for the
notice chats (with its Reward form), and the list of a referrer's referrals. Candidates, jobs and
stage names are data from Feishu: always shown through `Text.data`."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.accounts import Account
from bot.domain.referrals import Kind, Referral, Stage
from bot.domain.rewards import CURRENCIES, POINTS, Amount
from cards.account import field
from cards.layout import MAX_CARD_BYTES, button, card, card_size, element_count, hr, stack
from cards.money import balance_text
from cards.names import named
from cards.text import Text, header, join, markdown, mention, plain, plural, words
from cards.when import stamp, zone_footer

SOMEONE = Text("a candidate", "一位候选人")
A_JOB = Text("a job", "某职位")
REWARD = Text("Reward", "发放奖励")
FORM_NAME = "reward_form"


def stage_name(stage: Stage) -> Text:
    en = stage.en_name or stage.zh_name or f"#{stage.type}"
    zh = stage.zh_name or stage.en_name or f"#{stage.type}"
    return Text.data(en, zh)


def candidate(talent_name: str | None, job_name: str | None) -> Text:
    """ "**Li Si**, Backend engineer"."""
    who = Text.data(talent_name) if talent_name else SOMEONE
    job = Text.data(job_name) if job_name else A_JOB
    return Text("**{who}**, {job}", "**{who}**，{job}").format(who=who, job=job)


def change_line(kind: Kind, talent_name: str | None, job_name: str | None, stage: Stage) -> Text:
    """One change as the referrer reads it; the end of an application names no reason."""
    about = candidate(talent_name, job_name)
    if kind is Kind.HIRED:
        return Text("🎉 {about}: hired", "🎉 {about}：已入职").format(about=about)
    if kind is Kind.ENDED:
        return Text("{about}: no longer in process", "{about}：已结束流程").format(about=about)
    return Text("{about}: now at **{stage}**", "{about}：当前阶段 **{stage}**").format(
        about=about, stage=stage_name(stage)
    )


def progress_card(lines: Sequence[Text]) -> dict:
    """The referrer's update: every change since the last one, oldest first."""
    title = Text("News of the people you referred", "你推荐的候选人有新进展")
    head = header(title, "blue")
    return card(head, [markdown(join(lines))], summary=title)


def reward_form(application_id: str, default: Amount | None, reason: Text) -> dict:
    """The Reward form: amount, points or a currency, reason; filled from the default."""
    units = [POINTS, *sorted(CURRENCIES)]
    unit = default.unit if default else POINTS
    amount = ""
    if default is not None:
        amount = str(default.points) if default.is_points else f"{default.value:.2f}"
    return {
        "tag": "form",
        "name": FORM_NAME,
        "elements": [
            {
                "tag": "input",
                "name": "amount",
                "element_id": "reward_amount",
                "label": plain(Text("Amount", "金额")),
                "placeholder": plain(Text("e.g. 2000", "例如 2000")),
                "default_value": amount,
                "required": True,
            },
            {
                "tag": "select_static",
                "name": "unit",
                "element_id": "reward_unit",
                "placeholder": plain(Text("Points or a currency", "积分或币种")),
                "initial_option": unit,
                "options": [
                    {
                        "text": plain(Text("points", "积分") if u == POINTS else Text.same(u)),
                        "value": u,
                    }
                    for u in units
                ],
            },
            {
                "tag": "input",
                "name": "reason",
                "element_id": "reward_reason",
                "label": plain(Text("Reason", "原因")),
                "default_value": reason.en,
                "max_length": 200,
            },
            {
                **button(
                    Text("Ask for approval", "提交审批"),
                    {"action": "reward_submit", "application_id": application_id},
                    element_id="btn_reward_submit",
                    kind="primary",
                ),
                "name": "reward_submit",
                "form_action_type": "submit",
            },
        ],
    }


def hire_reason(referral: Referral) -> Text:
    who = referral.talent_name or "a candidate"
    job = referral.job_name or "a job"
    return Text.data(f"Referral hired: {who}, {job}", f"内推入职：{who}，{job}")


def hired_card(
    referral: Referral,
    *,
    account_id: str | None,
    account: Account | None,
    zone: str,
    form: Amount | None | bool = False,
    notice: Text | None = None,
) -> dict:
    """A referred candidate was hired: who, for which job, who referred them, their account
    and balance, and a Reward button (or, once pressed, the form: `form` is its default
    amount, None for an empty one)."""
    title = Text("Referral hired", "内推候选人已入职")
    referrer = Text.markup(mention(referral.referrer_open_id))
    lines = [
        field(Text("Candidate", "候选人"), Text.data(referral.talent_name or "—")),
        field(Text("Job", "职位"), Text.data(referral.job_name or "—")),
        field(Text("Referrer", "推荐人"), referrer),
        field(Text("Hired", "入职"), Text.same(stamp(referral.since, zone))),
    ]
    if account_id is None:
        lines.append(
            field(
                Text("Referral account", "内推账户"),
                Text("none registered yet", "尚未注册"),
            )
        )
    else:
        lines.append(field(Text("Referral account", "内推账户"), named(account_id, None)))
        if account is not None:
            lines.append(field(Text("Balance", "余额"), balance_text(account.points, account.cash)))
    elements = []
    if notice is not None:
        elements.append(markdown(Text("**{n}**", "**{n}**").format(n=words(notice))))
    elements.append(markdown(join(lines)))
    elements.append(zone_footer(zone))
    if form is False:
        value = {"action": "reward_form", "application_id": referral.application_id}
        elements.append(hr())
        elements.append(button(REWARD, value, element_id="btn_reward", kind="primary"))
    elif form is not True:
        elements.append(hr())
        elements.append(reward_form(referral.application_id, form or None, hire_reason(referral)))
    head = header(title, "green")
    return card(head, elements, summary=title)


REFERRALS = Text("Referrals", "内推记录")
_BUDGET = MAX_CARD_BYTES - 1024


def referral_line(item: Referral, zone: str, *, with_referrer: bool) -> Text:
    state = stage_name(item.stage) if item.active else Text("no longer in process", "已结束流程")
    if item.hired:
        state = Text("hired", "已入职")
    line = Text("{about} · {state} · since {when}", "{about} · {state} · 自 {when}").format(
        about=candidate(item.talent_name, item.job_name),
        state=state,
        when=stamp(item.since, zone),
    )
    if with_referrer:
        line += Text(" · referred by ", " · 推荐人 ") + Text.markup(mention(item.referrer_open_id))
    return line


def referrals_card(
    items: Sequence[Referral], *, total: int, zone: str, referrer: str | None = None
) -> dict:
    """The referrals the bot knows, newest first (of one referrer when named)."""
    title = REFERRALS
    head = header(title, "blue", subtitle=Text(plural(total, "referral"), f"共 {total:,} 条"))
    if not items:
        empty = Text("No referrals known yet.", "还没有内推记录。")
        return card(head, [markdown(empty)], summary=title)
    footer = zone_footer(zone)
    blocks = (markdown(referral_line(item, zone, with_referrer=referrer is None)) for item in items)
    elements = stack(
        blocks,
        head=head,
        budget=_BUDGET - card_size(footer),
        reserved=element_count(footer),
    )
    elements.append(footer)
    return card(head, elements, summary=title)


def me_section(items: Sequence[Referral], total: int, zone: str) -> list[dict]:
    """The `me` card's part about the person's referrals."""
    heading = Text("**Your referrals**", "**你的内推**")
    if not items:
        return []  # someone who referred nobody sees their account as before
    lines = [referral_line(item, zone, with_referrer=False) for item in items]
    if total > len(items):
        lines.append(
            Text(
                "… and {n} more: `/referral referrals`", "……另有 {n} 条：`/referral referrals`"
            ).format(n=total - len(items))
        )
    return [hr(), markdown(join([heading, *lines]))]
