"""The long connection's thread pool: results and errors come back, and no call still running
holds the process at exit."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from bot.feishu.daemon_pool import DaemonPool
from tests.scenarios.test_crash_recovery import ROOT


def test_results_and_errors_come_back_at_most_size_at_once():
    pool = DaemonPool(2, "test")
    running, most = 0, 0
    lock = threading.Lock()

    def work(n: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        if n == 3:
            raise ValueError("three")
        return n * 10

    futures = [pool.submit(work, n) for n in range(5)]
    assert [f.result(5) for f in futures if f is not futures[3]] == [0, 10, 20, 40]
    with pytest.raises(ValueError, match="three"):
        futures[3].result(5)
    assert most == 2
    pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.submit(work, 1)


def test_shutdown_cancels_what_has_not_started():
    pool = DaemonPool(1, "test")
    gate = threading.Event()
    first = pool.submit(gate.wait, 5)
    queued = pool.submit(lambda: "ran")
    pool.shutdown(wait=False, cancel_futures=True)
    gate.set()
    assert first.result(5) is True
    assert queued.cancelled()


def test_a_call_still_running_does_not_hold_the_exit():
    script = (
        "import time\n"
        "from bot.feishu.daemon_pool import DaemonPool\n"
        "DaemonPool(1, 'test').submit(time.sleep, 30)\n"
    )
    began = time.monotonic()
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=20)
    assert time.monotonic() - began < 5
