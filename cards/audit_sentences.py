"""An audit entry as a sentence in the reader's language: "李华 requested a withdrawal of 1,200
points for 陈静 (#1)" / "李华 申请为 陈静 提取 1,200 积分（#1）".

An entry is the audit table's row as a mapping (`actor`, `action`, `account_id`, `outcome`,
`detail`, and `facts`: JSON of what the sentence tells, see `handlers/audit_trail.py`). Its
sentence is, in this order: the row of `SENTENCES` for its (action, outcome); else the generic
sentence of its outcome (`OUTCOMES`) around what its action does (`PHRASES`); else words that
name the unknown codes. An outcome `error 1234` is the outcome `error`. A new kind of entry is
one row. Marks go on refusals (⛔) and failures (⚠️) only.

Two styles: `MARKDOWN` for a card (people by Feishu's `<at>` tag, IDs copyable, every piece of
data escaped) and `PLAIN` for the CSV (open_ids and IDs as they are).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum

from bot.domain.accounts import Cash
from bot.domain.withdrawals import Amounts
from cards.text import Text, code, mention, plural
from cards.withdrawal import amounts_text

REFUSED = "⛔"
FAILED = "⚠️"
PIECE_CHARS = 200  # a reason or detail longer than this is cut


class Style(Enum):
    MARKDOWN = "markdown"
    PLAIN = "plain"


MARKDOWN = Style.MARKDOWN
PLAIN = Style.PLAIN


@dataclass(frozen=True)
class Phrase:
    """What an action does: `did` once done, `tried` after "tried to" (试图). `system`: the
    bot acts, whoever is recorded as the actor."""

    did: Text
    tried: Text
    system: bool = False


@dataclass(frozen=True)
class Sentence:
    text: Text
    mark: str = ""


def _p(did_en: str, tried_en: str, did_zh: str, tried_zh: str, *, system: bool = False) -> Phrase:
    return Phrase(Text(did_en, did_zh), Text(tried_en, tried_zh), system)


def _s(en: str, zh: str, mark: str = "") -> Sentence:
    return Sentence(Text(en, zh), mark)


# What each action does. Placeholders: see `_values`.
PHRASES: dict[str, Phrase] = {
    "register": _p(
        "registered {account}", "register {account}", "注册了 {account}", "注册 {account}"
    ),
    "show": _p(
        "opened the card of {account}",
        "open the card of {account}",
        "查看了 {account} 的账户卡片",
        "查看 {account} 的账户卡片",
    ),
    "enable": _p("enabled {account}", "enable {account}", "启用了 {account}", "启用 {account}"),
    "disable": _p("disabled {account}", "disable {account}", "停用了 {account}", "停用 {account}"),
    "refresh": _p(
        "refreshed the card of {account}",
        "refresh the card of {account}",
        "刷新了 {account} 的账户卡片",
        "刷新 {account} 的账户卡片",
    ),
    "find": _p("searched the accounts", "search the accounts", "查找了账户", "查找账户"),
    "list": _p("listed the accounts", "list the accounts", "查看了账户列表", "查看账户列表"),
    "me": _p(
        "opened their own account", "open their own account", "查看了自己的账户", "查看自己的账户"
    ),
    "withdraw": _p(
        "asked for a withdrawal for {account}",
        "request a withdrawal for {account}",
        "为 {account} 申请了提取",
        "为 {account} 申请提取",
    ),
    "withdrawals": _p(
        "looked at the withdrawals", "look at the withdrawals", "查看了提取记录", "查看提取记录"
    ),
    "approve": _p(
        "approved withdrawal {request} for {account}",
        "approve withdrawal {request} for {account}",
        "批准了 {account} 的提取申请 {request}",
        "批准 {account} 的提取申请 {request}",
    ),
    "cancel": _p(
        "cancelled withdrawal request {request} for {account}",
        "cancel withdrawal request {request} for {account}",
        "取消了 {account} 的提取申请 {request}",
        "取消 {account} 的提取申请 {request}",
    ),
    "referrals": _p(
        "looked at the referrals", "look at the referrals", "查看了内推记录", "查看内推记录"
    ),
    "rewards": _p("looked at the rewards", "look at the rewards", "查看了奖励记录", "查看奖励记录"),
    "reward": _p(
        "asked to reward the referrer of {account}",
        "ask to reward the referrer of {account}",
        "申请为 {account} 的推荐人发放奖励",
        "申请为 {account} 的推荐人发放奖励",
    ),
    "reward_form": _p(
        "opened the reward form of a hired referral",
        "open the reward form of a hired referral",
        "打开了内推入职的奖励表单",
        "打开内推入职的奖励表单",
    ),
    "reward_submit": _p(
        "asked to reward a hired referral's referrer",
        "ask to reward a hired referral's referrer",
        "申请为内推入职的推荐人发放奖励",
        "申请为内推入职的推荐人发放奖励",
    ),
    "reward_approve": _p(
        "approved reward {reward} for {account}",
        "approve reward {reward} for {account}",
        "批准了 {account} 的奖励申请 {reward}",
        "批准 {account} 的奖励申请 {reward}",
    ),
    "reward_cancel": _p(
        "cancelled reward request {reward} for {account}",
        "cancel reward request {reward} for {account}",
        "取消了 {account} 的奖励申请 {reward}",
        "取消 {account} 的奖励申请 {reward}",
    ),
    "rewarded": _p(
        "imported reward {reward} for {account}",
        "import reward {reward} for {account}",
        "为 {account} 导入了奖励 {reward}",
        "为 {account} 导入奖励 {reward}",
        system=True,
    ),
    "expire_reward": _p(
        "expired reward request {reward} for {account}",
        "expire reward request {reward} for {account}",
        "使 {account} 的奖励申请 {reward} 过期",
        "使 {account} 的奖励申请 {reward} 过期",
        system=True,
    ),
    "keep": _p(
        "kept {account} as it is after its referrer left",
        "keep {account} as it is after its referrer left",
        "在内推人离职后保留了 {account}",
        "在内推人离职后保留 {account}",
    ),
    "reconcile": _p(
        "reconciled the withdrawals with Feishu",
        "reconcile the withdrawals with Feishu",
        "与飞书核对了提取记录",
        "与飞书核对提取记录",
    ),
    "audit": _p(
        "looked at the audit trail", "look at the audit trail", "查看了审计记录", "查看审计记录"
    ),
    "export": _p("exported the records", "export the records", "导出了记录", "导出记录"),
    "digest": _p("posted the digest", "post the digest", "发布了账户摘要", "发布账户摘要"),
    "help": _p("asked for help", "ask for help", "查看了帮助", "查看帮助"),
    "whoami": _p("asked for their IDs", "ask for their IDs", "查看了自己的 ID", "查看自己的 ID"),
    "forget": _p(
        "erased a person's details, leaving a pseudonym",
        "erase a person's details",
        "删除了一位员工的个人信息（以化名代替）",
        "删除一位员工的个人信息",
    ),
    "usage": _p("sent a command", "send a command", "发送了命令", "发送命令"),
    "expire": _p(
        "expired withdrawal request {request} for {account}",
        "expire withdrawal request {request} for {account}",
        "使 {account} 的提取申请 {request} 过期",
        "使 {account} 的提取申请 {request} 过期",
        system=True,
    ),
    "withdrawn": _p(
        "paid out withdrawal {request} from {account}",
        "pay out withdrawal {request} from {account}",
        "从 {account} 付出了提取申请 {request}",
        "从 {account} 付出提取申请 {request}",
        system=True,
    ),
    "settle": _p(
        "settled uncertain withdrawal {request} from {account}",
        "settle uncertain withdrawal {request} from {account}",
        "确认了 {account} 未确定的提取 {request}",
        "确认 {account} 未确定的提取 {request}",
        system=True,
    ),
    "leaver": _p(
        "handled the leaving of the referrer of {account}",
        "handle the leaving of the referrer of {account}",
        "处理了 {account} 内推人的离职",
        "处理 {account} 内推人的离职",
        system=True,
    ),
    # Written by versions before an export was one entry; kept so old entries read as words.
    "export_file": _p(
        "sent an export file", "send an export file", "发送了导出文件", "发送导出文件"
    ),
}

# The sentence of an outcome, around the action's phrase (`{did}`, `{tried}`).
OUTCOMES: dict[str, Sentence] = {
    "ok": _s("{subject} {did}", "{subject} {did}"),
    "refused": _s(
        "{subject} tried to {tried}: refused, {reason}",
        "{subject} 试图{tried}：被拒绝，{reason}",
        REFUSED,
    ),
    "error": _s(
        "{subject} tried to {tried}, and it failed: {reason}",
        "{subject} 试图{tried}，未成功：{reason}",
        FAILED,
    ),
    "usage error": _s(
        "{subject} tried to {tried}, but the command was wrong: {reason}",
        "{subject} 试图{tried}，但命令有误：{reason}",
        FAILED,
    ),
    "no match": _s(
        "{subject} tried to {tried}, but no single account matched",
        "{subject} 试图{tried}，但没有唯一匹配的账户",
        FAILED,
    ),
    "uncertain": _s(
        "{subject} tried to {tried}: not sure it took effect, {reason}",
        "{subject} 试图{tried}：无法确认是否生效，{reason}",
        FAILED,
    ),
}

# Entries that say more than their outcome's sentence.
SENTENCES: dict[tuple[str, str], Sentence] = {
    ("forget", "already forgotten"): _s(
        "{subject} asked to erase a person's details again: they were already erased",
        "{subject} 再次要求删除一位员工的个人信息：此前已删除",
    ),
    ("usage", "usage error"): _s(
        "{actor} sent a command the bot could not read: {reason}",
        "{actor} 发送的命令有误：{reason}",
        FAILED,
    ),
    ("withdraw", "requested"): _s(
        "{actor} requested a withdrawal of {amounts} for {account} ({request})",
        "{actor} 申请为 {account} 提取 {amounts}（{request}）",
    ),
    ("approve", "approved"): _s(
        "{actor} approved withdrawal {request} of {amounts} for {account} (order {order})",
        "{actor} 批准了 {account} 的提取申请 {request}：{amounts}（订单 {order}）",
    ),
    ("approve", "re-asked"): _s(
        "{actor} went to approve withdrawal {request} for {account}, but the balance had "
        "changed: it now asks approval for {amounts}",
        "{actor} 批准 {account} 的提取申请 {request} 时余额已变化，需按新金额 {amounts} 重新批准",
    ),
    ("cancel", "cancelled"): _s(
        "{actor} cancelled withdrawal request {request} of {amounts} for {account}",
        "{actor} 取消了 {account} 的提取申请 {request}（{amounts}）",
    ),
    ("expire", "expired"): _s(
        "Withdrawal request {request} of {amounts} for {account} expired without a decision",
        "{account} 的提取申请 {request}（{amounts}）无人处理，已过期",
    ),
    ("withdrawn", "ok"): _s(
        "Paid out {amounts} from {account} for withdrawal {request}, approved by {actor} "
        "(order {order})",
        "已从 {account} 提取 {amounts}（提取申请 {request}，批准人 {actor}，订单 {order}）",
    ),
    ("withdrawn", "error"): _s(
        "Withdrawal {request} of {amounts} from {account} failed: {reason}",
        "{account} 的提取申请 {request}（{amounts}）提取失败：{reason}",
        FAILED,
    ),
    ("withdraw", "already open"): _s(
        "{actor} asked for a withdrawal for {account}, which already has open request {request}",
        "{actor} 为 {account} 申请提取，但该账户已有未完成的提取申请 {request}",
    ),
    ("approve", "closed"): _s(
        "{actor} went to approve withdrawal {request} for {account}, but the balance was "
        "empty: the request is closed and nothing was paid out",
        "{actor} 批准 {account} 的提取申请 {request} 时余额已为空：申请已关闭，未提取任何款项",
    ),
    ("withdrawn", "uncertain"): _s(
        "Feishu did not confirm withdrawal {request} of {amounts} from {account} (order "
        "{order}): it may have been paid out, and the bot settles it at the next balance read "
        "or reconciliation",
        "飞书未确认 {account} 的提取 {request}（{amounts}，订单 {order}）：可能已支付，"
        "机器人将在下次读取余额或对账时确认",
        FAILED,
    ),
    ("settle", "withdrawn"): _s(
        "Uncertain withdrawal {request} from {account} was settled as paid out ({amounts})",
        "{account} 未确定的提取 {request} 已确认为已支付（{amounts}）",
    ),
    ("settle", "failed"): _s(
        "Uncertain withdrawal {request} from {account} was settled as not paid out",
        "{account} 未确定的提取 {request} 已确认为未支付",
    ),
    ("settle", "closed"): _s(
        "Uncertain withdrawal {request} from {account} was closed: nothing was paid out",
        "{account} 未确定的提取 {request} 已关闭：未支付任何款项",
    ),
    ("settle", "uncertain"): _s(
        "Withdrawal {request} from {account} is still uncertain: {reason}",
        "{account} 的提取 {request} 仍未确定：{reason}",
        FAILED,
    ),
    ("reward", "requested"): _s(
        "{actor} asked to reward the referrer of {account} with {amounts} ({reward})",
        "{actor} 申请为 {account} 的推荐人发放 {amounts}（{reward}）",
    ),
    ("reward_submit", "requested"): _s(
        "{actor} asked to reward the referrer of {account} with {amounts} for a hire ({reward})",
        "{actor} 申请为 {account} 的推荐人发放入职奖励 {amounts}（{reward}）",
    ),
    ("reward_submit", "already open"): _s(
        "{actor} asked to reward a hire that already has reward {reward}",
        "{actor} 申请奖励，但该入职已有奖励 {reward}",
    ),
    ("reward_approve", "approved"): _s(
        "{actor} approved reward {reward} of {amounts} for {account} (reward ID {external})",
        "{actor} 批准了 {account} 的奖励申请 {reward}：{amounts}（奖励编号 {external}）",
    ),
    ("reward_cancel", "cancelled"): _s(
        "{actor} cancelled reward request {reward} of {amounts} for {account}",
        "{actor} 取消了 {account} 的奖励申请 {reward}（{amounts}）",
    ),
    ("expire_reward", "expired"): _s(
        "Reward request {reward} of {amounts} for {account} expired without a decision",
        "{account} 的奖励申请 {reward}（{amounts}）无人处理，已过期",
    ),
    ("rewarded", "ok"): _s(
        "Imported reward {reward} of {amounts} for {account}, approved by {actor} "
        "(reward ID {external})",
        "已为 {account} 导入奖励 {reward}：{amounts}（批准人 {actor}，奖励编号 {external}）",
    ),
    ("rewarded", "error"): _s(
        "Reward {reward} of {amounts} for {account} failed: {reason}",
        "{account} 的奖励 {reward}（{amounts}）发放失败：{reason}",
        FAILED,
    ),
    ("rewarded", "uncertain"): _s(
        "Feishu did not confirm reward {reward} of {amounts} for {account}: the bot imports it "
        "again with the same reward ID at the next start",
        "飞书未确认 {account} 的奖励 {reward}（{amounts}）：机器人将在下次启动时用同一奖励编号重试",
        FAILED,
    ),
    ("export", "ok"): _s(
        "{actor} exported the {what} ({count}) as {file}",
        "{actor} 导出了{what}（{count} 条）：{file}",
    ),
    ("export_file", "sent"): _s("An export file was sent for {actor}", "已为 {actor} 发送导出文件"),
    ("leaver", "asked"): _s(
        "{name} left: the notice chats are asked what to do with their account {number}",
        "{name} 已离职：已在通知群询问如何处理其账户 {number}",
    ),
    ("leaver", "disabled"): _s(
        "{name} left: the bot disabled their account {number}",
        "{name} 已离职：机器人已停用其账户 {number}",
    ),
    ("leaver", "off"): _s(
        "{name} left: their account {number} stays as it is (offboarding is off)",
        "{name} 已离职：其账户 {number} 保持不变（未开启离职处理）",
    ),
    ("leaver", "error"): _s(
        "{name} left: disabling their account {number} failed: {reason}",
        "{name} 已离职：停用其账户 {number} 失败：{reason}",
        FAILED,
    ),
}

# Reasons by their code (the facts' `why`).
REASONS: dict[str, Text] = {
    "not_admin": Text("not an admin", "不是管理员"),
    "not_approver": Text(
        "only the withdrawal approvers may do this", "只有提取审批人可以执行此操作"
    ),
    "own_request": Text(
        "the requester cannot approve their own request", "申请人不能批准自己的申请"
    ),
    "expired": Text("the request had expired", "申请已过期"),
    "decided": Text("the request had already been decided", "申请已处理"),
    "no_request": Text("the request does not exist", "申请不存在"),
    "account_disabled": Text("the account is disabled", "账户已停用"),
    "empty": Text("there is no balance to withdraw", "没有可提取的余额"),
    "unknown_account": Text(
        "the bot does not know who holds the account", "机器人不知道该账户的持有人"
    ),
    "no_referral": Text("the referral is not known to the bot", "机器人不知道这条内推"),
    "interrupted": Text(
        "the call was cut off before Feishu answered; check before trying again",
        "调用在飞书答复前中断，重试前请先核实",
    ),
}

EXPORTS: dict[str, Text] = {
    "accounts": Text("accounts", "账户"),
    "withdrawals": Text("withdrawals", "提取记录"),
    "audit": Text("audit entries", "审计记录"),
    "rewards": Text("rewards", "奖励记录"),
    "referrals": Text("referrals", "内推记录"),
}

THE_BOT = Text("The bot", "机器人")
_ERROR = re.compile(r"^error(?: (-?\d+|None))?$")
_OPEN_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def outcome_kind(outcome: str) -> str:
    """The outcome the tables know it by: `error 1234` is `error`."""
    return "error" if _ERROR.match(outcome) else outcome


def known(action: str, outcome: str) -> bool:
    """Whether an entry of this kind has its own sentence (not the words for unknown codes)."""
    kind = outcome_kind(outcome)
    return (action, kind) in SENTENCES or (action in PHRASES and kind in OUTCOMES)


def mark(entry: Mapping[str, object]) -> str:
    """⛔ for a refusal, ⚠️ for a failure, nothing for the rest."""
    return _pick(str(entry.get("action") or ""), str(entry.get("outcome") or "")).mark


def sentence(entry: Mapping[str, object], style: Style = MARKDOWN) -> Text:
    """The entry in words, in both languages."""
    action = str(entry.get("action") or "")
    outcome = str(entry.get("outcome") or "")
    chosen = _pick(action, outcome)
    phrase = PHRASES.get(action)
    template = chosen.text
    if phrase is not None:
        template = Text(
            template.md_en.replace("{did}", phrase.did.md_en).replace(
                "{tried}", phrase.tried.md_en
            ),
            template.md_zh.replace("{did}", phrase.did.md_zh).replace(
                "{tried}", phrase.tried.md_zh
            ),
        )
    values = _values(entry, style, system=phrase is not None and phrase.system)
    # Every value is a Text already: data in it is escaped, so `.en` of the result gives the
    # plain words (the CSV) and the markdown shows them inert (the card).
    return Text(
        template.md_en.format_map({k: v.md_en for k, v in values.items()}),
        template.md_zh.format_map({k: v.md_zh for k, v in values.items()}),
    )


def _pick(action: str, outcome: str) -> Sentence:
    kind = outcome_kind(outcome)
    if (action, kind) in SENTENCES:
        return SENTENCES[(action, kind)]
    if action in PHRASES and kind in OUTCOMES:
        return OUTCOMES[kind]
    failure = kind == "error" or "fail" in kind or "error" in kind
    mark = REFUSED if "refus" in kind else FAILED if failure else ""
    if action in PHRASES:
        return _s(
            "{subject} asked to {tried}: {outcome}", "{subject} 请求{tried}，结果：{outcome}", mark
        )
    return _s(
        "{subject} did {action}: {outcome}", "{subject} 执行了操作 {action}，结果：{outcome}", mark
    )


def _values(entry: Mapping[str, object], style: Style, *, system: bool) -> dict[str, Text]:
    """Every placeholder's text for this entry; a sensible word where the facts are missing."""
    facts = _facts(entry.get("facts"))
    data = _data(style)
    verbatim = _verbatim(style)
    actor = entry.get("actor")
    person = _person(str(actor), style) if actor else Text("someone", "某人")
    outcome = str(entry.get("outcome") or "—")
    return {
        "actor": person,
        "subject": THE_BOT if system or not actor else person,
        "account": _account(entry.get("account_id"), facts.get("owner"), style),
        "number": verbatim(str(entry["account_id"])) if entry.get("account_id") else Text.same("—"),
        "request": Text.same(f"#{facts['request']}") if "request" in facts else Text.same("#?"),
        "amounts": _amounts(facts),
        "order": verbatim(str(facts["order"])) if facts.get("order") else Text.same("—"),
        "reward": Text.same(f"#{facts['reward']}") if "reward" in facts else Text.same("#?"),
        "external": verbatim(str(facts["external"])) if facts.get("external") else Text.same("—"),
        "reason": _reason(facts, entry, data),
        "what": EXPORTS.get(str(facts.get("what")), Text("records", "记录")),
        "count": _count(facts.get("count")),
        "file": verbatim(str(facts["file"])) if facts.get("file") else Text.same("—"),
        "name": _bilingual(facts.get("name"), data) or Text("A referrer", "一位内推人"),
        "action": verbatim(str(entry.get("action") or "—")),
        "outcome": verbatim(outcome),
    }


