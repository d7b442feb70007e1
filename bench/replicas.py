"""The records on PostgreSQL with one and two replicas, beside one process on SQLite: the same
load, and the take-over when a replica is killed.

Runs the Open Platform emulator in this process and `referral-bot serve` as child processes,
and pushes encrypted, signed `/referral help` events as Feishu does (a push without a 200 is
delivered again after 0.2 s), one chat per command, from `--concurrency` senders; with two
replicas the senders take turns between them. Help makes one Open API call (its reply), so the
figures are the bot's and its records' (a command that changes an account would measure
Feishu's 100-a-minute limit, which the bot keeps to, whatever the engine).

  load: `--commands` commands to (a) 1 process on SQLite, (b) 1 on PostgreSQL, (c) 2 on
        PostgreSQL. Prints acknowledgement p50/p99, commands answered per second (first push to
        last answer), and commands acted on twice (a reply sent more than once; must be 0), each
        as a ratio to (a).
  kill: (c) again; once half the commands are acknowledged one replica is SIGKILLed (its
        senders deliver again to the other). Prints the seconds from the kill to the answer of
        the last command the killed replica had acknowledged (the others take its claims back
        once it has missed its beats: 15 s; ceiling 30 s).

    .venv/bin/python bench/replicas.py [--commands 500] [--concurrency 16] [--pg URL]

Without `--pg` a throw-away PostgreSQL server is started (tests/with_postgres.py). Exits 1 when
a must-be-0 figure is not 0 or a command went unanswered.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.emulator import Emulator  # noqa: E402
from bot.emulator import events as feishu  # noqa: E402
from bot.records.engines import is_postgres, url_of  # noqa: E402
from tests.with_postgres import server  # noqa: E402

ENCRYPT_KEY = "bench-encrypt-key"
TOKEN = "bench-verification-token"
ADMIN = "ou_admin"
REDELIVER_AFTER = 0.2
KILL_CEILING = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_database(server_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url_of(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


class Replica:
    """One `referral-bot serve` child on the shared records."""

    def __init__(self, emulator: Emulator, target: str, workdir: Path, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LARK_", "REFERRAL_BOT_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            LARK_APP_ID=emulator.app_id,
            LARK_APP_SECRET=emulator.app_secret,
            LARK_ENCRYPT_KEY=ENCRYPT_KEY,
            LARK_VERIFICATION_TOKEN=TOKEN,
            LARK_DOMAIN=emulator.url,
            REFERRAL_BOT_HOST="127.0.0.1",
            REFERRAL_BOT_PORT=str(self.port),
            REFERRAL_BOT_DB=target,
            REFERRAL_BOT_ADMINS=ADMIN,
        )
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"],
                cwd=workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"a replica exited with {self.process.returncode}; see {self.log}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise SystemExit(f"a replica did not come up; see {self.log}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback")


@dataclass
class Load:
    """Pushes every event until some replica acknowledges it, as Feishu redelivers."""

    replicas: list[Replica]
    events: list[dict]
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    acked_by: dict[str, int] = field(default_factory=dict)  # message id -> replica index
    half: threading.Event = field(default_factory=threading.Event)
    dead: set[int] = field(default_factory=set)

    def run(self) -> float:
        """Send everything; the moment the first push went out."""
        lock = threading.Lock()
        queue = list(enumerate(self.events))
        began = time.time()

        def sender(n: int) -> None:
            connections: dict[int, http.client.HTTPConnection] = {}
            while True:
                with lock:
                    if not queue:
                        return
                    i, event = queue.pop(0)
                turn = (n + i) % len(self.replicas)
                while True:
                    if turn in self.dead:
                        turn = (turn + 1) % len(self.replicas)
                    replica = self.replicas[turn]
                    body = feishu.encode(event, ENCRYPT_KEY)
                    start = time.monotonic()
                    try:
                        conn = connections.get(turn) or http.client.HTTPConnection(
                            "127.0.0.1", replica.port, timeout=10
                        )
                        connections[turn] = conn
                        conn.request(
                            "POST", "/webhook/event", body, feishu.signed_headers(body, ENCRYPT_KEY)
                        )
                        response = conn.getresponse()
                        response.read()
                        ok = response.status == 200
                    except (OSError, http.client.HTTPException):
                        connections.pop(turn, None)
                        ok = False
                    if ok:
                        with lock:
                            self.latencies.append(time.monotonic() - start)
                            self.acked_by[event["event"]["message"]["message_id"]] = turn
                            if len(self.acked_by) * 2 >= len(self.events):
                                self.half.set()
                        break
                    time.sleep(REDELIVER_AFTER)
                    turn += 1  # Feishu's next delivery may land on the other replica

        threads = [threading.Thread(target=sender, args=(n,)) for n in range(self.concurrency)]
        for thread in threads:
            thread.start()
        self._threads = threads
        return began

    def join(self) -> None:
        for thread in self._threads:
            thread.join()


def setup(commands: int) -> tuple[Emulator, list[dict]]:
    emulator = Emulator(app_id=f"cli_{uuid.uuid4().hex[:12]}", app_secret="bench-secret").start()
    events = []
    for n in range(commands):
        chat_id = f"oc_bench{n}"
        event = feishu.message_event(
            "/referral help",
            token=TOKEN,
            open_id=ADMIN,
            chat_id=chat_id,
            app_id=emulator.app_id,
        )
        emulator.note_user_message(event["event"]["message"]["message_id"], chat_id)
        events.append(event)
    return emulator, events


def answered(emulator: Emulator, wanted: set[str]) -> dict[str, float]:
    """When each wanted message got its first answer."""
    first: dict[str, float] = {}
    for message in emulator.messages:
        if message.reply_to in wanted:
            first[message.reply_to] = min(first.get(message.reply_to, 1e18), message.created_at)
    return first


def wait_answered(emulator: Emulator, wanted: set[str], timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        got = answered(emulator, wanted)
        if len(got) == len(wanted) or time.monotonic() >= deadline:
            return got
        time.sleep(0.05)


def acted_twice(emulator: Emulator, *, visible: bool = False) -> int:
    """Commands answered more than once: replies sent (under load, where nothing fails, a second
    send is a second run), or with `visible` replies Feishu shows (a killed replica's reply in
    flight is sent again by the other under the same uuid, which Feishu keeps once)."""
    if visible:
        shown = Counter(m.reply_to for m in emulator.messages if m.reply_to)
        return sum(1 for n in shown.values() if n > 1)
    sent = [call for call in emulator.calls_for("message_reply") if call.status == 200]
    return sum(1 for n in Counter(call.path.split("/")[-2] for call in sent).values() if n > 1)


@dataclass
class Figures:
    name: str
    p50: float
    p99: float
    per_second: float
    twice: int
    unanswered: int
    tracebacks: int


def measure(name: str, targets: list[str], workdir: Path, commands: int, concurrency: int):
    emulator, events = setup(commands)
    replicas: list[Replica] = []
    try:
        for n, target in enumerate(targets):
            replicas.append(Replica(emulator, target, workdir, f"{name}-{n}"))
        for replica in replicas:
            replica.wait_up()
        load = Load(replicas, events, concurrency)
        began = load.run()
        load.join()
        wanted = set(load.acked_by)
        got = wait_answered(emulator, wanted, 120)
        ordered = sorted(load.latencies)
        figures = Figures(
            name,
            p50=statistics.median(ordered) * 1000,
            p99=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
            per_second=len(got) / (max(got.values()) - began) if got else 0.0,
            twice=acted_twice(emulator),
            unanswered=len(wanted - set(got)) + (len(events) - len(wanted)),
            tracebacks=sum(r.tracebacks() for r in replicas),
        )
    finally:
        for replica in replicas:
            replica.stop()
        emulator.stop()
    return figures


def kill_one(target: str, workdir: Path, commands: int, concurrency: int) -> tuple[float, int, int]:
    """Seconds from the SIGKILL to the last answer of what the killed replica acknowledged,
    commands acted on twice, and commands left unanswered."""
    emulator, events = setup(commands)
    replicas: list[Replica] = []
    try:
        replicas = [Replica(emulator, target, workdir, f"kill-{n}") for n in range(2)]
        for replica in replicas:
            replica.wait_up()
        load = Load(replicas, events, concurrency)
        load.run()
        load.half.wait(120)
        load.dead.add(0)
        replicas[0].kill()
        killed = time.time()
        its = {m for m, r in dict(load.acked_by).items() if r == 0}
        load.join()
        got = wait_answered(emulator, set(load.acked_by), 3 * KILL_CEILING)
        last = max((got[m] for m in its if m in got), default=killed) - killed
        unanswered = len(set(load.acked_by) - set(got)) + len(events) - len(load.acked_by)
        return last, acted_twice(emulator, visible=True), unanswered
    finally:
        for replica in replicas:
            replica.stop()
        emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pg", metavar="URL", help="a PostgreSQL server (default: start one)")
    args = parser.parse_args()
    with ExitStack() as stack:
        server_url = args.pg or stack.enter_context(server())
        assert is_postgres(server_url)
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        runs = [
            ("1 process, SQLite", [str(workdir / "bench.db")]),
            ("1 process, PostgreSQL", [new_database(server_url)]),
        ]
        shared = new_database(server_url)
        runs.append(("2 replicas, PostgreSQL", [shared, shared]))
        results = [
            measure(name, targets, workdir, args.commands, args.concurrency)
            for name, targets in runs
        ]
        base = results[0]
        print(f"load: {args.commands} help commands, {args.concurrency} senders")
        print(
            f"  {'':<24}{'ack p50':>14}{'ack p99':>14}{'answered/s':>16}"
            f"{'acted twice':>13}{'unanswered':>12}"
        )
        for r in results:
            print(
                f"  {r.name:<24}{r.p50:>6.1f} ms {r.p50 / base.p50:>4.2f}x"
                f"{r.p99:>6.1f} ms {r.p99 / base.p99:>4.2f}x"
                f"{r.per_second:>8.1f} {r.per_second / base.per_second:>5.2f}x"
                f"{r.twice:>13}{r.unanswered:>12}"
            )
        last, twice, lost = kill_one(new_database(server_url), workdir, args.commands, 16)
        print("kill: 2 replicas on PostgreSQL, one SIGKILLed once half the commands were acked")
        print(
            f"  last of its commands answered {last:.1f} s after the kill"
            f" ({last / KILL_CEILING:.2f}x the 30 s ceiling); acted on twice {twice};"
            f" unanswered {lost}"
        )
    bad = any(r.twice or r.unanswered or r.tracebacks for r in results) or twice or lost
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
