"""How fast the bot acknowledges Feishu's event pushes, beside a bare endpoint's ceiling.

Starts the Open Platform emulator, `referral-bot serve` and a bare Flask endpoint on the same
WSGI server that only verifies the push (the SDK's dispatcher) and answers 200, each in its own
process. Then, against each:
  - paced: encrypted, signed message events at a fixed rate for a fixed time; prints events
    acknowledged per second and p50/p99 acknowledgement latency;
  - peak: as fast as a pool of senders can go; prints acknowledged events per second.

    .venv/bin/python bench/ack.py [--rate 200] [--seconds 10] [--peak-seconds 5]
                                  [--transport webhook|long_connection]

With `--transport long_connection` the bot child runs with REFERRAL_BOT_TRANSPORT=long_connection
and dials an emulator that runs in this process (`ws_push` is an in-process call); the ceiling is
a bare long-connection client in its own process that decodes each push with the SDK's
dispatcher and acknowledges it, against a second emulator. Events go out with `ws_push` from 8
threads, each timed from the push to its decoded ack. The emulators share this process with the
senders, and the bot's replies (`/referral help`) are served here too, so its figures carry that
load; the ceiling's client makes no calls back.

Aims (issue 2): p99 under 20 ms at 200 events/s, and at least half the ceiling's peak rate.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bot.emulator import events as feishu  # noqa: E402

ENCRYPT_KEY = "bench-encrypt-key"
TOKEN = "bench-verification-token"
APP_ID = "cli_bench"
APP_SECRET = "bench-secret"
CEILING_APP_ID = "cli_bench_ceiling"
SENDERS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def ceiling_server(port: int) -> None:
    """The ceiling: verify with the SDK's dispatcher and answer 200, nothing else."""
    import lark_oapi as lark
    from flask import Flask, request

    from bot.server import HttpServer

    dispatcher = (
        lark.EventDispatcherHandler.builder(ENCRYPT_KEY, TOKEN)
        .register_p2_im_message_receive_v1(lambda data: None)
        .build()
    )
    app = Flask("ceiling")

    @app.post("/webhook/event")
    def event():
        raw = lark.RawRequest()
        raw.uri, raw.body, raw.headers = "/webhook/event", request.get_data(), dict(request.headers)
        response = dispatcher.do(raw)
        return response.content, response.status_code

    @app.get("/healthz")
    def healthz():
        return "{}"

    HttpServer(app, "127.0.0.1", port).serve_forever()


def ceiling_client(domain: str) -> None:
    """The long connection's ceiling: decode each push with the SDK's dispatcher (as the bot
    does) and acknowledge it; nothing is stored."""
    from bot.config import Settings
    from bot.feishu.long_connection import LongConnection
    from bot.feishu.pushes import PushHandlers
    from handlers.registry import loaded

    settings = Settings(
        app_id=CEILING_APP_ID,
        app_secret=APP_SECRET,
        encrypt_key="",
        verification_token="",
        domain=domain,
        host="127.0.0.1",
        port=0,
        db_path="",
        admins=frozenset(),
        digest_cron="0 9 * * 1-5",
        digest_tz="Asia/Shanghai",
        digest_chats=(),
        transport="long_connection",
    )
    pushes = PushHandlers(lambda event: True, lambda _: None, events=loaded().subscriptions())
    connection = LongConnection(settings, pushes.take)
    connection.start()
    threading.Event().wait()  # until terminated


@dataclass
class Result:
    sent: int
    acked: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.acked / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000 if ordered else 0.0


def make_bodies(n: int) -> list[tuple[bytes, dict]]:
    bodies = []
    for i in range(n):
        event = feishu.message_event(
            "/referral help", token=TOKEN, open_id="ou_admin", chat_id=f"oc_{i % 50}", app_id=APP_ID
        )
        body = feishu.encode(event, ENCRYPT_KEY)
        bodies.append((body, feishu.signed_headers(body, ENCRYPT_KEY)))
    return bodies


