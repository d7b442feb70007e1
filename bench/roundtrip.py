"""How close a command's and a button's round trip come to the floor the Open API's latency sets.

The emulator adds a fixed latency L to every Open API call (`set_latency("*", L)`); the bot and
the emulator run in this process, over real HTTP. For each L:
  - show: from the POST of a `/referral show <id>` message event to the reply reaching the
    emulator; it must make 2 calls (get_account_assets, then the reply), so its floor is 2 L;
  - disable: from the POST of a Disable button's callback to the callback's answer; it must make
    1 call (deactivate), floor L.
Prints p50 (and p90) over the runs beside the floor, the difference and the ratio.
Aim (issue 14): p50 within the floor plus 30 ms.

    .venv/bin/python bench/roundtrip.py [--runs 20] [--latencies 0,100,300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import ReferralBot  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.emulator import Employee, Emulator, Message  # noqa: E402
from bot.emulator import events as feishu  # noqa: E402
from handlers.buttons import ANSWER_FLIGHT  # noqa: E402

ENCRYPT_KEY = "bench-encrypt-key"
TOKEN = "bench-verification-token"
ADMIN = "ou_admin"
CHAT = "oc_bench"
SLACK = 0.030  # the aim: the floor plus this, at p50
OPEN_API = ("get_account_assets", "enable", "deactivate", "message_reply", "message_create")


def wait_for_reply(emulator: Emulator, message_id: str, timeout: float = 10) -> Message:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in emulator.messages:
            if message.reply_to == message_id:
                return message
        time.sleep(0.001)
    raise SystemExit(f"no reply to {message_id} within {timeout} s")


class Bench:
    def __init__(self, bot: ReferralBot, emulator: Emulator) -> None:
        self.bot = bot
        self.emulator = emulator
        self._people = 0

    def new_account(self) -> str:
        """An account of a new employee (an employee holds one account): no older cards of it
        for the bot to bring up to date after answering."""
        self._people += 1
        open_id = f"ou_bench{self._people}"
        self.emulator.add_employee(
            Employee(open_id=open_id, email=f"bench{self._people}@open.com", name_en="Bench")
        )
        return self.emulator.create_account(open_id)

    def show(self, account_id: str) -> tuple[float, int]:
        """Seconds from the event's POST to the reply reaching the emulator; Open API calls."""
        event = feishu.message_event(
            f"/referral show {account_id}",
            token=TOKEN,
            open_id=ADMIN,
            chat_id=CHAT,
            app_id=self.emulator.app_id,
        )
        message_id = event["event"]["message"]["message_id"]
        self.emulator.note_user_message(message_id, CHAT)
        started = time.time()
        result = feishu.deliver(self.bot.url + "/webhook/event", event, encrypt_key=ENCRYPT_KEY)
        assert result.status == 200, result
        reply = wait_for_reply(self.emulator, message_id)
        # The emulator logs a call once it has answered it, a moment after the reply is stored.
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline and not any(
            call.at >= started for call in self.emulator.calls_for("message_reply")
        ):
            time.sleep(0.001)
        return reply.created_at - started, self._calls_since(started)

    def disable(self, account_id: str, card: Message) -> tuple[float, int]:
        """Seconds from the callback's POST to its answer; Open API calls made meanwhile."""
        self.emulator.set_status(account_id, 1)  # enabled again, behind the bot's back
        callback = self.emulator.card_action(
            {"action": "disable", "account_id": account_id},
            open_id=ADMIN,
            message_id=card.message_id,
            token=TOKEN,
        )
        started = time.time()
        result = feishu.deliver(self.bot.url + "/webhook/card", callback, encrypt_key=ENCRYPT_KEY)
        answered = time.time()
        assert result.status == 200 and "card" in result.body, result
        return answered - started, self._calls_since(started, until=answered)

    def _calls_since(self, started: float, until: float | None = None) -> int:
        return sum(
            1
            for call in self.emulator.calls
            if call.operation in OPEN_API
            and call.at >= started
            and (until is None or call.at <= until)
        )


def settle(latency: float) -> None:
    """Let the last run's work after its answer (the other cards' refresh, queued for after
    the answer's flight time) finish before the next run starts."""
    time.sleep(ANSWER_FLIGHT + 2 * latency + 0.1)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--latencies", default="0,100,300", help="milliseconds, comma-separated")
    args = parser.parse_args()
    latencies = [int(x) / 1000 for x in args.latencies.split(",")]

    emulator = Emulator(app_id=f"cli_{uuid.uuid4().hex[:12]}", app_secret="bench-secret").start()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            app_id=emulator.app_id,
            app_secret=emulator.app_secret,
            encrypt_key=ENCRYPT_KEY,
            verification_token=TOKEN,
            domain=emulator.url,
            host="127.0.0.1",
            port=0,
            db_path=str(Path(tmp) / "bench.db"),
            admins=frozenset({ADMIN}),
            digest_cron="0 9 * * 1-5",
            digest_tz="Asia/Shanghai",
            digest_chats=(),
        )
        bot = ReferralBot(settings)
        bot.start(schedule=False)
        try:
            bench = Bench(bot, emulator)
            pressed = bench.new_account()
            for _ in range(3):  # warm up: the tenant token, connections, the records
                bench.show(bench.new_account())
            bench.show(pressed)
            card = next(m for m in reversed(emulator.messages) if pressed in str(m.content))
            for latency in latencies:
                emulator.set_latency("*", latency)
                for name, floor_calls, run in (
                    ("show (command)", 2, lambda: bench.show(bench.new_account())),
                    ("disable (button)", 1, lambda: bench.disable(pressed, card)),
                ):
                    times, calls = [], set()
                    for _ in range(args.runs):
                        elapsed, made = run()
                        times.append(elapsed)
                        calls.add(made)
                        settle(latency)
                    rows.append((latency, name, floor_calls, sorted(calls), times))
                emulator.set_latency("*", 0)
        finally:
            bot.stop()
            emulator.stop()

    print(f"{args.runs} runs each; times in ms; aim: p50 <= floor + {SLACK * 1000:.0f} ms")
    print(
        f"{'L':>5}  {'round trip':<17} {'calls':>5} {'floor':>6} {'p50':>7} {'p90':>7}"
        f" {'p50-floor':>9} {'ratio':>6}  aim"
    )
    ok = True
    for latency, name, floor_calls, calls, times in rows:
        floor = floor_calls * latency
        p50 = statistics.median(times)
        within = p50 <= floor + SLACK
        ok &= within
        ratio = f"{p50 / floor:.2f}x" if floor else "-"
        print(
            f"{latency * 1000:>5.0f}  {name:<17} {'/'.join(map(str, calls)):>5}"
            f" {floor * 1000:>6.0f} {p50 * 1000:>7.1f} {p(times, 0.9) * 1000:>7.1f}"
            f" {(p50 - floor) * 1000:>9.1f} {ratio:>6}  {'ok' if within else 'MISSED'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
