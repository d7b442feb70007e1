"""`referral-bot serve` as a process, killed at a chosen moment and started again on the same
database: no acknowledged command is lost, none runs twice, and a SIGTERM stops cleanly.

Each test runs the real CLI as a child process against the in-process emulator. A SIGKILLed
process's claims are taken back once it has stopped beating (`STALE_AFTER`: 15 s, 5 s in these
tests through REFERRAL_BOT_LIVENESS_SECONDS), so a restart answers within about one timeout and
a beat; the tests allow the 30 s the bot promises.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import TypeVar

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from bot.emulator import Emulator, Message
from bot.emulator import events as feishu
from bot.records.engines import is_postgres, native_params, url_of
from tests.conftest import ADMIN, ENCRYPT_KEY, ENGINES, VERIFICATION_TOKEN, card_text

ROOT = Path(__file__).resolve().parents[2]
APPROVER = "ou_approver"  # a second admin, to approve withdrawals
RECOVERY_CEILING = 30.0  # seconds from a restart until a killed process's command is answered
WORKERS = 4  # the pool size `serve` runs with (ReferralBot's default)

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Child:
    """One `referral-bot serve` process; its stdout and stderr go to `log_path`."""

    def __init__(self, process: subprocess.Popen, url: str, log_path: Path) -> None:
        self.process = process
        self.url = url
        self.log_path = log_path

    def push(self, event: dict, path: str = "/webhook/event") -> int:
        """Deliver an event as Feishu does (encrypted, signed); the HTTP status."""
        return feishu.deliver(self.url + path, event, encrypt_key=ENCRYPT_KEY).status

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


class Children:
    """Starts `serve` children on one database and reads that database; kills what is left."""

    def __init__(self, emulator: Emulator, workdir: Path, target: str | None = None) -> None:
        self.emulator = emulator
        self.workdir = workdir
        # REFERRAL_BOT_DB: a SQLite file, or a PostgreSQL database the children share.
        self.target = target or str(workdir / "bot.db")
        self.db_path = Path(self.target)
        self.started: list[Child] = []
        self._reader: sa.Engine | None = None

    def start(self, **settings: str) -> Child:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LARK_", "REFERRAL_BOT_"))}
        env.update(
            PYTHONPATH=str(ROOT),  # this working tree, wherever the child's cwd is
            LARK_APP_ID=self.emulator.app_id,
            LARK_APP_SECRET=self.emulator.app_secret,
            LARK_ENCRYPT_KEY=ENCRYPT_KEY,
            LARK_VERIFICATION_TOKEN=VERIFICATION_TOKEN,
            LARK_DOMAIN=self.emulator.url,
            REFERRAL_BOT_HOST="127.0.0.1",
            REFERRAL_BOT_PORT=str(port),
            REFERRAL_BOT_DB=self.target,
            REFERRAL_BOT_ADMINS=f"{ADMIN},{APPROVER}",
            # A killed process's work is free 5 s after its last beat instead of 15: the tests
            # wait for the takeover, which is the same mechanism whatever the timeout.
            REFERRAL_BOT_LIVENESS_SECONDS="5",
        )
        env.update(settings)
        return self.spawn(env, port, self._healthy, "serve")

    def spawn(self, env: dict[str, str], port: int, ready: Callable[[Child], bool], what: str):
        """Start `referral-bot serve` with `env` (and nothing else) and wait until it is
        `ready`."""
        log_path = self.workdir / f"child-{len(self.started) + 1}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"],
                cwd=self.workdir,  # no app.yaml here: the environment says everything
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        child = Child(process, f"http://127.0.0.1:{port}", log_path)
        self.started.append(child)
        self.wait_for(lambda: ready(child), 30, f"child {len(self.started)} to {what}")
        return child

    def _healthy(self, child: Child) -> bool:
        if child.process.poll() is not None:
            raise AssertionError(f"the child exited with {child.process.returncode}\n{self.logs()}")
        try:
            return requests.get(child.url + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def kill_all(self) -> None:
        for child in self.started:
            if child.process.poll() is None:
                child.kill()

    # --- what the children did ---------------------------------------------------------------
    def logs(self) -> str:
        return "\n".join(
            f"--- child {n} log:\n{child.log_path.read_text(errors='replace')}"
            for n, child in enumerate(self.started, 1)
        )

    def assert_clean(self) -> None:
        assert "Traceback" not in self.logs(), self.logs()

    def wait_for(self, probe: Callable[[], T], timeout: float, what: str) -> T:
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout} s: {what}\n{self.logs()}")
            time.sleep(0.02)

    def _rows(self, sql: str, params: tuple = ()) -> list[dict]:
        """Read the children's database, read-only (nothing before it exists)."""
        if is_postgres(self.target):
            if self._reader is None:
                self._reader = sa.create_engine(url_of(self.target), poolclass=NullPool)
            with self._reader.connect() as conn:
                if not sa.inspect(conn).has_table("events"):
                    return []
                result = conn.exec_driver_sql(native_params(conn, sql), params)
                return [dict(row._mapping) for row in result]
        if not self.db_path.exists():
            return []
        uri = f"file:{self.db_path}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=5)) as conn:
            conn.row_factory = sqlite3.Row
            try:
                return [dict(row) for row in conn.execute(sql, params)]
            except sqlite3.OperationalError as exc:  # the first child is making its tables
                if "no such table" in str(exc):
                    return []
                raise

    def event(self, event_id: str) -> dict:
        """The event's row in the inbox ({} before it is stored)."""
        rows = self._rows("SELECT * FROM events WHERE event_id = ?", (event_id,))
        return rows[0] if rows else {}

    def working(self) -> int:
        return len(self._rows("SELECT event_id FROM events WHERE status = 'working'"))

    # --- Feishu's side -----------------------------------------------------------------------
    def message(self, text: str, chat_id: str = "oc_hr") -> tuple[dict, str, str]:
        """A message event from the admin; with its event id and message id."""
        event = feishu.message_event(
            text,
            token=VERIFICATION_TOKEN,
            open_id=ADMIN,
            chat_id=chat_id,
            app_id=self.emulator.app_id,
        )
        message_id = event["event"]["message"]["message_id"]
        self.emulator.note_user_message(message_id, chat_id)
        return event, event["header"]["event_id"], message_id

    def replies_to(self, message_id: str) -> list[Message]:
        return [m for m in self.emulator.messages if m.reply_to == message_id]