def run_load(
    url: str, bodies: list[tuple[bytes, dict]], rate: float | None, seconds: float, senders: int
) -> Result:
    """Send `bodies` at `rate` per second (None: as fast as possible) for `seconds`."""
    latencies: list[float] = []
    acked = [0]
    next_index = [0]
    lock = threading.Lock()
    start = time.monotonic() + 0.2
    stop_at = start + seconds

    host, port = url.split("//")[1].split("/")[0].split(":")
    path = "/" + url.split("//")[1].split("/", 1)[1]

    def sender() -> None:
        # http.client, not requests: the sender's own overhead is part of what gets measured.
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            due = start + i / rate if rate else time.monotonic()
            if due >= stop_at or i >= len(bodies):
                return
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            body, headers = bodies[i]
            began = time.monotonic()
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                connection.close()
                ok = False
            took = time.monotonic() - began
            with lock:
                latencies.append(took)
                acked[0] += ok

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = max(time.monotonic(), stop_at) - start if rate else time.monotonic() - start
    return Result(len(latencies), acked[0], elapsed, latencies)


def make_events(n: int, app_id: str) -> list[dict]:
    return [
        feishu.message_event(
            "/referral help", token=TOKEN, open_id="ou_admin", chat_id=f"oc_{i % 50}", app_id=app_id
        )
        for i in range(n)
    ]


def run_ws_load(
    push: Callable[[dict], dict],
    events: list[dict],
    rate: float | None,
    seconds: float,
    senders: int,
) -> Result:
    """Push `events` over the long connection at `rate` per second (None: as fast as possible)
    for `seconds`, from `senders` threads, each timed from the push to its ack."""
    latencies: list[float] = []
    acked = [0]
    next_index = [0]
    lock = threading.Lock()
    start = time.monotonic() + 0.2
    stop_at = start + seconds

    def sender() -> None:
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            due = start + i / rate if rate else time.monotonic()
            if due >= stop_at or i >= len(events):
                return
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.monotonic()
            try:
                ok = push(events[i]).get("code") == 200
            except (TimeoutError, RuntimeError):
                ok = False
            took = time.monotonic() - began
            with lock:
                latencies.append(took)
                acked[0] += ok

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = max(time.monotonic(), stop_at) - start if rate else time.monotonic() - start
    return Result(len(latencies), acked[0], elapsed, latencies)


def print_header(args: argparse.Namespace) -> None:
    print(
        f"paced: {args.rate:.0f} events/s for {args.seconds:.0f} s; "
        f"peak: {SENDERS} senders for {args.peak_seconds:.0f} s"
    )
    print(f"{'target':<15}{'acked/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'peak/s':>10}")


def print_row(name: str, paced: Result, peak: Result) -> None:
    print(
        f"{name:<15}{paced.rate:>10.1f}{paced.percentile(0.5):>10.2f}"
        f"{paced.percentile(0.99):>10.2f}{peak.rate:>10.1f}"
        + ("" if paced.acked == paced.sent else f"  ({paced.sent - paced.acked} not acked)")
        + ("" if peak.acked == peak.sent else f"  (peak: {peak.sent - peak.acked} not acked)")
    )


