"""The digest's work through real HTTP against the emulator: fetching, deltas, failures, size."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

from bot.domain.accounts import Account, AccountStatus
from bot.records.digests import ON_DEMAND
from bot.records.store import to_iso
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
    # On demand before any scheduled digest: nothing to compare with yet, and it says so.
    assert "No scheduled digest yet" in text and "first" not in text
    assert reply.content["header"]["subtitle"]["content"].startswith("On demand · ")
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
    assert bot.digest.run_scheduled(datetime.now(UTC)) == [HR_CHAT]

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


def unit_rows(card: dict) -> dict[str, list[tuple[str, object]]]:
    """Each chart's (date, value) rows under the English label just above it."""
    elements = card["body"]["elements"]
    return {
        label["i18n_content"]["en_us"].strip("*"): [
            (r["date"], r["value"]) for r in chart["chart_spec"]["data"]["values"]
        ]
        for label, chart in zip(elements, elements[1:], strict=False)
        if chart.get("tag") == "chart"
    }


def at(bot, moment: datetime) -> None:
    """The digest reads `moment` from its clock from now on."""
    bot.digest.clock = lambda: moment


def test_the_chart_comes_from_the_second_scheduled_digest_on(digest_bot, emulator):
    bot = digest_bot(digest_tz="Asia/Shanghai")
    ids = know_accounts(bot, emulator, 2)
    emulator.add_bonus(ids[0], points=1000, cash={"CNY": "3000"})
    t1 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    t2, t3 = t1 + timedelta(days=1), t1 + timedelta(days=2)

    at(bot, t1 + timedelta(seconds=40))
    assert bot.digest.run_scheduled(t1) == [HR_CHAT]
    (first,) = chat_messages(emulator, HR_CHAT)
    assert charts(first.content) == []

    emulator.add_bonus(ids[1], points=500, cash={"USD": "120"})
    # A digest on demand in between is no point of the scheduled ones' chart.
    at(bot, t1 + timedelta(hours=5))
    Feishu(bot, emulator).ask("/referral digest", chat_id="oc_other")
    at(bot, t2 + timedelta(seconds=40))
    assert bot.digest.run_scheduled(t2) == [HR_CHAT]

    _, second = chat_messages(emulator, HR_CHAT)
    assert [c["aspect_ratio"] for c in charts(second.content)] == ["2:1"] * 3
    # Points and each currency on a chart of its own: USD's 120 is not flattened by points.
    assert unit_rows(second.content) == {
        "Points": [("11-20", 1000), ("11-21", 1500)],
        "CNY cash": [("11-20", 3000), ("11-21", 3000)],
        "USD cash": [("11-20", 0), ("11-21", 120)],
    }
    assert "Totals of the last 2 scheduled digests" in card_text(second.content)
    assert "近 2 份定时摘要的合计" in card_text_zh(second.content)
    # What went over the wire is the card the bot built, under Feishu's limits.
    assert len(second.raw_content.encode()) < 30 * 1024
    assert "function" not in json.dumps(charts(second.content))

    emulator.add_bonus(ids[0], points=-400)
    at(bot, t3 + timedelta(seconds=40))
    assert bot.digest.run_scheduled(t3) == [HR_CHAT]
    third = chat_messages(emulator, HR_CHAT)[-1]
    assert unit_rows(third.content)["Points"] == [("11-20", 1000), ("11-21", 1500), ("11-22", 1100)]


def test_on_demand_after_one_scheduled_digest_charts_it_and_now(digest_bot, emulator):
    bot = digest_bot(digest_tz="Asia/Shanghai")
    (account_id,) = know_accounts(bot, emulator, 1)
    emulator.add_bonus(account_id, points=300, cash={"USD": "5"})
    t1 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    at(bot, t1)
    assert bot.digest.run_scheduled(t1) == [HR_CHAT]
    emulator.add_bonus(account_id, points=200, cash={"USD": "2.5"})

    at(bot, t1 + timedelta(days=1, hours=6))  # 15:00 the next day
    reply = Feishu(bot, emulator).ask("/referral digest", chat_id="oc_other")

    assert unit_rows(reply.content) == {
        "Points": [("11-20", 300), ("11-21", 500)],
        "USD cash": [("11-20", 5), ("11-21", 7.5)],
    }
    text = card_text(reply.content)
    assert "Totals of the last 1 scheduled digests and now" in text
    assert "近 1 份定时摘要及此刻的合计" in card_text_zh(reply.content)
    assert reply.content["header"]["subtitle"]["content"] == ("On demand · 2026-11-21 15:00")
    # It tells the change since the scheduled digest, and does not become the baseline: the
    # group's next scheduled digest tells the same change.
    assert "Changes since the scheduled digest of 2026-11-20 09:00" in text
    assert "+200 points · +USD 2.50" in text
    at(bot, t1 + timedelta(days=2))
    assert bot.digest.run_scheduled(t1 + timedelta(days=2)) == [HR_CHAT]
    latest = card_text(chat_messages(emulator, HR_CHAT)[-1].content)
    assert "+200 points · +USD 2.50" in latest
    assert "Changes since the scheduled digest of 2026-11-20 09:00" in latest


