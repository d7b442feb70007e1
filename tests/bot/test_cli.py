"""The command line's manners: `--version`, and no command is a bad invocation (exit 2 with
the usage), as argparse treats every other one."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_version_prints_the_installed_version():
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"referral-bot {version('referral-bot')}"


def test_no_command_prints_the_usage_and_exits_2():
    result = cli()
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("usage: referral-bot")
    assert "COMMAND" in result.stderr and "Traceback" not in result.stderr


def test_db_without_an_action_exits_2_with_its_usage():
    result = cli("db")
    assert result.returncode == 2
    assert "usage: referral-bot db" in result.stderr and "ACTION" in result.stderr
