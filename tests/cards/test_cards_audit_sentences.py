"""Every kind of audit entry as a sentence in both languages, marked only when refused or failed."""

from __future__ import annotations

import json

import pytest

from cards.audit import audit_card
from cards.audit_sentences import FAILED, PLAIN, REFUSED, mark, sentence
from tests.conftest import card_text, card_text_zh

LI = "<at id=ou_li></at>"
OWNER = {"en": "Chen Jing", "zh": "陈静"}
MONEY = {"request": 1, "points": 1200, "cash": [["CNY", "300.00"], ["USD", "12.50"]]}
NOT_FOUND = {"en": "There is no referral account with this ID.", "zh": "不存在这个 ID 的内推账户。"}
CHEN = "Chen Jing (`6900001`)"
CHEN_ZH = "陈静（`6900001`）"
AMOUNTS = "1,200 points · CNY 300.00 · USD 12.50"
AMOUNTS_ZH = "1,200 积分 · CNY 300.00 · USD 12.50"

# (action, outcome, facts, mark, English, Chinese): the facts as the writers keep them.
CASES = [
    (
        "withdraw",
        "requested",
        MONEY,
        "",
        f"{LI} requested a withdrawal of {AMOUNTS} for {CHEN} (#1)",
        f"{LI} 申请为 {CHEN_ZH} 提取 {AMOUNTS_ZH}（#1）",
    ),
    (
        "withdraw",
        "refused",
        {"why": "empty", "kind": "all"},
        REFUSED,
        f"{LI} tried to request a withdrawal for {CHEN}: refused, there is no balance to withdraw",
        f"{LI} 试图为 {CHEN_ZH} 申请提取：被拒绝，没有可提取的余额",
    ),
    (
        "approve",
        "approved",
        {**MONEY, "order": "rb-1-0a1b"},
        "",
        f"{LI} approved withdrawal #1 of {AMOUNTS} for {CHEN} (order `rb-1-0a1b`)",
        f"{LI} 批准了 {CHEN_ZH} 的提取申请 #1：{AMOUNTS_ZH}（订单 `rb-1-0a1b`）",
    ),
    (
        "approve",
        "refused",
        {**MONEY, "why": "own_request"},
        REFUSED,
        f"{LI} tried to approve withdrawal #1 for {CHEN}: refused, "
        "the requester cannot approve their own request",
        f"{LI} 试图批准 {CHEN_ZH} 的提取申请 #1：被拒绝，申请人不能批准自己的申请",
    ),
    (
        "approve",
        "re-asked",
        MONEY,
        "",
        f"{LI} went to approve withdrawal #1 for {CHEN}, but the balance had changed: "
        f"it now asks approval for {AMOUNTS}",
        f"{LI} 批准 {CHEN_ZH} 的提取申请 #1 时余额已变化，需按新金额 {AMOUNTS_ZH} 重新批准",
    ),
    (
        "cancel",
        "cancelled",
        MONEY,
        "",
        f"{LI} cancelled withdrawal request #1 of {AMOUNTS} for {CHEN}",
        f"{LI} 取消了 {CHEN_ZH} 的提取申请 #1（{AMOUNTS_ZH}）",
    ),
    (
        "expire",
        "expired",
        MONEY,
        "",
        f"Withdrawal request #1 of {AMOUNTS} for {CHEN} expired without a decision",
        f"{CHEN_ZH} 的提取申请 #1（{AMOUNTS_ZH}）无人处理，已过期",
    ),
    (
        "withdrawn",
        "ok",
        {**MONEY, "order": "rb-1-0a1b"},
        "",
        f"Paid out {AMOUNTS} from {CHEN} for withdrawal #1, approved by {LI} (order `rb-1-0a1b`)",
        f"已从 {CHEN_ZH} 提取 {AMOUNTS_ZH}（提取申请 #1，批准人 {LI}，订单 `rb-1-0a1b`）",
    ),
    (
        "withdrawn",
        "error 1002",
        {**MONEY, "reason": NOT_FOUND},
        FAILED,
        f"Withdrawal #1 of {AMOUNTS} from {CHEN} failed: "
        "There is no referral account with this ID.",
        f"{CHEN_ZH} 的提取申请 #1（{AMOUNTS_ZH}）提取失败：不存在这个 ID 的内推账户。",
    ),
    (
        "export",
        "ok",
        {"what": "accounts", "count": 4, "file": "referral-accounts-2026-11-22.csv"},
        "",
        f"{LI} exported the accounts (4 records) as `referral-accounts-2026-11-22.csv`",
        f"{LI} 导出了账户（4 条）：`referral-accounts-2026-11-22.csv`",
    ),
    (
        "usage",
        "usage error",
        {"reason": {"en": "Say which account.", "zh": "请指明账户。"}},
        FAILED,
        f"{LI} sent a command the bot could not read: Say which account.",
        f"{LI} 发送的命令有误：请指明账户。",
    ),
    (
        "show",
        "ok",
        {},
        "",
        f"{LI} opened the card of {CHEN}",
        f"{LI} 查看了 {CHEN_ZH} 的账户卡片",
    ),
    (
        "disable",
        "refused",
        {"why": "not_admin"},
        REFUSED,
        f"{LI} tried to disable {CHEN}: refused, not an admin",
        f"{LI} 试图停用 {CHEN_ZH}：被拒绝，不是管理员",
    ),
    (
        "enable",
        "error 1002",
        {"reason": NOT_FOUND},
        FAILED,
        f"{LI} tried to enable {CHEN}, and it failed: There is no referral account with this ID.",
        f"{LI} 试图启用 {CHEN_ZH}，未成功：不存在这个 ID 的内推账户。",
    ),
    (
        "show",
        "no match",
        {},
        FAILED,
        f"{LI} tried to open the card of {CHEN}, but no single account matched",
        f"{LI} 试图查看 {CHEN_ZH} 的账户卡片，但没有唯一匹配的账户",
    ),
    (
        "register",
        "uncertain",
        {"why": "interrupted"},
        FAILED,
        f"{LI} tried to register {CHEN}: not sure it took effect, "
        "the call was cut off before Feishu answered; check before trying again",
        f"{LI} 试图注册 {CHEN_ZH}：无法确认是否生效，调用在飞书答复前中断，重试前请先核实",
    ),
    (
        "leaver",
        "disabled",
        {"name": OWNER, "mode": "disable"},
        "",
        "Chen Jing left: the bot disabled their account `6900001`",
        "陈静 已离职：机器人已停用其账户 `6900001`",
    ),
    (
        "leaver",
        "asked",
        {"name": OWNER, "mode": "ask"},
        "",
        "Chen Jing left: the notice chats are asked what to do with their account `6900001`",
        "陈静 已离职：已在通知群询问如何处理其账户 `6900001`",
    ),
    (
        "leaver",
        "off",
        {"name": OWNER, "mode": "off"},
        "",
        "Chen Jing left: their account `6900001` stays as it is (offboarding is off)",
        "陈静 已离职：其账户 `6900001` 保持不变（未开启离职处理）",
    ),
    (
        "leaver",
        "error 1002",
        {"name": OWNER, "reason": NOT_FOUND},
        FAILED,
        "Chen Jing left: disabling their account `6900001` failed: "
        "There is no referral account with this ID.",
        "陈静 已离职：停用其账户 `6900001` 失败：不存在这个 ID 的内推账户。",
    ),
    (
        "keep",
        "ok",
        {},
        "",
        f"{LI} kept {CHEN} as it is after its referrer left",
        f"{LI} 在内推人离职后保留了 {CHEN_ZH}",
    ),
]


