"""What the deployment documents promise, held to the code: every setting the bot reads is in
the README's configuration table, every table of the records in its personal-data table, the
container examples run the version being built, and the proxy example exposes only the two
push paths."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from importlib.metadata import version
from pathlib import Path

import yaml

from bot.config import DEFAULTS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    """The README's text under the `## title` heading, up to the next `## ` heading."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def first_column_names(text: str) -> set[str]:
    """The backticked names in the first column of a markdown table."""
    cells = [line.split("|")[1] for line in text.splitlines() if line.startswith("| `")]
    return {name for cell in cells for name in re.findall(r"`([^`]+)`", cell)}


def test_every_setting_is_in_the_configuration_table():
    listed = first_column_names(section("Configuration"))
    read = set(DEFAULTS) | {"REFERRAL_BOT_CONFIG", "REFERRAL_BOT_LIVENESS_SECONDS"}
    assert read - listed == set()
    assert listed - read == set()  # and nothing the bot does not read


def test_every_table_of_the_records_is_in_the_personal_data_table(make_bot):
    bot = make_bot(start=False)  # builds every part, and so every table
    with closing(sqlite3.connect(bot.settings.db_path)) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
    assert tables - first_column_names(section("Personal data")) == set()


def test_the_container_examples_run_the_version_being_built():
    tag = f"referral-bot:{version('referral-bot')}"
    compose = (ROOT / "compose.yaml").read_text()
    assert re.findall(r"^\s+image:\s*(\S+)", compose, re.MULTILINE) == [tag]
    assert f"docker build -t {tag} ." in README and README.count(f" {tag}\n") >= 1
    assert "referral-bot:latest" not in README + compose
    replicas = (ROOT / "compose.replicas.yaml").read_text()
    assert re.findall(r"^\s+image:\s*(referral-bot\S*)", replicas, re.MULTILINE) == [tag]


def test_the_replicas_example_runs_two_bots_on_postgresql_behind_one_port():
    compose = yaml.safe_load((ROOT / "compose.replicas.yaml").read_text())
    services = compose["services"]
    bots = [services["bot-1"], services["bot-2"]]
    tag = f"referral-bot:{version('referral-bot')}"
    for bot in bots:
        assert bot["image"] == tag
        url = bot["environment"]["REFERRAL_BOT_DB"]
        assert url.startswith("postgresql://referral@postgres:") and ":${" not in url
        assert bot["environment"]["PGPASSWORD"] == "${POSTGRES_PASSWORD}"
        assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    proxy = services["proxy"]
    assert proxy["ports"] == ["127.0.0.1:8000:8000"]  # the one port
    assert {
        name for name, d in proxy["depends_on"].items() if d["condition"] == "service_healthy"
    } == {
        "bot-1",
        "bot-2",
    }
    config = compose["configs"]["proxy"]["content"]
    assert "server bot-1:8000" in config and "server bot-2:8000" in config


def test_the_proxy_passes_only_the_two_push_paths():
    nginx = (ROOT / "docs" / "nginx.conf").read_text()
    config = "\n".join(line.split("#")[0] for line in nginx.splitlines())
    proxied = re.findall(r"location\s+(.+?)\s*\{[^}]*proxy_pass", config)
    assert proxied == [r"~ ^/webhook/(event|card)$"]
    assert re.search(r"location\s+/\s*\{\s*return 404;", config)
    assert "client_max_body_size 1m;" in config


def test_the_systemd_unit_serves_and_stops_cleanly():
    unit = (ROOT / "docs" / "referral-bot.service").read_text()
    settings = dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and line[0].isalpha()
    )
    assert settings["ExecStart"].endswith("/referral-bot serve")
    assert settings["KillSignal"] == "SIGTERM" and int(settings["TimeoutStopSec"]) >= 15
    assert settings["RestartPreventExitStatus"] == "2"  # a bad setting is not retried for ever


def test_the_changelog_keeps_an_unreleased_section():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    assert f"## [{version('referral-bot')}]" in changelog