# Every scenario here runs on both engines: a SQLite file, and a PostgreSQL database.
pytestmark = pytest.mark.parametrize("records_db", ENGINES, indirect=True)


@pytest.fixture
def children(emulator: Emulator, tmp_path: Path, records_db: str) -> Iterator[Children]:
    kids = Children(emulator, tmp_path, records_db)
    try:
        yield kids
    finally:
        kids.kill_all()


def test_killed_while_the_reply_is_in_flight_the_restart_only_sends_it_again(
    children: Children, emulator: Emulator
):
    account_id = emulator.create_account("ou_hire")
    first = children.start()
    emulator.set_latency("message_reply", 3)
    event, event_id, message_id = children.message(f"/referral disable {account_id}")
    assert first.push(event) == 200
    children.wait_for(lambda: emulator.calls_for("deactivate"), 10, "the command to run")
    children.wait_for(lambda: children.event(event_id).get("reply"), 10, "the reply to be kept")
    time.sleep(0.5)  # the reply's request is now inside the emulator's 3 s latency
    first.kill()
    killed_at = time.time()
    emulator.set_latency("message_reply", 0)  # the request already in hand keeps its 3 s
    restarted = time.monotonic()
    children.start()

    # Feishu carries out the request it had, though its sender is gone.
    children.wait_for(lambda: children.replies_to(message_id), 5, "the cut-off reply to land")
    # The restart takes the dead process's claim back and sends the kept reply again.
    children.wait_for(
        lambda: children.event(event_id).get("status") == "done",
        RECOVERY_CEILING - (time.monotonic() - restarted),
        "the restart to work the event off",
    )
    sends = [c for c in emulator.calls_for("message_reply") if message_id in c.path]
    assert len(sends) == 2, children.logs()
    assert sends[0].at < killed_at < sends[1].at
    assert {c.body["uuid"] for c in sends} == {f"reply-{event_id}"}
    replies = children.replies_to(message_id)
    assert len(replies) == 1  # Feishu de-duplicated the second send by its uuid
    assert "Disabled" in card_text(replies[0].content)
    assert len(emulator.calls_for("deactivate")) == 1
    assert emulator.account(account_id)["status"] == 2
    children.assert_clean()


