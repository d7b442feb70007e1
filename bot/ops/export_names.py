"""Who an open_id is, by name, in a file people read (`registered_by` in the accounts export).

The records know a person's name when they hold a referral account: Feishu reports its
referrer's Chinese and English names, and the records link the account to the referrer's
open_id. Someone the records cannot name (an HR admin without an account, say) may be asked
of the contact API by whoever has a connection to Feishu (the chat export); without one, or
when Feishu cannot say, the open_id is shown: never an empty cell.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from bot.domain.people import OPEN_ID
from bot.records.store import AccountBook, Database

# Asks Feishu for a person's name; None when it cannot say.
Ask = Callable[[str], str | None]
# The few people who register accounts are asked about; a file full of strangers is not worth
# a minute of contact calls.
MAX_ASKS = 20


class Names:
    """The name shown for an open_id, each person looked up once per export."""

    def __init__(self, database: Database, ask: Ask | None = None, *, asks: int = MAX_ASKS):
        self._database = database
        self._ask = ask
        self._asks_left = asks
        self._known: dict[str, str] = {}

    def __call__(self, open_id: str | None) -> str:
        """The person's name, else their open_id; "" for nobody."""
        if not open_id:
            return ""
        if open_id not in self._known:
            self._known[open_id] = self._recorded(open_id) or self._asked(open_id) or open_id
        return self._known[open_id]

    def _recorded(self, open_id: str) -> str | None:
        """The name Feishu reported for this person as the referrer of an account they hold."""
        for text in AccountBook(self._database).referrers(OPEN_ID, open_id):
            referrer = json.loads(text)
            name = referrer.get("name_zh") or referrer.get("name_en")
            if name and referrer.get("id") in (None, open_id):
                return str(name)
        return None

    def _asked(self, open_id: str) -> str | None:
        if self._ask is None or self._asks_left <= 0:
            return None
        self._asks_left -= 1
        return self._ask(open_id)