def wait_for(probe: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() >= deadline:
            raise SystemExit(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.05)


def main_long_connection(args: argparse.Namespace) -> None:
    from bot.emulator import Emulator

    workdir = tempfile.mkdtemp(prefix="ack-bench-")
    bot_port = free_port()
    bot_emu = Emulator(APP_ID, APP_SECRET, enforce_rate_limits=False).start()
    ceiling_emu = Emulator(CEILING_APP_ID, APP_SECRET, enforce_rate_limits=False).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LARK_", "REFERRAL_BOT_"))}
    env.update(
        PYTHONPATH=ROOT,
        LARK_APP_ID=APP_ID,
        LARK_APP_SECRET=APP_SECRET,
        LARK_DOMAIN=bot_emu.url,
        REFERRAL_BOT_TRANSPORT="long_connection",
        REFERRAL_BOT_HOST="127.0.0.1",
        REFERRAL_BOT_PORT=str(bot_port),
        REFERRAL_BOT_DB=os.path.join(workdir, "bot.db"),
        REFERRAL_BOT_ADMINS="ou_admin",
    )
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], cwd=workdir, env=env, **quiet),
        subprocess.Popen(
            [sys.executable, __file__, "--ceiling-client", ceiling_emu.url],
            cwd=workdir,
            env={**env, "LARK_APP_ID": CEILING_APP_ID},
            **quiet,
        ),
    ]
    try:
        targets = {"referral-bot": bot_emu, "bare client": ceiling_emu}
        wait_until_up(f"http://127.0.0.1:{bot_port}/healthz")
        for name, emu in targets.items():
            wait_for(lambda emu=emu: emu.ws_connections == 1, f"{name}'s long connection")
        print("transport: long connection (push -> ack, in-process emulators)")
        print_header(args)
        n_paced = int(args.rate * args.seconds) + 10
        peaks = {}
        for name, emu in targets.items():
            app_id = APP_ID if emu is bot_emu else CEILING_APP_ID
            push = emu.ws_push
            paced = run_ws_load(
                push, make_events(n_paced, app_id), args.rate, args.seconds, SENDERS
            )
            peak = run_ws_load(
                push,
                make_events(int(4000 * args.peak_seconds), app_id),
                None,
                args.peak_seconds,
                SENDERS,
            )
            peaks[name] = peak.rate
            print_row(name, paced, peak)
        print(f"peak rate ratio bot/ceiling: {peaks['referral-bot'] / peaks['bare client']:.2f}")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)
        bot_emu.stop()
        ceiling_emu.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--peak-seconds", type=float, default=5)
    parser.add_argument("--transport", choices=("webhook", "long_connection"), default="webhook")
    parser.add_argument("--ceiling-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ceiling-client", metavar="DOMAIN", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ceiling_server:
        ceiling_server(args.ceiling_server)
        return
    if args.ceiling_client:
        ceiling_client(args.ceiling_client)
        return
    if args.transport == "long_connection":
        main_long_connection(args)
        return

    workdir = tempfile.mkdtemp(prefix="ack-bench-")
    emu_port, bot_port, ceiling_port = free_port(), free_port(), free_port()
    python = sys.executable
    env = {
        **os.environ,
        "LARK_APP_ID": APP_ID,
        "LARK_APP_SECRET": APP_SECRET,
        "LARK_ENCRYPT_KEY": ENCRYPT_KEY,
        "LARK_VERIFICATION_TOKEN": TOKEN,
        "LARK_DOMAIN": f"http://127.0.0.1:{emu_port}",
        "REFERRAL_BOT_PORT": str(bot_port),
        "REFERRAL_BOT_DB": os.path.join(workdir, "bot.db"),
        "REFERRAL_BOT_ADMINS": "ou_admin",
    }
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen(
            [
                python,
                "-m",
                "bot.emulator",
                "--port",
                str(emu_port),
                "--app-id",
                APP_ID,
                "--app-secret",
                APP_SECRET,
                "--no-rate-limits",
            ],
            cwd=ROOT,
            **quiet,
        ),
        subprocess.Popen([python, "-m", "bot.cli", "serve"], cwd=workdir, env=env, **quiet),
        subprocess.Popen(
            [python, __file__, "--ceiling-server", str(ceiling_port)], cwd=ROOT, **quiet
        ),
    ]
    try:
        targets = {
            "referral-bot": f"http://127.0.0.1:{bot_port}",
            "bare endpoint": f"http://127.0.0.1:{ceiling_port}",
        }
        for url in targets.values():
            wait_until_up(url + "/healthz")
        wait_until_up(f"http://127.0.0.1:{emu_port}/open-apis/bot/v3/info")
        n_paced = int(args.rate * args.seconds) + 10
        print_header(args)
        peaks = {}
        for name, url in targets.items():
            paced = run_load(
                url + "/webhook/event", make_bodies(n_paced), args.rate, args.seconds, SENDERS
            )
            peak = run_load(
                url + "/webhook/event",
                make_bodies(int(4000 * args.peak_seconds)),
                None,
                args.peak_seconds,
                senders=SENDERS,
            )
            peaks[name] = peak.rate
            print_row(name, paced, peak)
        print(f"peak rate ratio bot/ceiling: {peaks['referral-bot'] / peaks['bare endpoint']:.2f}")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


if __name__ == "__main__":
    main()
