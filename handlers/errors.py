"""How work that cannot finish now says so, and the one rule that turns an Open API failure
into one of those answers.

The inbox's workers (`bot/worker.py`) read these exceptions: `RetryLater` puts the event back
with backoff for up to `MAX_AGE` from its arrival, `GiveUp` ends it, `Stopping` hands it back
untouched because the process is stopping. The guard (`handlers/guard.py`) maps an Open API
failure that escapes an entry: transient (unreachable, 5xx, rate limit) → `RetryLater`, any
other → `GiveUp` (for a command or a button: a plain-words answer). Work that calls Feishu for
several chats or people and must not stop at the first failure uses `Attempts`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import NoReturn

from bot.feishu.openapi import OpenApiError

log = logging.getLogger(__name__)

# How long an event is tried again while Feishu is in trouble: its redelivery window.
MAX_AGE = timedelta(hours=6)


class RetryLater(Exception):
    """The work failed for a reason that may pass (Feishu unreachable); try the event again."""


class GiveUp(Exception):
    """The work failed for good; the message says why (the handler has told the person)."""


class Stopping(Exception):
    """The process is stopping: the work was cut off cleanly and goes back in the queue."""


def retry_or_give_up(error: OpenApiError, doing: str) -> NoReturn:
    """The one mapping of an Open API failure for work with nobody to answer: one that may
    pass is tried again later, any other ends the work."""
    if error.transient:
        raise RetryLater(f"{doing}: {error}") from None
    raise GiveUp(f"{doing}: {error}") from None


class Attempts:
    """One call per chat or person, each tried whatever happened to the others: a failure that
    may pass makes the whole work wait (`done` raises RetryLater, and the uuids of the calls
    that went through keep their repeats from landing twice); any other is logged and passed
    over."""

    def __init__(self, doing: str) -> None:
        self._doing = doing
        self._trouble: OpenApiError | None = None

    @contextmanager
    def each(self, what: str) -> Iterator[None]:
        try:
            yield
        except OpenApiError as exc:
            if exc.transient:
                self._trouble = exc
            else:
                log.warning("%s not done for %s: %s", self._doing, what, exc)

    def done(self) -> None:
        if self._trouble is not None:
            raise RetryLater(f"{self._doing}: {self._trouble}")