def _facts(raw: object) -> dict:
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str) and raw:
        try:
            loaded = json.loads(raw)
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}
    return {}


def _data(style: Style) -> Callable[[str], str]:
    """How a piece of data (a name, Feishu's message) goes into the sentence: on one line,
    and cut when long (it is escaped where it becomes a `Text`)."""

    def put(value: str) -> str:
        value = " ".join(str(value).split())
        if len(value) > PIECE_CHARS:
            value = value[: PIECE_CHARS - 1] + "…"
        return value

    return put


def _verbatim(style: Style) -> Callable[[str], Text]:
    """An ID or code: copyable in a card, as it is in the CSV."""
    if style is MARKDOWN:
        return lambda value: Text.markup(code(value))
    return Text.same


def _person(open_id: str, style: Style) -> Text:
    if style is MARKDOWN and _OPEN_ID.match(open_id):
        return Text.markup(mention(open_id))  # Feishu shows each reader the name
    return _verbatim(style)(open_id)


def _account(account_id: object, owner: object, style: Style) -> Text:
    if not account_id:
        return Text("an account", "某个账户")
    number = _verbatim(style)(str(account_id))
    name = _bilingual(owner, _data(style))
    if name is None:
        return Text("account {number}", "账户 {number}").format(number=number)
    return Text("{name} ({number})", "{name}（{number}）").format(name=name, number=number)