def test_the_first_scheduled_digest_after_digests_on_demand_says_it_is_the_first(
    digest_bot, emulator
):
    bot = digest_bot()
    know_accounts(bot, emulator, 1)
    lark = Feishu(bot, emulator)
    for _ in range(2):
        asked = lark.ask("/referral digest", chat_id="oc_other")
        assert "No scheduled digest yet" in card_text(asked.content)

    assert bot.digest.run_scheduled(datetime.now(UTC)) == [HR_CHAT]

    (posted,) = chat_messages(emulator, HR_CHAT)
    text = card_text(posted.content)
    assert "This is the first scheduled digest" in text
    assert "这是第一份定时摘要" in card_text_zh(posted.content)
    assert posted.content["header"]["subtitle"]["content"].startswith("Scheduled · ")
    assert charts(posted.content) == []  # the digests on demand are no points of the chart


def test_the_header_and_the_chart_point_are_one_reading_of_the_clock(digest_bot, emulator):
    bot = digest_bot(digest_tz="Asia/Shanghai")
    know_accounts(bot, emulator, 1)
    t1 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    at(bot, t1)
    bot.digest.run_scheduled(t1)
    # The sandbox's second press within a minute fires "23:28" while the clock reads 23:27.
    fire = datetime(2026, 11, 20, 15, 28, tzinfo=UTC)
    moment = datetime(2026, 11, 20, 15, 27, 30, tzinfo=UTC)
    at(bot, moment)
    assert bot.digest.run_scheduled(fire) == [HR_CHAT]

    card = chat_messages(emulator, HR_CHAT)[-1].content
    assert card["header"]["subtitle"]["content"] == "Scheduled · 2026-11-20 23:27"
    last_label, _ = unit_rows(card)["Points"][-1]
    assert last_label == "11-20 23:27"
    run = bot.digest.records.runs()[-1]
    assert run.taken_at == moment
    taken = bot.database.db.execute(
        "SELECT DISTINCT taken_at FROM digest_snapshots WHERE run_id = ?", [run.id]
    ).fetchall()
    assert taken == [(to_iso(moment),)]


def test_a_scheduled_digest_of_no_accounts_is_a_point_at_zero(digest_bot, emulator):
    bot = digest_bot(digest_tz="Asia/Shanghai")
    t1 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    at(bot, t1)
    assert bot.digest.run_scheduled(t1) == [HR_CHAT]  # before anyone was registered
    (first,) = chat_messages(emulator, HR_CHAT)
    assert "No referral accounts known yet" in card_text(first.content)
    assert charts(first.content) == []

    (account_id,) = know_accounts(bot, emulator, 1)
    emulator.add_bonus(account_id, points=800)
    at(bot, t1 + timedelta(days=1))
    assert bot.digest.run_scheduled(t1 + timedelta(days=1)) == [HR_CHAT]

    _, second = chat_messages(emulator, HR_CHAT)
    assert "Totals of the last 2 scheduled digests" in card_text(second.content)
    assert unit_rows(second.content)["Points"] == [("11-20", 0), ("11-21", 800)]
    # A run whose snapshots were pruned is still left out, not drawn as zero.
    bot.database.db.execute("DELETE FROM digest_snapshots")
    assert [(when.day, t.points) for when, t in bot.digest.records.scheduled_totals()] == [(20, 0)]


def test_a_database_from_before_charts_its_digests_at_their_fire_times(
    digest_bot, emulator, tmp_path
):
    account_id = emulator.create_account("ou_referrer0")
    emulator.add_bonus(account_id, points=900)
    with sqlite3.connect(tmp_path / "bot.db") as old:  # the digest's tables as they were
        old.execute(
            "CREATE TABLE digest_runs (id INTEGER PRIMARY KEY, scheduled_for TEXT, holder TEXT,"
            " started_at TEXT, heartbeat_at TEXT, finished_at TEXT, kind TEXT, accounts INTEGER,"
            " fetched INTEGER, failed INTEGER, failures TEXT, chats_posted TEXT,"
            " chats_failed TEXT)"
        )
        old.execute(
            "INSERT INTO digest_runs VALUES (1, '2026-11-20T01:00:00.000+00:00', NULL,"
            " '2026-11-20T01:00:02.000+00:00', NULL, '2026-11-20T01:00:05.000+00:00',"
            " 'scheduled', 1, 1, 0, '[]', '[\"oc_hr\"]', '[]')"
        )
        old.execute(
            "CREATE TABLE digest_snapshots (run_id INTEGER, account_id TEXT, status INTEGER,"
            " points INTEGER, cash TEXT, taken_at TEXT, PRIMARY KEY (run_id, account_id))"
        )
        old.execute(
            "INSERT INTO digest_snapshots VALUES (1, ?, 1, 400, '[]',"
            " '2026-11-20T01:00:04.000+00:00')",
            [account_id],
        )
    bot = digest_bot(digest_tz="Asia/Shanghai")
    assert "taken_at" in bot.database.db["digest_runs"].columns_dict
    bot.services.accounts.remember(Account(account_id, AccountStatus.ENABLED))
    t2 = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
    at(bot, t2 + timedelta(seconds=3))

    assert bot.digest.run_scheduled(t2) == [HR_CHAT]

    card = chat_messages(emulator, HR_CHAT)[-1].content
    assert unit_rows(card)["Points"] == [("11-20", 400), ("11-21", 900)]
    text = card_text(card)
    assert "Changes since the scheduled digest of 2026-11-20 09:00" in text
    assert "+500 points" in text
