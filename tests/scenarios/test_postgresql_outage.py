"""PostgreSQL going away under a running bot: connections it dropped are replaced without a
word; while the server refuses connections /healthz answers 503 and a webhook push 500 (so
Feishu delivers again), and when it is back the bot works on with nothing lost."""

from __future__ import annotations

from urllib.parse import urlsplit

import psycopg
import pytest
import requests

from tests.conftest import Feishu, card_text, wait_for
from tests.postgres import server_url

pytestmark = pytest.mark.parametrize("records_db", ["postgresql"], indirect=True)


def _admin(sql: str) -> None:
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(sql)


def drop_connections(url: str) -> None:
    """The server ends every connection to the bot's database (a restart, a failover)."""
    name = urlsplit(url).path.lstrip("/")
    _admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        f" WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )


def refuse_connections(url: str, refuse: bool) -> None:
    name = urlsplit(url).path.lstrip("/")
    _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"false" if refuse else "true"}')
    if refuse:
        drop_connections(url)


def test_connections_the_server_dropped_are_replaced_without_a_failure(
    make_bot, emulator, records_db, caplog
):
    bot = make_bot()
    lark = Feishu(bot, emulator)
    assert "referral-bot help" in card_text(lark.ask("/referral help").content)
    drop_connections(records_db)
    for n in range(3):
        assert "referral-bot help" in card_text(lark.ask("/referral help").content), n
    assert requests.get(bot.url + "/healthz", timeout=5).status_code == 200
    assert "Traceback" not in caplog.text


def test_postgresql_down_health_503_pushes_500_and_the_work_resumes_when_it_is_back(
    make_bot, emulator, records_db
):
    bot = make_bot(busy_timeout=1)
    lark = Feishu(bot, emulator)
    refuse_connections(records_db, True)
    try:
        health = requests.get(bot.url + "/healthz", timeout=10)
        assert health.status_code == 503
        assert any("database cannot be" in p for p in health.json()["problems"])
        event = lark.message("/referral help")
        assert lark.push(event).status == 500  # Feishu delivers it again later
    finally:
        refuse_connections(records_db, False)
    assert lark.push(event).status == 200  # the redelivery is taken in
    message_id = event["event"]["message"]["message_id"]
    assert "referral-bot help" in card_text(lark.reply_to(message_id, timeout=30).content)
    wait_for(
        lambda: requests.get(bot.url + "/healthz", timeout=5).status_code == 200,
        timeout=30,
        what="healthy again",
    )
    assert bot.pool.alive() == bot.pool.size