def test_killed_while_the_change_is_in_flight_the_restart_reads_first_and_does_not_repeat_it(
    children: Children, emulator: Emulator
):
    account_id = emulator.create_account("ou_hire")
    first = children.start()
    # A tenant token and a connection in hand: after the mark, only the call itself is sent.
    event, _, warm_up = children.message(f"/referral show {account_id}")
    assert first.push(event) == 200
    children.wait_for(lambda: children.replies_to(warm_up), 10, "the warm-up reply")
    emulator.set_latency("deactivate", 3)
    event, event_id, message_id = children.message(f"/referral disable {account_id}")
    assert first.push(event) == 200
    children.wait_for(
        lambda: children.event(event_id).get("once_started_at"), 10, "the change to be begun"
    )
    time.sleep(0.5)  # the deactivate request is now inside the emulator's 3 s latency
    first.kill()
    killed_at = time.time()
    emulator.set_latency("deactivate", 0)
    restarted = time.monotonic()
    children.start()

    # Feishu carries out the change it had received, though its sender is gone ...
    deactivated = children.wait_for(
        lambda: emulator.calls_for("deactivate"), 5, "the cut-off change to be carried out"
    )
    assert deactivated[0].at < killed_at, "the change should have reached Feishu before the kill"
    # ... and the restart, finding the change begun, reads the account and answers.
    reply = children.wait_for(
        lambda: children.replies_to(message_id),
        RECOVERY_CEILING - (time.monotonic() - restarted),
        "the restart to answer",
    )[0]
    assert "Disabled" in card_text(reply.content)
    assert len(emulator.calls_for("deactivate")) == 1
    reads = [c for c in emulator.calls_for("get_account_assets") if c.at > killed_at]
    assert reads and reads[0].at < reply.created_at, children.logs()
    assert emulator.account(account_id)["status"] == 2
    children.wait_for(lambda: children.event(event_id).get("status") == "done", 5, "done")
    assert len(children.replies_to(message_id)) == 1
    children.assert_clean()


def test_sigterm_finishes_the_work_in_hand_and_leaves_the_queue_to_the_next_start(
    children: Children, emulator: Emulator
):
    account_id = emulator.create_account("ou_hire")
    first = children.start()
    emulator.set_latency("message_reply", 2)
    in_hand = []
    for n in range(WORKERS):  # every worker busy replying ...
        event, _, message_id = children.message("/referral help", chat_id=f"oc_busy_{n}")
        assert first.push(event) == 200
        in_hand.append(message_id)
    children.wait_for(lambda: children.working() == WORKERS, 5, "every worker busy")
    # ... so this one waits in the queue.
    event, event_id, waiting = children.message(f"/referral disable {account_id}")
    assert first.push(event) == 200
    assert children.event(event_id)["status"] == "queued", children.logs()

    first.process.send_signal(signal.SIGTERM)
    began = time.monotonic()
    try:
        code = first.process.wait(8)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"no exit within 8 s of SIGTERM\n{children.logs()}") from None
    assert code == 0, children.logs()
    assert time.monotonic() - began < 8
    # The work in hand was finished and answered; the queued command was not begun.
    assert sorted(m.reply_to for m in emulator.messages) == sorted(in_hand), children.logs()
    assert children.event(event_id)["status"] == "queued"
    assert emulator.calls_for("deactivate") == []
    assert emulator.account(account_id)["status"] == 1

    emulator.set_latency("message_reply", 0)
    children.start()
    reply = children.wait_for(lambda: children.replies_to(waiting), 10, "the queued command")[0]
    assert "Disabled" in card_text(reply.content)
    assert len(emulator.calls_for("deactivate")) == 1
    assert emulator.account(account_id)["status"] == 2
    children.assert_clean()


