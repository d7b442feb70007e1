"""Run a command with a throw-away PostgreSQL server: `python tests/with_postgres.py pytest -n 4`.

`make test` runs the suite through this. It finds Debian's server (installing the `postgresql`
package with apt-get when it is missing), makes a cluster in a temporary folder, starts it on a
free port of 127.0.0.1, runs the command with `REFERRAL_BOT_TEST_PG` set to the server's URL,
and stops the server and removes the folder whatever the command did. PostgreSQL refuses to run
as root, so as root the server runs as the `postgres` user (the package creates it).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV = "REFERRAL_BOT_TEST_PG"


def server_bin() -> Path:
    """The folder holding initdb and pg_ctl, the newest installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    if not found:
        _install()
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    if not found:
        sys.exit("with_postgres: no PostgreSQL server (initdb, pg_ctl) could be installed")
    return Path(found[-1]).parent


def _version(path: str) -> int:
    try:
        return int(Path(path).parent.parent.name)
    except ValueError:
        return 0


def _install() -> None:
    if not shutil.which("apt-get"):
        sys.exit("with_postgres: PostgreSQL is not installed and there is no apt-get")
    sudo = [] if os.getuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update"], check=True, env=env)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "--no-install-recommends", "postgresql"],
        check=True,
        env=env,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def server() -> Iterator[str]:
    """A throw-away server for the block: its URL (the maintenance database `postgres`)."""
    bindir = server_bin()
    as_user = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="referral-bot-pg-"))
    data = folder / "data"
    if as_user:
        shutil.chown(folder, "postgres")
    port = free_port()
    quiet = {"stdout": subprocess.DEVNULL}
    subprocess.run(
        [*as_user, bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        **quiet,
    )
    options = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=300"
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    pg_ctl = [*as_user, bindir / "pg_ctl", "-D", data]
    try:
        subprocess.run(
            [*pg_ctl, "-o", options, "-l", folder / "server.log", "-w", "start"],
            check=True,
            **quiet,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], **quiet)
        shutil.rmtree(folder, ignore_errors=True)


def main(command: list[str]) -> int:
    if not command:
        sys.exit("usage: with_postgres.py COMMAND [ARG...]")
    with server() as url:
        return subprocess.run(command, env={**os.environ, ENV: url}).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
