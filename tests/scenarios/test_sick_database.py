"""A sick database (locked past the busy timeout) ends no worker and is reported by /healthz."""

import logging
import sqlite3

import pytest
import requests

from tests.conftest import Feishu, card_text, wait_for

BUSY_TIMEOUT = 0.2


@pytest.fixture
def sick_bot(make_bot):
    return make_bot(busy_timeout=BUSY_TIMEOUT)


def hold_write_lock(bot) -> sqlite3.Connection:
    """A second connection holding the write lock, as a long transaction elsewhere would."""
    other = sqlite3.connect(bot.settings.db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_workers_outlive_a_locked_database_and_health_says_why(sick_bot, emulator, caplog):
    lark = Feishu(sick_bot, emulator)
    caplog.set_level(logging.INFO)
    lock = hold_write_lock(sick_bot)
    try:
        # Every worker's claim fails, again and again, for as long as the lock is held.
        wait_for(lambda: sick_bot.pool.trouble.failures >= 3 * sick_bot.pool.size, what="fails")
        health = requests.get(sick_bot.url + "/healthz", timeout=5)
        assert health.status_code == 503
        assert any("database cannot be written" in p for p in health.json()["problems"])
    finally:
        lock.rollback()
        lock.close()
    assert sick_bot.pool.alive() == sick_bot.pool.size
    for n in range(3):
        assert "referral-bot help" in card_text(lark.ask("/referral help").content), n
    assert requests.get(sick_bot.url + "/healthz", timeout=5).status_code == 200
    # One line when the trouble began, one when it ended: not one per failed attempt.
    errors = [r for r in caplog.records if r.getMessage().startswith("database error while")]
    assert len(errors) == 1
    assert "Traceback" not in caplog.text


def test_an_outcome_that_cannot_be_written_is_written_once_the_database_recovers(
    sick_bot, emulator
):
    lark = Feishu(sick_bot, emulator)
    emulator.set_latency("message_reply", 0.5)
    _, message_id = lark.say("/referral help")
    # The answer is worked out and kept; only sending it (slow) and recording it as done remain.
    wait_for(lambda: sick_bot.inbox.saved_reply(next(iter(_event_ids(sick_bot)))), what="saved")
    # ... and the way it is answered is decided (the last write before the send), so the lock
    # below can hold up only the writes after the send.
    wait_for(lambda: _answer_decided(sick_bot), what="the answer's way decided")
    lock = hold_write_lock(sick_bot)
    try:
        lark.reply_to(message_id)  # the work is done; recording it as done fails meanwhile
        before = sick_bot.pool.trouble.failures
        wait_for(lambda: sick_bot.pool.trouble.failures > before + 2, what="finish retried")
    finally:
        lock.rollback()
        lock.close()
    wait_for(lambda: sick_bot.inbox.counts() == {"done": 1}, what="finished")
    assert len([m for m in emulator.messages if m.reply_to == message_id]) == 1
    assert sick_bot.pool.alive() == sick_bot.pool.size


def _answer_decided(bot) -> bool:
    rows = bot.database.db.execute("SELECT answer_via FROM events").fetchall()
    return bool(rows) and all(row[0] for row in rows)


def _event_ids(bot) -> list[str]:
    return [row[0] for row in bot.database.db.execute("SELECT event_id FROM events")]