def test_killed_while_the_withdraw_is_in_flight_the_restart_finishes_it_with_the_same_order(
    children: Children, emulator: Emulator
):
    account_id = emulator.create_account("ou_hire")
    emulator.add_bonus(account_id, points=800, cash={"CNY": "100"})
    first = children.start()
    event, _, message_id = children.message(f"/referral withdraw {account_id}")
    assert first.push(event) == 200
    (request,) = children.wait_for(lambda: children.replies_to(message_id), 10, "the request")
    emulator.set_latency("withdraw", 3)
    callback = emulator.card_action(
        {"action": "approve", "withdrawal": 1},
        open_id=APPROVER,
        message_id=request.message_id,
        token=VERIFICATION_TOKEN,
    )
    first.push(callback, "/webhook/card")  # answered "approved, paying out": the call takes 3 s
    children.wait_for(
        lambda: children._rows("SELECT state FROM withdrawals")[0]["state"] == "approved",
        5,
        "the approval to be recorded",
    )
    time.sleep(0.5)  # the withdraw request is now inside the emulator's 3 s
    first.kill()  # between the record and the answer
    emulator.set_latency("withdraw", 0)
    restarted = time.monotonic()
    children.start()

    children.wait_for(
        lambda: children._rows("SELECT state FROM withdrawals")[0]["state"] == "withdrawn",
        RECOVERY_CEILING - (time.monotonic() - restarted),
        "the restart to finish the withdrawal",
    )
    (made,) = emulator.withdrawals()  # one withdrawal ...
    calls = emulator.calls_for("withdraw")
    assert len(calls) == 2 and {c.body["external_order_id"] for c in calls} == {
        made["external_order_id"]
    }  # ... asked for twice, with the one order id
    assert made["points"] == 800 and emulator.account(account_id)["points"] == 0
    children.wait_for(
        lambda: "Withdrawal receipt" in card_text(emulator.latest_card(request.message_id)),
        10,
        "the receipt on the request card",
    )
    children.assert_clean()


def test_killed_while_the_import_is_in_flight_the_restart_imports_with_the_same_id(
    children: Children, emulator: Emulator
):
    account_id = emulator.create_account("ou_hire")
    application_id = emulator.add_referred_application("ou_hire", talent_name="李四")
    first = children.start()
    event = emulator.move_application(
        application_id, emulator.stage_id(4), token=VERIFICATION_TOKEN
    )
    assert first.push(event) == 200
    children.wait_for(
        lambda: children._rows("SELECT application_id FROM referrals"), 10, "the referral"
    )
    show, _, shown = children.message(f"/referral show {account_id}")
    assert first.push(show) == 200
    children.wait_for(lambda: children.replies_to(shown), 10, "the account card")
    ask, _, message_id = children.message(f"/referral reward {account_id} 500 points thanks")
    assert first.push(ask) == 200
    (request,) = children.wait_for(lambda: children.replies_to(message_id), 10, "the request")
    emulator.set_latency("external_reward_create", 3)
    callback = emulator.card_action(
        {"action": "reward_approve", "reward": 1},
        open_id=APPROVER,
        message_id=request.message_id,
        token=VERIFICATION_TOKEN,
    )
    first.push(callback, "/webhook/card")
    children.wait_for(
        lambda: children._rows("SELECT state FROM rewards")[0]["state"] == "approved",
        5,
        "the approval to be recorded",
    )
    time.sleep(0.5)  # the import is now inside the emulator's 3 s
    first.kill()  # between the record and the answer
    emulator.set_latency("external_reward_create", 0)
    restarted = time.monotonic()
    children.start()

    children.wait_for(
        lambda: children._rows("SELECT state FROM rewards")[0]["state"] == "rewarded",
        RECOVERY_CEILING - (time.monotonic() - restarted),
        "the restart to import the reward",
    )
    (row,) = children._rows("SELECT external_id FROM rewards")
    (reward,) = emulator.external_rewards()  # one reward ...
    calls = emulator.calls_for("external_reward_create")
    assert len(calls) == 2 and {c.body["external_id"] for c in calls} == {row["external_id"]}
    assert reward["external_id"] == row["external_id"] and reward["points"] == 500
    children.wait_for(
        lambda: "Reward receipt" in card_text(emulator.latest_card(request.message_id)),
        10,
        "the receipt on the request card",
    )
    children.assert_clean()
