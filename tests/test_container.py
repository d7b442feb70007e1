"""The container, as far as it can be tested without a Docker engine (none runs here): the
image's files build the package alone, its health check command tells a healthy bot from a sick
one, and its entry command is `referral-bot serve` (run as a process, SIGTERM and all, in
tests/scenarios/test_crash_recovery.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(name: str) -> list[str]:
    return re.findall(rf"^{name}\s+(.+)$", DOCKERFILE, re.MULTILINE)


def test_the_image_runs_the_bot_as_pid_1_as_a_user_with_its_data_on_a_volume():
    assert instructions("FROM") == ["python:3.11-slim"]
    assert instructions("USER") == ["referral"]
    assert instructions("ENTRYPOINT") == ['["referral-bot"]']  # exec form: SIGTERM reaches it
    assert instructions("CMD")[-1] == '["serve"]'
    assert '"/data"' in instructions("VOLUME")[0] and "REFERRAL_BOT_DB=/data/" in DOCKERFILE
    assert "bot.healthcheck" in DOCKERFILE.split("HEALTHCHECK", 1)[1]


def test_the_image_copies_everything_the_package_needs(tmp_path):
    """What the COPY lines bring is the whole package: the CLI and the sandbox page import and
    find their files from that copy alone (pip itself cannot run without the network here)."""
    context = tmp_path / "context"
    context.mkdir()
    for line in instructions("COPY"):
        *sources, _ = line.split()
        for entry in sources:
            source = ROOT / entry
            if source.is_dir():
                ignore = shutil.ignore_patterns("__pycache__")
                shutil.copytree(source, context / entry, ignore=ignore)
            else:
                shutil.copy(source, context / entry)
    assert (context / "pyproject.toml").exists() and (context / "README.md").exists()
    imported = subprocess.run(
        [sys.executable, "-c", "import bot.cli, bot.healthcheck, bot.sandbox, handlers.guard"],
        env={**os.environ, "PYTHONPATH": str(context)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stderr
    assert (context / "bot" / "sandbox" / "static" / "index.html").exists()


def healthcheck(port: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.healthcheck"],
        env={**os.environ, "REFERRAL_BOT_PORT": str(port), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_health_check_command_passes_a_healthy_bot_and_fails_a_sick_one(bot):
    port = int(bot.url.rsplit(":", 1)[1])
    assert healthcheck(port).returncode == 0
    bot.pool.stop()  # its workers gone: /healthz answers 503
    sick = healthcheck(port)
    assert sick.returncode == 1 and "inbox workers are dead" in sick.stderr
    bot.stop()
    gone = healthcheck(port)
    assert gone.returncode == 1 and "does not answer" in gone.stderr
