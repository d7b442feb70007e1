"""`referral-bot`: serve the bot, or try it in a sandbox."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from bot.config import ConfigError, load_settings

log = logging.getLogger("referral-bot")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="referral-bot",
        description="Feishu chat bot for Feishu Hire referral-bonus accounts.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the callback server and the digest schedule")
    serve.add_argument("--config", metavar="PATH", help="settings file (default ./app.yaml)")
    sandbox = commands.add_parser(
        "sandbox", help="run the bot against the built-in emulator with a local chat page"
    )
    sandbox.add_argument("--port", type=int, default=8765, help="port of the chat page")
    sandbox.add_argument("--no-browser", action="store_true", help="do not open a browser")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "serve":
        return _serve(args.config)
    if args.command == "sandbox":
        from bot.sandbox import run_sandbox

        return run_sandbox(port=args.port, open_browser=not args.no_browser)
    parser.print_help()
    return 0


def _serve(config_path: str | None) -> int:
    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        print(f"referral-bot: {exc}", file=sys.stderr)
        return 2
    from bot.app import ReferralBot

    try:
        bot = ReferralBot(settings)
        bot.start()
    except OSError as exc:  # port in use, database not writable
        print(f"referral-bot: cannot start: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("referral-bot serving on %s", bot.url)
    stop.wait()
    log.info("stopping: finishing in-flight work")
    bot.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
