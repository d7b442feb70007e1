"""`referral-bot forget <who>`: the person's emails, mobiles, names and Feishu IDs leave every
record (found by grepping the database file and its -wal file), a pseudonym stays, the money
records stay whole, it is audited, and running it again changes nothing more."""

from __future__ import annotations

import getpass
import json
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from bot.emulator import Employee
from bot.emulator import events as feishu
from bot.records.notices import BATCH as NOTICE_BATCH
from handlers.withdrawals.requests import EXPIRE
from tests.conftest import ADMIN, ENCRYPT_KEY, VERIFICATION_TOKEN, Feishu, buttons, wait_for
from tests.handlers.withdrawals.test_withdrawals import APPROVER, press

ZHANG = "ou_hire"  # the emulator's employee: hire@open.com, +86 18900001111, 张三 / Zhang San
LI = Employee(
    open_id="ou_lisi",
    email="lisi@open.com",
    mobile=("86", "13700002222"),
    name_zh="李四",
    name_en="Li Si",
)
# Every way the records write Zhang San down: the test finds each before, and none after.
TRACES = [
    b"hire@open.com",
    b"HIRE@OPEN.COM",
    b"18900001111",
    "张三".encode(),
    b"\\u5f20\\u4e09",  # 张三 as JSON escapes it
    b"Zhang San",
    b"ou_hire",
    b"on_hire",  # the union_id beside the open_id in his messages
    b"oc_p2p_hire",  # his one-to-one chat with the bot
]
LI_TRACES = [b"lisi@open.com", b"13700002222", b"ou_lisi"]
# The money: every amount, order id and time of every money record.
MONEY = {
    "withdrawals": "id, account_id, kind, state, points, cash, order_id, trans_time,"
    " withdrawn_points, withdrawn_cash, requested_at, approved_at, expires_at",
    "accounts": "account_id, status, points, cash, registered_at, seen_at",
    "balance_changes": "id, account_id, points_delta, cash_delta, points, cash, modify_time",
    "digest_snapshots": "run_id, account_id, status, points, cash, taken_at",
}


def file_bytes(db_path: str) -> bytes:
    """The database file and its -wal file, as a grep would read them."""
    wal = Path(f"{db_path}-wal")
    return Path(db_path).read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def rows(db_path: str, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(db_path, timeout=10)) as conn:
        return conn.execute(sql).fetchall()


def money(db_path: str) -> dict[str, list[tuple]]:
    tables = {row[0] for row in rows(db_path, "SELECT name FROM sqlite_master")}
    return {
        table: rows(db_path, f"SELECT {columns} FROM {table} ORDER BY 1, 2")
        for table, columns in MONEY.items()
        if table in tables
    }


def everything_but_the_audit(db_path: str) -> dict[str, list[tuple]]:
    names = [row[0] for row in rows(db_path, "SELECT name FROM sqlite_master WHERE type='table'")]
    return {
        name: sorted(map(repr, rows(db_path, f'SELECT * FROM "{name}"')))
        for name in names
        if name not in ("audit", "owners", "health_probe")
    }


def forget(db_path: str, *who: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LARK_", "REFERRAL_BOT_"))}
    env.update(
        LARK_APP_ID="cli_forget",
        LARK_APP_SECRET="secret",
        LARK_ENCRYPT_KEY=ENCRYPT_KEY,
        LARK_VERIFICATION_TOKEN=VERIFICATION_TOKEN,
        REFERRAL_BOT_DB=db_path,
    )
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "forget", *who],
        cwd=None if db_path.startswith("postgresql://") else Path(db_path).parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def worked_off(bot) -> None:
    """Every event worked off, the bot's own follow-ups too, but the timers that wait for a
    window or a deadline (a notice batch, a request's expiry): nothing changes the records behind
    the test's back. (A notice batch is due at its window's end, which a clock-aligned window
    can bring within minutes of now: the timers are told apart by type, not by time.)"""

    def waiting() -> list[tuple]:
        return bot.database.db.execute(
            "SELECT event_type, status, not_before FROM events"
            " WHERE status IN ('queued', 'working') AND event_type NOT IN (?, ?)",
            [NOTICE_BATCH, EXPIRE],
        ).fetchall()

    wait_for(lambda: not waiting(), what="the events worked off")


