"""`referral-bot`: serve the bot, try it in a sandbox, import existing accounts, export, back up
or forget records."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings
from bot.records.database import ERRORS as DB_ERRORS

if TYPE_CHECKING:  # the records load only for the commands that use them
    from bot.records.store import Database

log = logging.getLogger("referral-bot")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="referral-bot",
        description="Feishu chat bot for Feishu Hire referral-bonus accounts.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    # Required: no command is a bad invocation (exit 2 with the usage), as argparse does.
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser("serve", help="run the callback server and the digest schedule")
    serve.add_argument("--config", metavar="PATH", help="settings file (default ./app.yaml)")
    sandbox = commands.add_parser(
        "sandbox", help="run the bot against the built-in emulator with a local chat page"
    )
    sandbox.add_argument("--port", type=int, default=8765, help="port of the chat page")
    sandbox.add_argument("--no-browser", action="store_true", help="do not open a browser")
    sandbox.add_argument(
        "--long-connection",
        action="store_true",
        help="the bot takes pushes over the long connection (WebSocket) instead of webhooks",
    )
    importer = commands.add_parser(
        "import",
        help="remember accounts that already exist in Feishu Hire",
        description="Fetch each referral account ID in FILE from Feishu Hire (10 a second, "
        "its limit) and remember it in the bot's records. Prints how many were imported, then "
        "the IDs Feishu does not know, those that could not be fetched and the cells that are "
        "not account IDs. Running it again only refreshes the balances.",
        epilog="exit status: 0 all imported, 1 some not, 2 bad invocation (file, settings)",
    )
    importer.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        help="account IDs, one a line, or a CSV whose first column holds them "
        "(a header row is skipped)",
    )
    importer.add_argument(
        "--referrals",
        nargs=2,
        metavar=("FROM", "TO"),
        help="instead: the referrals among the applications updated from FROM to TO "
        "(YYYY-MM-DD, both days included, in the configured zone), with their current stage",
    )
    importer.add_argument("--config", metavar="PATH", help="settings file (default ./app.yaml)")
    doctor = commands.add_parser(
        "doctor",
        help="check the settings and the app's set-up in Feishu",
        description="Check the settings, the database (opened as serve opens it), the "
        "credentials, the bot, each permission the bot uses, the digest and notice chats, the "
        "admins and the way Feishu reaches the bot. One line per check: ok, warn (not failing) "
        "or FAIL with what to fix. Nothing is created, changed or posted in Feishu.",
        epilog="exit status: 0 all pass, 1 some fail, 2 settings missing or unreadable",
    )
    doctor.add_argument("--config", metavar="PATH", help="settings file (default ./app.yaml)")
    export = commands.add_parser(
        "export",
        help="write the bot's records as CSV or an Excel workbook",
        description="Write the known accounts, the withdrawals or the audit trail to FILE, or "
        "to standard output: as CSV (UTF-8 with a BOM; times in the configured zone; money as "
        "plain decimals with a currency column), for programs, or as an Excel workbook (IDs "
        "as text, money as numbers, times as dates), for people opening it in Excel or WPS.",
        epilog="exit status: 0 written, 2 bad invocation (settings, database, file)",
    )
    export.add_argument(
        "what", choices=("accounts", "withdrawals", "audit", "rewards", "referrals")
    )
    export.add_argument("--out", metavar="FILE", help="write here (default standard output)")
    export.add_argument(
        "--format", choices=("csv", "xlsx"), default="csv", help="file format (default csv)"
    )
    export.add_argument("--config", metavar="PATH", help="settings file (default ./app.yaml)")
    _add_db(commands)
    _add_forget(commands)
    args = parser.parse_args(argv)
    if args.command == "db":
        return _db(args)
    if args.command == "forget":
        return _forget(" ".join(args.who), args.config)
    if args.command == "export":  # the file may be the output: no log lines among it
        return _export(args.what, args.out, args.format, args.config)
    if args.command == "import":  # logs only warnings, printed above its progress bar
        if args.referrals:
            return _import_referrals(*args.referrals, args.config)
        if not args.file:
            parser.error("import needs FILE, or --referrals FROM TO")
        return _import(args.file, args.config)
    if args.command == "doctor":  # its report is the output; no log lines among it
        return _doctor(args.config)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "serve":
        return _serve(args.config)
    if args.command == "sandbox":
        from bot.sandbox import run_sandbox

        return run_sandbox(
            port=args.port, open_browser=not args.no_browser, long_connection=args.long_connection
        )
    parser.error(f"unknown command {args.command!r}")  # exits 2; argparse knows them all
    return 2


def version() -> str:
    """The installed package's version (what `pip install` recorded)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("referral-bot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _settings(config_path: str | None) -> Settings | None:
    """The settings, or None after one line on stderr saying what is wrong (exit code 2)."""
    try:
        return load_settings(config_path)
    except ConfigError as exc:
        print(f"referral-bot: {exc}", file=sys.stderr)
        return None


