"""A thread pool whose threads never hold the process at exit.

`concurrent.futures.ThreadPoolExecutor` joins its threads when the interpreter exits, so a call
still waiting on the network after a clean stop (the long connection's endpoint request, with
its 10 s read timeout) kept `serve` alive past a container's stop budget. Here every thread is a
daemon: a call still running at exit is abandoned, which is what a stop that has already waited
its bounded time wants (a push taken but not acknowledged is pushed again).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

_Call = tuple[Future, Callable[..., Any], tuple, dict]


class DaemonPool(ThreadPoolExecutor):
    """At most `size` calls at once, each on a daemon thread.

    A `ThreadPoolExecutor` by type only, because asyncio accepts nothing else as a loop's
    default executor (where it runs DNS lookups); none of the base class's threads or queues
    are used.
    """

    def __init__(self, size: int, name: str) -> None:
        super().__init__(max_workers=size, thread_name_prefix=name)
        self._size = size
        self._name = name
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._guard = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        with self._guard:
            if self._closed:
                raise RuntimeError("cannot schedule new calls after shutdown")
            future: Future = Future()
            self._calls.put((future, fn, args, kwargs))
            if len(self._workers) < self._size:
                worker = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._workers)}", daemon=True
                )
                self._workers.append(worker)
                worker.start()
            return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._guard:
            self._closed = True
            workers = list(self._workers)
        if cancel_futures:
            while True:
                try:
                    call = self._calls.get_nowait()
                except queue.Empty:
                    break
                if call is not None:
                    call[0].cancel()
        for _ in workers:
            self._calls.put(None)
        if wait:
            for worker in workers:
                worker.join()

    def _work(self) -> None:
        while True:
            call = self._calls.get()
            if call is None:
                return
            future, fn, args, kwargs = call
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # the caller's to see, through the future
                future.set_exception(exc)
            else:
                future.set_result(result)