def entry(action: str, outcome: str, facts: dict, **row) -> dict:
    """A row as the audit table holds it (facts as JSON, the owner's name kept with it)."""
    facts = {"owner": OWNER, **facts}
    base = {"actor": "ou_li", "account_id": "6900001", "detail": "code words for machines"}
    return {**base, "action": action, "outcome": outcome, "facts": json.dumps(facts), **row}


@pytest.mark.parametrize(
    ("action", "outcome", "facts", "flag", "en", "zh"),
    CASES,
    ids=[f"{c[0]}-{c[1]}" for c in CASES],
)
def test_every_kind_reads_as_a_sentence_in_both_languages(action, outcome, facts, flag, en, zh):
    row = entry(action, outcome, facts)
    said = sentence(row)
    assert (said.en, said.zh) == (en, zh)
    assert mark(row) == flag


def test_the_account_without_a_known_owner_is_its_id_and_without_one_a_word():
    said = sentence({"actor": "ou_li", "action": "show", "outcome": "ok", "account_id": "42"})
    assert (said.en, said.zh) == (
        f"{LI} opened the card of account `42`",
        f"{LI} 查看了 账户 `42` 的账户卡片",
    )
    said = sentence({"actor": "ou_li", "action": "list", "outcome": "refused"})
    assert said.zh == f"{LI} 试图查看账户列表：被拒绝，未记录原因"


