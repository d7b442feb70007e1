"""How soon acknowledged commands are answered after the bot is killed, or after Feishu was
down for a while, and that none is lost or carried out twice.

Runs the Open Platform emulator in this process and `referral-bot serve` as a child process,
and pushes encrypted, signed `/referral disable <id>` events to it as Feishu does: a push that
gets no 200 is delivered again (after 0.2 s here; Feishu waits longer). One account and one chat
per command.

  (a) kill: `--accounts` commands from 4 senders, as fast as the bot acknowledges them; once
      half are acknowledged the bot is SIGKILLed and started again at once on the same
      database and port. Prints the seconds from the restart to the answer of the last
      acknowledged command (ceiling 30 s: a dead process's claims are taken back 15 s after its
      last beat), and how many commands were acknowledged, answered, run twice (accounts
      Feishu deactivated more than once) and left unanswered.
  (b) outage: a fresh emulator and bot; Feishu refuses connections for `--outage` seconds while
      `--outage-commands` commands are pushed (the bot acknowledges them: the push goes to the
      bot, not to Feishu). Prints the seconds from Feishu's recovery to the last answer (ceiling
      60 s: retries back off to at most 30 s, and the first to get through wakes the rest), and
      how many were answered exactly once.

    .venv/bin/python bench/recovery.py [--accounts 100] [--outage 120] [--outage-commands 50]

Exits 1 when a must-be-0 figure is not 0: commands carried out twice (a deactivate Feishu
refused, say with 429, did nothing and does not count), unanswered, answered twice, answered
with anything but the disabled account, tracebacks in the bot's log.

Feishu allows 100 deactivate calls a minute (the bot and the emulator both keep to it), so past
100 accounts the kill figure measures that limit more than the recovery; the floor the limit
sets is printed then.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import closing
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.emulator import Emulator, Message  # noqa: E402
from bot.emulator import events as feishu  # noqa: E402

ENCRYPT_KEY = "bench-encrypt-key"
TOKEN = "bench-verification-token"
ADMIN = "ou_admin"
KILL_CEILING = 30.0
OUTAGE_CEILING = 60.0
DEACTIVATE_LIMIT = 100  # calls per minute, Feishu's documented limit
SENDERS = 4
REDELIVER_AFTER = 0.2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BotProcess:
    """`referral-bot serve` on one database and port, started (again) as a child process."""

    def __init__(self, emulator: Emulator, workdir: Path, name: str) -> None:
        self.workdir = workdir
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_path = workdir / f"{name}.db"
        self.logs: list[Path] = []
        self.process: subprocess.Popen | None = None
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("LARK_", "REFERRAL_BOT_"))
        }
        self.env.update(
            PYTHONPATH=str(ROOT),
            LARK_APP_ID=emulator.app_id,
            LARK_APP_SECRET=emulator.app_secret,
            LARK_ENCRYPT_KEY=ENCRYPT_KEY,
            LARK_VERIFICATION_TOKEN=TOKEN,
            LARK_DOMAIN=emulator.url,
            REFERRAL_BOT_HOST="127.0.0.1",
            REFERRAL_BOT_PORT=str(self.port),
            REFERRAL_BOT_DB=str(self.db_path),
            REFERRAL_BOT_ADMINS=ADMIN,
        )

    def start(self) -> None:
        log_path = self.workdir / f"{self.name}-{len(self.logs) + 1}.log"
        self.logs.append(log_path)
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_up(self, timeout: float = 60) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the bot exited with {self.process.returncode}; see {self.logs}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise SystemExit(f"the bot did not come up; see {self.logs[-1]}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def log_text(self) -> str:
        return "".join(path.read_text(errors="replace") for path in self.logs)

    def unsettled(self) -> int:
        """Commands still queued or being worked on, read-only from the bot's database."""
        uri = f"file:{self.db_path}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=5)) as conn:
            return conn.execute(
                "SELECT count(*) FROM events WHERE status IN ('queued', 'working')"
                " AND event_type NOT LIKE 'bot.%'"
            ).fetchone()[0]