@pytest.fixture
def lived(make_bot, emulator):
    """A bot whose records know Zhang San every way they can, and Li Si beside him."""
    emulator.add_employee(LI)
    bot = make_bot(
        admins=frozenset({ADMIN, APPROVER}),
        notice_chats=("oc_notice",),
        offboarding="ask",
        notice_window=timedelta(hours=1),  # balance notices wait, rather than land mid-test
    )
    lark = Feishu(bot, emulator)
    zhang = buttons(lark.ask("/referral register hire@open.com").content)[0]["account_id"]
    li = buttons(lark.ask("/referral register +86 13700002222").content)[0]["account_id"]
    emulator.add_bonus(zhang, points=1200, cash={"CNY": "300"})
    emulator.add_bonus(li, points=500)
    lark.ask(f"/referral show {zhang}")  # the referrer's name, email and mobile recorded
    lark.ask(f"/referral show {li}")
    press(lark, lark.ask(f"/referral withdraw {zhang}"), "approve")  # a withdrawal made
    lark.ask("/referral me", open_id=ZHANG, chat_id="oc_p2p_hire")  # he asks himself
    lark.ask(
        "/referral show @_user_1",  # an admin mentions him
        mentions=[feishu.user_mention("@_user_1", ZHANG, "Zhang San")],
    )
    lark.ask("/referral show +86 18900001111")
    lark.ask("/referral register HIRE@OPEN.COM")  # his email as someone typed it
    assert lark.push(emulator.user_deleted_event(ZHANG, token=VERIFICATION_TOKEN)).status == 200
    wait_for(lambda: emulator.messages_in("oc_notice"), what="the leaver card")
    worked_off(bot)
    return bot, lark, zhang, li


def test_forget_removes_every_trace_and_keeps_the_money(lived):
    bot, _, zhang, li = lived
    db_path = bot.settings.db_path
    before = file_bytes(db_path)
    for trace in TRACES + LI_TRACES:  # the test can find each one: it is able to fail
        assert trace in before, trace
    money_before = money(db_path)
    assert money_before["withdrawals"][0][6]  # an order id, kept below

    result = forget(db_path, "hire@open.com")  # while the bot runs

    assert result.returncode == 0, result.stderr
    pseudonym = re.search(r"forgotten as (forgotten-[0-9a-f]{8})", result.stdout).group(1)
    assert zhang in result.stdout and result.stderr == ""
    after = file_bytes(db_path)
    assert [trace for trace in TRACES if trace in after] == []
    assert [trace for trace in LI_TRACES if trace not in after] == []  # Li Si is untouched
    assert pseudonym.encode() in after
    assert money(db_path) == money_before
    record = bot.services.accounts.get(zhang)
    assert record.contact == pseudonym and record.account.referrer.name_en == pseudonym
    assert record.account.points == 0  # what Feishu said after the withdrawal, kept
    assert rows(db_path, f"SELECT * FROM account_contacts WHERE account_id = '{zhang}'") == []
    entry = bot.services.audit.entries()[-1]
    assert (entry["action"], entry["outcome"], entry["via"]) == ("forget", "ok", "cli")
    assert entry["actor"] == f"cli:{getpass.getuser()}" and entry["account_id"] == zhang
    assert entry["detail"].startswith(f"as {pseudonym}; accounts {zhang};")
    # The withdrawal still says the same (forgotten) person held the account.
    (withdrawal,) = bot.services.withdrawals.history()[0]
    assert (
        withdrawal.account_id == zhang and withdrawal.order_id == money_before["withdrawals"][0][6]
    )
    assert li in [r.account_id for r in bot.services.accounts.all()]


def test_forget_is_idempotent_and_audited_each_time(lived):
    bot, _, zhang, _ = lived
    db_path = bot.settings.db_path
    first = forget(db_path, "+86", "18900001111")  # by mobile this time
    assert first.returncode == 0, first.stderr
    pseudonym = re.search(r"forgotten-[0-9a-f]{8}", first.stdout).group()
    settled = everything_but_the_audit(db_path)

    for who in ([zhang], [pseudonym]):
        again = forget(db_path, *who)
        assert again.returncode == 0, again.stderr
        assert f"already forgotten as {pseudonym}" in again.stdout
        assert everything_but_the_audit(db_path) == settled
    # Nothing is left to find him by: his email and open_id name nobody now.
    for who in ("hire@open.com", ZHANG):
        gone = forget(db_path, who)
        assert gone.returncode == 1 and "nothing to forget" in gone.stderr
    assert everything_but_the_audit(db_path) == settled
    outcomes = [
        (e["outcome"], e["detail"] and e["detail"].split(";")[0])
        for e in bot.services.audit.entries()
        if e["action"] == "forget"
    ]
    assert outcomes == [
        ("ok", f"as {pseudonym}"),
        ("already forgotten", f"as {pseudonym}"),
        ("already forgotten", f"as {pseudonym}"),
        ("no match", None),
        ("no match", None),
    ]