def _bilingual(value: object, put: Callable[[str], str]) -> Text | None:
    """A {"en", "zh"} of the facts as text, each language falling back on the other."""
    if not isinstance(value, Mapping):
        return None
    en, zh = value.get("en") or value.get("zh"), value.get("zh") or value.get("en")
    if not en or not str(en).strip():
        return None
    return Text.data(put(str(en)), put(str(zh)))


def _reason(facts: Mapping, entry: Mapping[str, object], put: Callable[[str], str]) -> Text:
    why = facts.get("why")
    if isinstance(why, str) and why in REASONS:
        return REASONS[why]
    reason = _bilingual(facts.get("reason"), put)
    if reason is not None:
        return reason
    detail = entry.get("detail")
    if detail and str(detail).strip():  # an entry from before reasons were kept
        return Text.same(put(str(detail)))
    return Text("no reason recorded", "未记录原因")


def _amounts(facts: Mapping) -> Text:
    if "points" not in facts and "cash" not in facts:
        return Text("the balance", "余额")
    try:
        cash = tuple(
            Cash(str(cur), Decimal(str(amount))) for cur, amount in facts.get("cash") or ()
        )
        return amounts_text(Amounts(int(facts.get("points") or 0), cash))
    except (TypeError, ValueError, InvalidOperation):
        return Text("the balance", "余额")


def _count(value: object) -> Text:
    if isinstance(value, int):
        return Text(plural(value, "record"), str(value))
    return Text("some records", "若干")