class Senders:
    """Pushes events from a few threads, each until it gets a 200, as Feishu redelivers."""

    def __init__(self, url: str, events: list[dict], *, give_up_after: float = 120) -> None:
        self._host, self._port = "127.0.0.1", int(url.rsplit(":", 1)[1])
        self._events = events
        self._give_up_at = time.monotonic() + give_up_after
        self._lock = threading.Lock()
        self._next = 0
        self.acked: list[str] = []  # message ids, in the order acknowledged
        self.redelivered = 0
        self.half_acked = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(SENDERS)]

    def start(self) -> Senders:
        for thread in self._threads:
            thread.start()
        return self

    def join(self) -> None:
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        connection: http.client.HTTPConnection | None = None
        while True:
            with self._lock:
                if self._next >= len(self._events):
                    return
                event = self._events[self._next]
                self._next += 1
            attempt = 0
            while time.monotonic() < self._give_up_at:
                attempt += 1
                body = feishu.encode(event, ENCRYPT_KEY)
                try:
                    if connection is None:
                        connection = http.client.HTTPConnection(self._host, self._port, timeout=10)
                    connection.request(
                        "POST", "/webhook/event", body, feishu.signed_headers(body, ENCRYPT_KEY)
                    )
                    response = connection.getresponse()
                    response.read()
                    ok = response.status == 200
                except (OSError, http.client.HTTPException):
                    if connection is not None:
                        connection.close()
                    connection = None
                    ok = False
                if ok:
                    with self._lock:
                        self.acked.append(event["event"]["message"]["message_id"])
                        self.redelivered += attempt > 1
                        if len(self.acked) * 2 >= len(self._events):
                            self.half_acked.set()
                    break
                time.sleep(REDELIVER_AFTER)


def new_emulator(accounts: int) -> tuple[Emulator, list[str]]:
    emulator = Emulator(app_id=f"cli_{uuid.uuid4().hex[:12]}", app_secret="bench-secret").start()
    return emulator, [emulator.create_account(f"ou_bench{i}") for i in range(accounts)]


def disable_events(emulator: Emulator, account_ids: list[str]) -> list[dict]:
    events = []
    for n, account_id in enumerate(account_ids):
        chat_id = f"oc_bench{n}"
        event = feishu.message_event(
            f"/referral disable {account_id}",
            token=TOKEN,
            open_id=ADMIN,
            chat_id=chat_id,
            app_id=emulator.app_id,
        )
        emulator.note_user_message(event["event"]["message"]["message_id"], chat_id)
        events.append(event)
    return events


def wait_for_answers(
    emulator: Emulator, bot: BotProcess, message_ids: list[str], timeout: float
) -> dict[str, list[Message]]:
    """Until every message has an answer and the inbox is settled, or `timeout`; the answers
    per message."""
    wanted = set(message_ids)
    deadline = time.monotonic() + timeout
    while True:
        answers: dict[str, list[Message]] = {}
        for message in emulator.messages:
            if message.reply_to in wanted:
                answers.setdefault(message.reply_to, []).append(message)
        if len(answers) == len(wanted) and bot.unsettled() == 0:
            return answers
        if time.monotonic() >= deadline:
            return answers
        time.sleep(0.1)


def first_answer(answers: dict[str, list[Message]], since: float) -> float:
    """Seconds from `since` to the last command's (first) answer."""
    return max((min(m.created_at for m in got) for got in answers.values()), default=since) - since


def wrong(emulator: Emulator, events: list[dict], answers: dict[str, list[Message]]) -> int:
    """Answered commands whose answer is not the disabled account, or whose account Feishu does
    not hold disabled."""
    count = 0
    for event in events:
        got = answers.get(event["event"]["message"]["message_id"])
        if not got:
            continue
        account_id = json.loads(event["event"]["message"]["content"])["text"].split()[-1]
        said = all("Account disabled" in json.dumps(m.content) for m in got)
        count += not said or emulator.account(account_id)["status"] != 2
    return count


def run_twice(emulator: Emulator) -> int:
    """Accounts Feishu deactivated more than once (calls it refused, e.g. 429, did nothing)."""
    done = [call for call in emulator.calls_for("deactivate") if call.status == 200]
    per_account = Counter(call.path.split("/")[-2] for call in done)
    return sum(1 for n in per_account.values() if n > 1)


def refused(emulator: Emulator) -> int:
    """Deactivate calls Feishu refused (rate limit, outage 5xx): the bot sent them again."""
    return sum(1 for call in emulator.calls_for("deactivate") if call.status != 200)


def report(rows: list[tuple[str, object]]) -> None:
    for label, value in rows:
        print(f"  {label:<36}{value}")


