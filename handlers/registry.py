"""The command registry: who asks (`Asker`), what is answered (`Reply`), and one handler per
parsed command type, registered with `@handles` by the command modules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

from handlers import parser
from handlers.audit_trail import Act
from handlers.people import Mention
from handlers.services import Services


@dataclass(frozen=True)
class Asker:
    """Who sent the command, and where."""

    open_id: str | None
    chat_id: str
    message_id: str | None = None
    event_id: str | None = None
    # An earlier run of this event began its change and was cut off: check before changing.
    resumed: bool = False
    # The message's @-mentions of people (not of the bot), to resolve `@_user_N` keys.
    mentions: tuple[Mention, ...] = ()
    # Asked in a group chat (`chat_id` is the group's), not in the one-to-one chat.
    in_group: bool = False


@dataclass(frozen=True)
class Reply:
    """The card to answer with, and the account it shows. `track`: note the sent card so later
    changes update it (not for a read-only card, which a refresh would give buttons)."""

    card: dict
    account_id: str | None = None
    track: bool = True
    # The card is this withdrawal request's: the sent message becomes its receipt.
    withdrawal_id: int | None = None
    # What the command decided, for its audit entry, when more than "done" (see audit_trail).
    act: Act | None = None
    # The account's version (AccountRecord.version) the card shows, when it shows one.
    version: int | None = None


Handler = Callable[[Services, Asker, parser.Command], Reply]
HANDLERS: dict[type, Handler] = {}


def handles(*kinds: type) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        for kind in kinds:
            if kind in HANDLERS:
                raise ValueError(f"{kind.__name__} already has a handler")
            HANDLERS[kind] = func
        return func

    return register


def check_complete() -> None:
    """Every command the parser can produce must have a handler."""
    missing = set(get_args(parser.Command)) - set(HANDLERS)
    if missing:
        raise ImportError(f"no handler for {sorted(k.__name__ for k in missing)}")