def test_what_feishu_reports_again_is_not_written_back(lived):
    bot, lark, zhang, _ = lived
    db_path = bot.settings.db_path
    assert forget(db_path, zhang).returncode == 0
    forgotten = rows(
        db_path, f"SELECT contact, referrer FROM accounts WHERE account_id = '{zhang}'"
    )
    lark.ask(f"/referral show {zhang}")  # Feishu still knows him, and says so on the card
    worked_off(bot)
    assert rows(
        db_path, f"SELECT contact, referrer FROM accounts WHERE account_id = '{zhang}'"
    ) == (forgotten)
    assert rows(db_path, f"SELECT * FROM account_contacts WHERE account_id = '{zhang}'") == []
    assert "hire@open.com" not in json.dumps(forgotten)


def test_nobody_found_exits_1_and_changes_nothing_but_the_audit(lived):
    bot, _, _, _ = lived
    db_path = bot.settings.db_path
    settled = everything_but_the_audit(db_path)
    result = forget(db_path, "nobody@open.com")
    assert result.returncode == 1 and "no record holds nobody@open.com" in result.stderr
    assert everything_but_the_audit(db_path) == settled
    entry = bot.services.audit.entries()[-1]
    assert (entry["action"], entry["outcome"], entry["detail"]) == ("forget", "no match", None)
    assert "nobody" not in json.dumps(bot.services.audit.entries())


@pytest.mark.parametrize("who", [["hello", "world"], ["@_user_1"], ["not-an-email@"]])
def test_a_who_forget_cannot_read_is_a_bad_invocation(tmp_path, who):
    db_path = tmp_path / "bot.db"
    sqlite3.connect(db_path).close()
    result = forget(str(db_path), *who)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_someone_with_no_account_is_forgotten_by_open_id_and_then_by_pseudonym(lived):
    bot, lark, _, _ = lived
    db_path = bot.settings.db_path
    lark.ask("/referral whoami", open_id="ou_visitor", chat_id="oc_p2p_visitor")
    worked_off(bot)
    assert b"ou_visitor" in file_bytes(db_path)
    result = forget(db_path, "ou_visitor")
    assert result.returncode == 0, result.stderr
    pseudonym = re.search(r"forgotten-[0-9a-f]{8}", result.stdout).group()
    assert "accounts: none" in result.stdout
    assert b"ou_visitor" not in file_bytes(db_path)
    again = forget(db_path, pseudonym)
    assert again.returncode == 0 and f"already forgotten as {pseudonym}" in again.stdout
    assert forget(db_path, "forgotten-00000000").returncode == 1


def table_text(bot) -> bytes:
    """Every row of every table, as text (on PostgreSQL there is no file to grep)."""
    db = bot.database.db
    return "\n".join(
        str(value)
        for name in db.table_names()
        for row in db.execute(f'SELECT * FROM "{name}"')
        for value in row
    ).encode()


@pytest.mark.parametrize("records_db", ["postgresql"], indirect=True)
def test_forget_on_postgresql_removes_every_trace_and_keeps_the_money(lived):
    bot, _, zhang, _ = lived
    traces = TRACES + LI_TRACES
    before = table_text(bot)
    for trace in traces:
        assert trace in before, trace
    withdrawal = bot.services.withdrawals.history()[0][0]

    result = forget(bot.settings.db_path, "hire@open.com")

    assert result.returncode == 0, result.stderr
    pseudonym = re.search(r"forgotten as (forgotten-[0-9a-f]{8})", result.stdout).group(1)
    after = table_text(bot)
    zhangs = traces[: len(TRACES)]
    assert [trace for trace in zhangs if trace in after] == []
    assert [trace for trace in traces[len(TRACES) :] if trace not in after] == []
    record = bot.services.accounts.get(zhang)
    assert record.contact == pseudonym and record.account.points == 0
    assert bot.services.withdrawals.history()[0][0].order_id == withdrawal.order_id