def kill_under_load(workdir: Path, accounts: int) -> bool:
    emulator, account_ids = new_emulator(accounts)
    bot = BotProcess(emulator, workdir, "kill")
    try:
        bot.start()
        bot.wait_up()
        events = disable_events(emulator, account_ids)
        senders = Senders(bot.url, events).start()
        senders.half_acked.wait(60)
        bot.kill()
        acked_before_kill = len(senders.acked)
        restarted = time.time()
        bot.start()
        senders.join()
        acked = list(senders.acked)
        floor = 60.0 * ((accounts - 1) // DEACTIVATE_LIMIT)
        answers = wait_for_answers(emulator, bot, acked, timeout=3 * KILL_CEILING + floor)
        last = first_answer(answers, restarted)
        refused_calls = refused(emulator)
        taken_back = sum(
            int(line.split("took back ")[1].split()[0])
            for line in bot.log_text().splitlines()
            if "took back " in line
        )
        figures = {
            "ran twice": run_twice(emulator),
            "unanswered": len(set(acked) - set(answers)),
            "answered twice": sum(1 for got in answers.values() if len(got) > 1),
            "answered wrongly (not disabled)": wrong(emulator, events, answers),
            "tracebacks in the bot's log": bot.log_text().count("Traceback"),
        }
    finally:
        bot.kill()
        emulator.stop()
    print(f"(a) SIGKILL under load: {accounts} disable commands, {SENDERS} senders")
    rows: list[tuple[str, object]] = [
        ("acknowledged before the kill", acked_before_kill),
        ("acknowledged in all", f"{len(acked)} ({senders.redelivered} after redelivery)"),
        ("answered", len(answers)),
        ("claims taken back from the dead", taken_back),
        ("deactivate calls refused by Feishu", refused_calls),
        ("last answer after the restart", f"{last:.1f} s"),
        ("ratio to the 30 s ceiling", f"{last / KILL_CEILING:.2f}x"),
    ]
    if floor:
        rows.append(
            (f"floor at {DEACTIVATE_LIMIT} deactivates/min", f"{floor:.0f} s after the first")
        )
    report(rows + [(label, f"{n} (must be 0)") for label, n in figures.items()])
    return not any(figures.values())


def outage(workdir: Path, seconds: float, commands: int) -> bool:
    emulator, account_ids = new_emulator(commands)
    bot = BotProcess(emulator, workdir, "outage")
    try:
        bot.start()
        bot.wait_up()
        emulator.outage(seconds, "refuse")
        began = time.monotonic()
        events = disable_events(emulator, account_ids)
        senders = Senders(bot.url, events, give_up_after=10)
        senders.start().join()
        acked = list(senders.acked)
        while emulator.in_outage and time.monotonic() - began < seconds + 10:
            time.sleep(0.05)
        recovered = time.time()
        early = sum(1 for m in emulator.messages if m.created_at < recovered)
        answers = wait_for_answers(emulator, bot, acked, timeout=3 * OUTAGE_CEILING)
        last = first_answer(answers, recovered)
        figures = {
            "ran twice": run_twice(emulator),
            "unanswered": len(set(acked) - set(answers)),
            "answered twice": sum(1 for got in answers.values() if len(got) > 1),
            "answered wrongly (not disabled)": wrong(emulator, events, answers),
            "not acknowledged": commands - len(acked),
            "tracebacks in the bot's log": bot.log_text().count("Traceback"),
        }
    finally:
        bot.kill()
        emulator.stop()
    once = sum(1 for got in answers.values() if len(got) == 1)
    print(f"(b) Feishu refusing connections for {seconds:.0f} s: {commands} disable commands")
    report(
        [
            ("acknowledged during the outage", len(acked)),
            ("answered during the outage", early),
            ("answered exactly once", f"{once} of {len(acked)}"),
            ("last answer after the recovery", f"{last:.1f} s"),
            ("ratio to the 60 s ceiling", f"{last / OUTAGE_CEILING:.2f}x"),
        ]
        + [(label, f"{n} (must be 0)") for label, n in figures.items()]
    )
    return not any(figures.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100, help="commands in the kill run")
    parser.add_argument("--outage", type=float, default=120, help="seconds Feishu is down")
    parser.add_argument("--outage-commands", type=int, default=50)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="recovery-bench-"))
    ok = kill_under_load(workdir, args.accounts)
    print()
    ok = outage(workdir, args.outage, args.outage_commands) and ok
    print(f"\nlogs in {workdir}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