def _records(settings: Settings) -> Database | None:
    """The records as `serve` opens them; None, after one line naming the path and the cause,
    when they cannot be opened or written."""
    from bot.records.store import DatabaseUnavailable, open_database

    try:
        return open_database(settings.db_path)
    except DatabaseUnavailable as exc:
        print(f"referral-bot: {exc}", file=sys.stderr)
        return None


def _serve(config_path: str | None) -> int:
    settings = _settings(config_path)
    if settings is None:
        return 2
    logging.getLogger().setLevel(settings.log_level)
    from bot.app import ReferralBot
    from bot.records.store import DatabaseUnavailable

    try:
        bot = ReferralBot(settings)
        bot.start()
    except DatabaseUnavailable as exc:  # names the path and the cause
        print(f"referral-bot: {exc}", file=sys.stderr)
        return 2
    except (OSError, *DB_ERRORS) as exc:  # port in use, a database that fails at start
        print(f"referral-bot: cannot start: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("referral-bot serving on %s", bot.url)
    # Wait in short steps: a signal the kernel hands to another thread does not interrupt the
    # main thread's wait, and Python runs its handler only when the main thread wakes.
    while not stop.wait(0.5):
        pass
    log.info("stopping: finishing in-flight work")
    bot.stop()
    return 0


def _doctor(config_path: str | None) -> int:
    settings = _settings(config_path)
    if settings is None:
        return 2
    # Imported only now: the SDK takes seconds to load, and a bad invocation should not wait.
    from bot.ops.doctor import line, run_doctor

    checks = run_doctor(settings, on_check=lambda check: print(line(check), flush=True))
    return 0 if all(check.ok for check in checks) else 1


def _export(what: str, out: str | None, file_format: str, config_path: str | None) -> int:
    if out is None and file_format == "xlsx" and sys.stdout.isatty():
        print(
            "referral-bot: a workbook is binary: give --out FILE or redirect standard output",
            file=sys.stderr,
        )
        return 2
    settings = _settings(config_path)
    if settings is None:
        return 2
    from bot.ops.exports import write

    database = _records(settings)
    if database is None:
        return 2
    try:
        if out is None:
            write(what, database, settings.digest_tz, sys.stdout.buffer, format=file_format)
            sys.stdout.buffer.flush()
        else:
            with open(out, "wb") as stream:
                write(what, database, settings.digest_tz, stream, format=file_format)
    except OSError as exc:
        print(f"referral-bot: cannot write {out or 'standard output'}: {exc}", file=sys.stderr)
        return 2
    except DB_ERRORS as exc:
        print(f"referral-bot: cannot read {settings.db_path}: {exc}", file=sys.stderr)
        return 2
    finally:
        database.close()
    return 0


def _import(path: str, config_path: str | None) -> int:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        print(f"referral-bot: {path} does not exist", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        print(f"referral-bot: {path} is not UTF-8 text", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"referral-bot: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    settings = _settings(config_path)
    if settings is None:
        return 2
    # Imported only now: the SDK takes seconds to load, and a bad invocation should not wait.
    from bot.app import account_records
    from bot.feishu.openapi import OpenApi
    from bot.feishu.referral import ReferralGateway
    from bot.ops.importer import import_accounts, read_account_ids
    from bot.records.inbox import Inbox

    cells = read_account_ids(text)
    if not cells:
        print(f"referral-bot: no account IDs in {path}", file=sys.stderr)
        return 2
    database = _records(settings)
    if database is None:
        return 2
    gateway = ReferralGateway(OpenApi.of(settings))
    # A balance that moved since it was last told is queued for the serving bot to tell.
    accounts, _ = account_records(database, settings, Inbox(database))
    try:
        with _progress(len(cells)) as advance:
            result = import_accounts(cells, gateway, accounts, on_done=advance)
    except KeyboardInterrupt:
        print(
            "referral-bot: interrupted; the accounts fetched so far are remembered, "
            "run it again to import the rest",
            file=sys.stderr,
        )
        return 130
    finally:
        database.close()
    print(result.summary())
    return 0 if result.complete else 1


def _import_referrals(first: str, last: str, config_path: str | None) -> int:
    from datetime import date

    try:
        start, end = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        print("referral-bot: write the days as YYYY-MM-DD", file=sys.stderr)
        return 2
    if start > end:
        print("referral-bot: the first day comes after the last", file=sys.stderr)
        return 2
    settings = _settings(config_path)
    if settings is None:
        return 2
    from bot.feishu.hire import HireGateway
    from bot.feishu.openapi import OpenApi, OpenApiError
    from bot.ops.referral_import import import_referrals, list_applications, window
    from bot.records.referrals import ReferralBook

    database = _records(settings)
    if database is None:
        return 2
    hire = HireGateway(OpenApi.of(settings))
    try:
        ids = list_applications(hire, *window(start, end, settings.digest_tz))
        with _progress(len(ids)) as advance:
            result = import_referrals(ids, hire, ReferralBook(database), on_done=advance)
    except OpenApiError as exc:
        print(f"referral-bot: cannot list the applications: {exc.msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "referral-bot: interrupted; the referrals read so far are remembered, "
            "run it again for the rest",
            file=sys.stderr,
        )
        return 130
    finally:
        database.close()
    print(result.summary())
    return 0 if result.complete else 1


def _add_db(commands: argparse._SubParsersAction) -> None:
    db = commands.add_parser(
        "db", help="work on the records' database: back it up, upgrade it, copy it"
    )
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    backup = actions.add_parser(
        "backup",
        help="a consistent copy of the SQLite records, while the bot runs",
        description="Copy the SQLite database (REFERRAL_BOT_DB) to FILE with SQLite's online "
        "backup: the bot keeps running, and the copy holds every change committed before it "
        "began, including those still in the -wal file. The copy is one file (no -wal beside "
        "it), checked before it replaces FILE, readable by its owner only. For PostgreSQL use "
        "pg_dump.",
        epilog="exit status: 0 copied, 2 bad invocation (settings, database, FILE)",
    )
    backup.add_argument("file", metavar="FILE", help="where the copy goes (replaced if there)")
    backup.add_argument("--config", metavar="PATH", help="settings file (default ./app.yaml)")
    upgrade = actions.add_parser(
        "upgrade",
        help="bring the database's schema up to date (serve does it at every start)",
        description="Bring the database named by REFERRAL_BOT_DB (a SQLite file or a PostgreSQL "
        "URL) to the schema this version uses. `serve` does the same at every start, under a "
        "lock, so one replica migrates while the others wait; a database written by a newer "
        "version is left alone, and this says so.",
        epilog="exit status: 0 up to date, 2 bad invocation or a database that cannot be opened",
    )
    upgrade.add_argument("--config", metavar="PATH", help="settings file (default ./app.yaml)")
    copy = actions.add_parser(
        "copy",
        help="copy every record into an empty PostgreSQL database",
        description="Copy every table from the SQLite file (REFERRAL_BOT_DB, or --from PATH) "
        "into the empty database --to names, in batches with a progress bar, then compare the "
        "counts of every table. A target that already holds records is refused. Stop the bot "
        "first; afterwards point REFERRAL_BOT_DB at the target.",
        epilog="exit status: 0 copied and every count matches, 1 the counts differ, "
        "2 bad invocation or refused",
    )
    copy.add_argument("--to", required=True, metavar="URL", help="postgresql://user@host/db")
    copy.add_argument("--from", dest="source", metavar="PATH", help="the SQLite file to copy")
    copy.add_argument("--config", metavar="PATH", help="settings file (default ./app.yaml)")


def _db(args: argparse.Namespace) -> int:
    if args.db_command == "copy" and args.source:
        return _db_copy(args.source, args.to)
    settings = _settings(args.config)
    if settings is None:
        return 2
    if args.db_command == "upgrade":
        return _db_upgrade(settings.db_path)
    if args.db_command == "copy":
        return _db_copy(settings.db_path, args.to)
    from bot.ops.backup import BackupError, backup, is_postgres

    if is_postgres(settings.db_path):
        print(
            "referral-bot: the records are in PostgreSQL: back them up with pg_dump"
            " (pg_dump --format=custom --file=FILE <database URL>)",
            file=sys.stderr,
        )
        return 2
    try:
        print(backup(settings.db_path, args.file).summary())
    except BackupError as exc:
        print(f"referral-bot: {exc}", file=sys.stderr)
        return 2
    return 0


def _db_upgrade(target: str) -> int:
    from bot.records import engines
    from bot.records.database import Database, DatabaseUnavailable
    from bot.records.migrations import head, migrate

    try:
        database = Database(target, migrate=False)
        try:
            before = migrate(database)
        finally:
            database.close()
    except DatabaseUnavailable as exc:
        print(f"referral-bot: {exc}", file=sys.stderr)
        return 2
    except DB_ERRORS as exc:
        print(f"referral-bot: cannot upgrade {engines.shown(target)}: {exc}", file=sys.stderr)
        return 2
    print(f"{engines.shown(target)}: schema {head()} (up to date; it was at {before})")
    return 0


def _db_copy(source_path: str, target: str) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from bot.records import engines
    from bot.records.copy import CopyRefused, copy, refuse_unless_empty
    from bot.records.database import Database, DatabaseUnavailable

    if engines.is_postgres(source_path):
        print("referral-bot: --from names a SQLite file (the records to copy)", file=sys.stderr)
        return 2
    if not Path(source_path).is_file():
        print(f"referral-bot: {source_path} does not exist", file=sys.stderr)
        return 2
    opened: list[Database] = []
    try:
        for where in (source_path, target):
            opened.append(Database(where))
    except (DatabaseUnavailable, *DB_ERRORS) as exc:
        for database in opened:
            database.close()
        print(f"referral-bot: cannot open {engines.shown(where)}: {exc}", file=sys.stderr)
        return 2
    source, destination = opened
    columns = (TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn())
    try:
        refuse_unless_empty(source, destination)
        with Progress(*columns, transient=False) as bar:
            tasks: dict[str, int] = {}

            def progress(table: str, done: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = bar.add_task(table, total=total or 1)
                bar.update(tasks[table], completed=done if total else 1)

            copied = copy(source, destination, progress=progress)
    except CopyRefused as exc:
        print(f"referral-bot: {exc}", file=sys.stderr)
        return 2
    except DB_ERRORS as exc:
        print(f"referral-bot: the copy stopped: {exc}", file=sys.stderr)
        return 2
    finally:
        source.close()
        destination.close()
    print(copied.summary(target))
    return 1 if copied.mismatches else 0


def _add_forget(commands: argparse._SubParsersAction) -> None:
    forget = commands.add_parser(
        "forget",
        help="remove a person's contact details and names from the records",
        description="Remove the person's emails, mobiles, names and Feishu IDs from every "
        "record and the audit, a pseudonym (forgotten-...) taking their place; account IDs, "
        "order ids, amounts and times stay. Audited; running it again changes nothing more.",
        epilog="exit status: 0 forgotten (or already), 1 no such person, 2 bad invocation",
    )
    forget.add_argument(
        "who",
        metavar="WHO",
        nargs="+",
        help="an account ID, an email, a mobile (+86 18900001111, or a bare mainland number), "
        "an open_id (ou_...) or the pseudonym given before",
    )
    forget.add_argument("--config", metavar="PATH", help="settings file (default ./app.yaml)")


def _forget(who: str, config_path: str | None) -> int:
    settings = _settings(config_path)
    if settings is None:
        return 2
    import getpass

    from bot.ops.forget import BadWho, NoSuchPerson, forget
    from bot.records.engines import is_postgres

    if not is_postgres(settings.db_path) and not Path(settings.db_path).is_file():
        print(f"referral-bot: {settings.db_path} does not exist (REFERRAL_BOT_DB)", file=sys.stderr)
        return 2
    database = _records(settings)
    if database is None:
        return 2
    try:
        done = forget(database, who, actor=f"cli:{getpass.getuser()}")
    except BadWho as exc:
        print(f"referral-bot: {exc}", file=sys.stderr)
        return 2
    except NoSuchPerson:
        print(f"referral-bot: no record holds {who}; nothing to forget", file=sys.stderr)
        return 1
    except DB_ERRORS as exc:
        print(f"referral-bot: cannot change {settings.db_path}: {exc}", file=sys.stderr)
        return 2
    finally:
        database.close()
    print(done.summary())
    if not done.wal_emptied:
        print(
            f"referral-bot: {settings.db_path}-wal may still hold old pages: readers kept it"
            " busy; run forget again when the bot is quieter",
            file=sys.stderr,
        )
    return 0


@contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr, and log warnings above it; nothing but the warnings when
    stderr is not a terminal (a pipe, a log file, cron)."""
    from rich.console import Console
    from rich.logging import RichHandler
    from rich.progress import MofNCompleteColumn, Progress

    from bot.feishu.openapi import OpenApiError
    from bot.feishu.referral import ACCOUNT_NOT_FOUND

    console = Console(stderr=True)
    terminal = sys.stderr.isatty()
    handler: logging.Handler
    if terminal:
        handler = RichHandler(console=console, show_path=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def not_an_unknown_id(record: logging.LogRecord) -> bool:
        # The Open API client warns of every failed call; an ID Feishu does not know is an
        # answer the summary lists, and a warning for each would bury the real trouble.
        args = record.args if isinstance(record.args, tuple) else ()
        return not (
            args and isinstance(args[0], OpenApiError) and args[0].code == ACCOUNT_NOT_FOUND
        )

    handler.addFilter(not_an_unknown_id)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    progress = Progress(
        *Progress.get_default_columns(),
        MofNCompleteColumn(),
        console=console,
        disable=not terminal,
        transient=True,
    )
    task = progress.add_task("importing", total=total)
    try:
        with progress:
            yield lambda _: progress.advance(task)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


if __name__ == "__main__":
    sys.exit(main())
