"""The production WSGI server (waitress), startable and stoppable from code."""

from __future__ import annotations

import threading

from flask import Flask
from waitress import wasyncore
from waitress.server import create_server


class HttpServer:
    def __init__(self, app: Flask, host: str, port: int, *, threads: int = 8) -> None:
        self._server = create_server(
            app, host=host, port=port, threads=threads, ident="referral-bot"
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._server.effective_host}:{self._server.effective_port}"

    @property
    def port(self) -> int:
        return self._server.effective_port

    def serve_forever(self) -> None:
        self._server.run()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Take no new connection, let the requests in progress finish while the loop still
        runs (a finishing request wakes the loop through its trigger: closed first, that write
        failed with EBADF and a traceback), then close every socket from inside the server's
        own loop (closing them from another thread races its select())."""
        if self._thread is not None:
            self._server.accepting = False
            self._server.task_dispatcher.shutdown(timeout=5)
            self._server.trigger.pull_trigger(lambda: wasyncore.close_all(self._server._map))
            self._thread.join(5)
            self._thread = None
        else:
            self._server.close()
            self._server.task_dispatcher.shutdown(timeout=5)