def test_unknown_kinds_still_read_as_words_in_both_languages():
    unknown = sentence({"actor": "ou_li", "action": "teleport", "outcome": "ok"})
    assert unknown.en == f"{LI} did `teleport`: `ok`"
    assert unknown.zh == f"{LI} 执行了操作 `teleport`，结果：`ok`"
    new_outcome = {"actor": "ou_li", "action": "withdraw", "outcome": "already_open"}
    assert sentence(new_outcome).zh == f"{LI} 请求为 某个账户 申请提取，结果：`already_open`"
    assert mark(new_outcome) == ""
    assert mark({"action": "teleport", "outcome": "error 5"}) == FAILED


def test_an_entry_from_before_facts_were_kept_reads_with_its_detail():
    old = {"actor": "ou_li", "action": "approve", "outcome": "refused", "detail": "withdrawal #3"}
    said = sentence({**old, "account_id": "6900001", "facts": None})
    assert (
        said.en
        == f"{LI} tried to approve withdrawal #? for account `6900001`: refused, withdrawal #3"
    )


def test_every_piece_of_data_is_escaped_in_a_card_and_kept_as_is_in_the_csv():
    row = entry(
        "withdraw",
        "requested",
        {**MONEY, "owner": {"en": "**Boss** [x](http://evil)", "zh": "<at id=all></at>"}},
    )
    said = sentence(row)
    # The markdown source holds the data escaped; the reader sees its characters.
    assert "**Boss**" not in said.md_en and "&#42;&#42;Boss&#42;&#42; &#91;x&#93;" in said.md_en
    assert "<at id=all>" not in said.md_zh and "&#60;at id&#61;all&#62;" in said.md_zh
    assert "**Boss** [x](http://evil)" in said.en
    plain = sentence(row, PLAIN).en
    assert (
        plain
        == f"ou_li requested a withdrawal of {AMOUNTS} for **Boss** [x](http://evil) (6900001) (#1)"
    )


def test_the_card_shows_sentences_and_marks_only_refusals_and_failures():
    rows = [
        entry("withdraw", "requested", MONEY, at="2026-11-22T01:00:00+00:00"),
        entry(
            "approve", "refused", {**MONEY, "why": "own_request"}, at="2026-11-22T01:01:00+00:00"
        ),
        entry("enable", "error 1002", {"reason": NOT_FOUND}, at="2026-11-22T01:02:00+00:00"),
    ]
    card = audit_card(rows, zone="Asia/Shanghai")
    text, zh = card_text(card), card_text_zh(card)
    assert f"{LI} requested a withdrawal of {AMOUNTS} for {CHEN} (#1)\n" in text
    assert f"⛔ {LI} tried to approve withdrawal #1" in text and f"⚠️ {LI} tried to enable" in text
    assert text.count("⛔") == 1 and text.count("⚠️") == 1 and "✅" not in text
    assert f"{LI} 申请为 {CHEN_ZH} 提取 {AMOUNTS_ZH}（#1）" in zh
    assert "2026-11-22 09:00" in text and text.count("Asia/Shanghai") == 1  # in the footer
    for code_word in ("withdraw", "requested", "approve", "refused", "own_request", "enable"):
        assert f"`{code_word}`" not in text and code_word not in zh
