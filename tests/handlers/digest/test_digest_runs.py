"""The digest's work through real HTTP against the emulator: fetching, deltas, failures, size."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

from bot.accounts import Account, AccountStatus
from bot.records.digests import ON_DEMAND
from tests.cards.card_checks import walk
from tests.conftest import Feishu, buttons, card_text, card_text_zh
from tests.handlers.digest.conftest import HR_CHAT, chat_messages, know_accounts


def test_command_posts_digest_and_records_the_run(digest_bot, emulator):
    bot = digest_bot()
    ids = know_accounts(bot, emulator, 3)
    emulator.add_bonus(ids[0], points=1200, cash={"CNY": "1234.5"})
    emulator.set_status(ids[2], 2)

    reply = Feishu(bot, emulator).ask("/referral digest", chat_id="oc_other")

    assert reply.chat_id == "oc_other"
    text = card_text(reply.content)
    assert "3 accounts** · 2 enabled · 1 disabled" in text
    assert "Total: 1,200 points · CNY 1,234.50" in text
    assert "first digest" in text
    assert "共 3 个账户" in card_text_zh(reply.content)
    fetched = [c.query["referral_account_id"] for c in emulator.calls_for("get_account_assets")]
    assert sorted(fetched) == sorted(ids)
    (run,) = bot.digest.records.runs()
    assert run.kind == ON_DEMAND and run.fetched == 3 and run.failed == 0
    assert run.chats_posted == ("oc_other",) and run.finished_at is not None
    assert bot.digest.records.snapshot_count(run.id) == 3
    # An on-demand digest is not the scheduled one.
    assert bot.digest.records.last_scheduled_for() is None
    assert bot.services.accounts.get(ids[0]).account.points == 1200
    assert bot.services.accounts.get(ids[2]).account.status is AccountStatus.DISABLED


def test_second_digest_shows_what_changed(digest_bot, emulator):
    bot = digest_bot()
    ids = know_accounts(bot, emulator, 4)
    emulator.add_bonus(ids[1], points=50, cash={"USD": "10"})
    bot.digest.card_for_chat(HR_CHAT)

    emulator.add_bonus(ids[0], points=100, cash={"CNY": "50"})
    emulator.set_status(ids[1], 2)
    emulator.add_bonus(ids[1], points=-20)
    (new_id,) = know_accounts(bot, emulator, 1, start=10)
    emulator.add_bonus(new_id, points=7)

    card = bot.digest.card_for_chat(HR_CHAT)

    text = card_text(card)
    assert f"**referrer0@example.com** · `{ids[0]}` · +100 points · +CNY 50.00" in text
    assert "Enabled → <font color='red'>Disabled</font> · -20 points" in text
    assert f"**referrer10@example.com** · `{new_id}` · new · " in text
    assert "Changes since" in text
    assert ids[2] not in text and ids[3] not in text  # unchanged accounts are not listed
    # Most important first: status changes, balance changes, new accounts.
    assert text.index("Status changes") < text.index("Balance changes") < text.index("New accounts")
    zh = card_text_zh(card)
    assert "状态变化" in zh and "已启用 → <font color='red'>已停用</font> · -20 积分" in zh
    assert "Total: 137 points · CNY 50.00 · USD 10.00" in text
    assert buttons(card) == [{"action": "list"}]


def test_failed_fetches_are_named_with_the_reason(digest_bot, emulator):
    bot = digest_bot()
    (good,) = know_accounts(bot, emulator, 1)
    bot.services.accounts.remember(Account("6900000000000000001", AccountStatus.ENABLED))

    card = bot.digest.card_for_chat(HR_CHAT)

    text = card_text(card)
    assert "1 could not be fetched" in text
    assert (
        "`6900000000000000001` · could not fetch: There is no referral account with this ID."
        in (text)
    )
    assert "查询失败：不存在这个 ID 的内推账户。" in card_text_zh(card)
    assert "2 accounts** · 1 enabled · 0 disabled" in text
    (run,) = bot.digest.records.runs()
    assert (run.fetched, run.failed) == (1, 1)
    assert good not in text.split("Could not fetch")[1]


def test_server_errors_after_retries_count_as_a_failure(digest_bot, emulator):
    bot = digest_bot()
    (account_id,) = know_accounts(bot, emulator, 1)
    emulator.fail_next("get_account_assets", n=4, kind="5xx")

    card = bot.digest.card_for_chat(HR_CHAT)

    failed = [c for c in emulator.calls_for("get_account_assets") if c.status >= 500]
    assert len(failed) == 4  # the gateway retried before giving up
    text = card_text(card)
    assert f"**referrer0@example.com** · `{account_id}` · could not fetch: " in text
    assert "1 could not be fetched" in text


def test_many_changes_stay_under_the_card_limit(digest_bot, emulator):
    bot = digest_bot(fast=True)
    ids = know_accounts(bot, emulator, 400)
    start = datetime.now(UTC)
    assert bot.digest.run_scheduled(start - timedelta(days=1)) == [HR_CHAT]  # the baseline
    for i, account_id in enumerate(ids):
        emulator.add_bonus(account_id, points=100 + i, cash={"CNY": "12.34", "USD": "1"})

    posted = bot.digest.run_scheduled(start)
    assert posted == [HR_CHAT]

    _, message = chat_messages(emulator, HR_CHAT)
    card = message.content
    assert len(message.raw_content.encode()) < 30 * 1024
    assert len(json.dumps(card).encode()) < 30 * 1024
    text = card_text(card)
    assert "more" in text and "还有" in card_text_zh(card)
    shown = text.count("points · +CNY 12.34 · +USD 1.00")
    assert 0 < shown < 400
    assert f"… and {400 - shown} more" in text
    assert buttons(card) == [{"action": "list"}]

    # Show all posts the account list into the chat.
    result, _ = Feishu(bot, emulator).press(message, {"action": "list"})
    assert result.status == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(chat_messages(emulator, HR_CHAT)) < 3:
        time.sleep(0.05)
    listing = chat_messages(emulator, HR_CHAT)[2].content
    assert "Referral accounts" in card_text(listing)
    # ... paged: its Next button carries where the next page starts, and turns it in place.
    (next_page,) = [b for b in buttons(listing) if b.get("offset")]
    assert next_page["action"] == "list" and 0 < next_page["offset"] < 400
    listed = chat_messages(emulator, HR_CHAT)[2]
    turned, _ = Feishu(bot, emulator).press(listed, next_page)
    page_two = card_text(turned.body["card"]["data"])
    assert f"Accounts {next_page['offset'] + 1}–" in page_two and "of 400" in page_two
    assert len(chat_messages(emulator, HR_CHAT)) == 3  # no new message


def test_command_is_answered_while_a_digest_runs(digest_bot, emulator):
    bot = digest_bot()  # 10 per second on both sides, as in production
    ids = know_accounts(bot, emulator, 60)
    digest = threading.Thread(target=bot.digest.card_for_chat, args=(HR_CHAT,))
    digest.start()
    time.sleep(1.0)

    asked = time.monotonic()
    reply = Feishu(bot, emulator).ask(f"/referral show {ids[-1]}", timeout=10)
    answered = time.monotonic() - asked

    assert digest.is_alive(), "the digest should still be fetching"
    assert answered < 2.5, answered
    assert ids[-1] in card_text(reply.content)
    digest.join(30)
    limited = [c for c in emulator.calls_for("get_account_assets") if c.status == 429]
    assert limited == []


def charts(card: dict) -> list[dict]:
    return [node for node in walk(card) if node.get("tag") == "chart"]


def test_the_chart_comes_from_the_second_scheduled_digest_on(digest_bot, emulator):
    bot = digest_bot(digest_tz="Asia/Shanghai")
    ids = know_accounts(bot, emulator, 2)
    emulator.add_bonus(ids[0], points=1000, cash={"CNY": "3000"})
    t1 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    t2, t3 = t1 + timedelta(days=1), t1 + timedelta(days=2)

    assert bot.digest.run_scheduled(t1) == [HR_CHAT]
    (first,) = chat_messages(emulator, HR_CHAT)
    assert charts(first.content) == []

    emulator.add_bonus(ids[1], points=500, cash={"USD": "120"})
    # A digest on demand in between is no point of the chart.
    on_demand = Feishu(bot, emulator).ask("/referral digest", chat_id="oc_other")
    assert charts(on_demand.content) == []  # one scheduled digest: no line yet
    assert bot.digest.run_scheduled(t2) == [HR_CHAT]

    _, second = chat_messages(emulator, HR_CHAT)
    (chart,) = charts(second.content)
    assert chart["aspect_ratio"] == "16:9"
    spec = chart["chart_spec"]
    assert spec["type"] == "line" and "Totals over the last 2 digests" in spec["title"]["text"]
    rows = [(r["date"], r["series"], r["value"]) for r in spec["data"]["values"]]
    assert rows == [
        ("11-20", "Points 积分", 1000),
        ("11-20", "CNY cash CNY 现金", 3000),
        ("11-20", "USD cash USD 现金", 0),
        ("11-21", "Points 积分", 1500),
        ("11-21", "CNY cash CNY 现金", 3000),
        ("11-21", "USD cash USD 现金", 120),
    ]
    # What went over the wire is the card the bot built, under Feishu's limits.
    assert len(second.raw_content.encode()) < 30 * 1024
    assert "function" not in json.dumps(spec)

    emulator.add_bonus(ids[0], points=-400)
    assert bot.digest.run_scheduled(t3) == [HR_CHAT]
    third = chat_messages(emulator, HR_CHAT)[-1]
    (chart,) = charts(third.content)
    points = [r for r in chart["chart_spec"]["data"]["values"] if r["series"] == "Points 积分"]
    assert [(r["date"], r["value"]) for r in points] == [
        ("11-20", 1000),
        ("11-21", 1500),
        ("11-22", 1100),
    ]
    # On demand, the card charts the scheduled digests so far.
    later = Feishu(bot, emulator).ask("/referral digest", chat_id="oc_other")
    (chart,) = charts(later.content)
    assert "Totals over the last 3 digests" in chart["chart_spec"]["title"]["text"]


def test_a_scheduled_digest_of_no_accounts_is_a_point_at_zero(digest_bot, emulator):
    bot = digest_bot(digest_tz="Asia/Shanghai")
    t1 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert bot.digest.run_scheduled(t1) == [HR_CHAT]  # before anyone was registered
    (first,) = chat_messages(emulator, HR_CHAT)
    assert "No referral accounts known yet" in card_text(first.content)
    assert charts(first.content) == []

    (account_id,) = know_accounts(bot, emulator, 1)
    emulator.add_bonus(account_id, points=800)
    assert bot.digest.run_scheduled(t1 + timedelta(days=1)) == [HR_CHAT]

    _, second = chat_messages(emulator, HR_CHAT)
    (chart,) = charts(second.content)
    assert "Totals over the last 2 digests" in chart["chart_spec"]["title"]["text"]
    points = [r for r in chart["chart_spec"]["data"]["values"] if r["series"] == "Points 积分"]
    assert [(r["date"], r["value"]) for r in points] == [("11-20", 0), ("11-21", 800)]
    # A run whose snapshots were pruned is still left out, not drawn as zero.
    bot.database.db.execute("DELETE FROM digest_snapshots")
    assert [(when.day, t.points) for when, t in bot.digest.records.scheduled_totals()] == [(20, 0)]
