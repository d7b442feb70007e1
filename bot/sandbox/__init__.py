"""Try the bot without a Feishu tenant: the emulator, the bot and a local chat page.

with Sandbox(port=0) as sandbox:        # port 0 = a free port
    print(sandbox.url)                   # the chat page
    sandbox.chats.say(sandbox.world.hr_chat, "ou_hr_admin", "/referral list")
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import webbrowser
from types import TracebackType

from bot.sandbox.chat import Chats
from bot.sandbox.tenant import Tenant
from bot.sandbox.web import create_sandbox_app
from bot.sandbox.world import World
from bot.server import HttpServer

log = logging.getLogger(__name__)

__all__ = ["Sandbox", "run_sandbox"]


class Sandbox:
    """The emulator, the bot wired to it and the page's server, started and stopped together."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: bool = True,
        long_connection: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        # long_connection: the bot takes the page's pushes over the long connection.
        self.world = World(seed=seed, long_connection=long_connection)
        self.chats = Chats(self.world)
        self.tenant = Tenant(self.world)
        self._server: HttpServer | None = None

    def start(self) -> Sandbox:
        # The page's port first: when it is taken, fail before starting anything else.
        app = create_sandbox_app(self.world, self.chats, self.tenant)
        server = HttpServer(app, self.host, self.port)
        try:
            self.world.start()
        except BaseException:
            server.stop()
            self.world.stop()
            raise
        server.start()
        self._server = server
        return self

    @property
    def url(self) -> str:
        assert self._server is not None, "the sandbox is not started"
        return self._server.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.world.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_sandbox(port: int = 8765, open_browser: bool = True, long_connection: bool = False) -> int:
    """`referral-bot sandbox`: serve the page until Ctrl-C or SIGTERM, then stop everything.
    `long_connection` (`--long-connection`): the demo runs over the long connection."""
    sandbox = Sandbox(port=port, long_connection=long_connection)
    try:
        sandbox.start()
    except OSError as exc:  # the port is taken
        print(f"referral-bot: cannot start the sandbox on port {port}: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    over = " over the long connection" if long_connection else ""
    print(f"\n  referral-bot sandbox{over}: open {sandbox.url}  (Ctrl-C stops it)\n", flush=True)
    if open_browser:
        try:
            webbrowser.open(sandbox.url)
        except Exception:  # no browser on this machine: the printed URL is enough
            log.debug("could not open a browser", exc_info=True)
    # Wait in short steps: a signal the kernel hands to another thread does not interrupt the
    # main thread's wait, and Python runs its handler only when the main thread wakes.
    while not stop.wait(0.5):
        pass
    print("stopping the sandbox…", flush=True)
    sandbox.stop()
    return 0
