"""The throw-away PostgreSQL server of a test run (started by `make test`, see
tests/with_postgres.py): a fresh database per test, named after the worker and a counter.

A test that needs PostgreSQL fails when `REFERRAL_BOT_TEST_PG` is not set; a developer without
a server opts out explicitly with `REFERRAL_BOT_TEST_PG=skip`, which CI (CI=true) never honours.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

ENV = "REFERRAL_BOT_TEST_PG"
OPT_OUT = "skip"


def server_url() -> str:
    """The server's URL (its maintenance database); fails or skips the test without one."""
    url = os.environ.get(ENV, "")
    if url == OPT_OUT and os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
        pytest.skip(f"{ENV}=skip: the PostgreSQL half of the suite is not run")
    if not url.startswith("postgresql://"):
        pytest.fail(
            f"this test needs PostgreSQL: run it through `make test` (which starts one) or set"
            f" {ENV} to a server's URL ({ENV}=skip opts out outside CI)",
            pytrace=False,
        )
    return url


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def create_database() -> str:
    """A new empty database on the server; its URL."""
    import psycopg

    url = server_url()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"t_{worker}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return _with_database(url, name)


def drop_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
