"""`python -m bot.emulator --port 9100 --app-id cli_x --app-secret s`: serve until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading

from .emulator import Emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--app-id", default="cli_x")
    parser.add_argument("--app-secret", default="s3cret")
    parser.add_argument("--no-rate-limits", action="store_true", help="do not enforce limits")
    args = parser.parse_args(argv)

    emu = Emulator(
        args.app_id,
        args.app_secret,
        host=args.host,
        port=args.port,
        enforce_rate_limits=not args.no_rate_limits,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with emu:
        print(f"Feishu Open Platform emulator listening on {emu.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
