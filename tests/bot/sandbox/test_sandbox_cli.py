"""`referral-bot sandbox` as a person runs it: prints the page's URL, Ctrl-C stops it all."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time

import requests


def test_sandbox_command_prints_the_url_serves_and_stops_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "sandbox", "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 20
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            found = re.search(r"open (http://127\.0\.0\.1:\d+)", line)
            url = found.group(1) if found else None
        assert url, f"no URL printed; stderr: {process.stderr.read() if process.poll() else ''}"

        assert "referral-bot" in requests.get(url, timeout=5).text
        said = requests.post(
            url + "/api/say",
            json={"chat_id": "oc_hr_group", "open_id": "ou_hr_admin", "text": "/referral help"},
            timeout=5,
        )
        assert said.json()["status"] == 200

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
        stderr = process.stderr.read()
        assert "Traceback" not in stderr, stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sandbox_command_says_so_in_one_line_when_the_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "sandbox", "--port", str(port), "--no-browser"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert f"cannot start the sandbox on port {port}" in result.stderr
    assert "Traceback" not in result.stderr
