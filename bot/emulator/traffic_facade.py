"""The Emulator's record of what the bot did, for tests to assert on: the calls it made, the
messages it sent (and a chat admin recalling one), where a user's message and a one-to-one chat
are, and the delayed-update tokens of card callbacks. Mixed into `Emulator`."""

from __future__ import annotations

import copy
from typing import Any

from . import im
from .context import Context
from .state import Call, CardToken, Message, State


class CardTokens:
    """View of the delayed-update callback tokens: `issue_card_token(message_id)`, `tokens[t]`."""

    def __init__(self, emu: TrafficFacade) -> None:
        self._emu = emu

    def issue_card_token(self, message_id: str) -> str:
        return self._emu.issue_card_token(message_id)

    issue = issue_card_token

    def get(self, token: str) -> CardToken | None:
        with self._emu._state.lock:
            entry = self._emu._state.card_tokens.get(token)
            return copy.deepcopy(entry) if entry else None

    def __getitem__(self, token: str) -> CardToken:
        entry = self.get(token)
        if entry is None:
            raise KeyError(token)
        return entry

    def __contains__(self, token: object) -> bool:
        with self._emu._state.lock:
            return token in self._emu._state.card_tokens

    def __len__(self) -> int:
        with self._emu._state.lock:
            return len(self._emu._state.card_tokens)


class TrafficFacade:
    _state: State
    _ctx: Context

    # --- recorded traffic --------------------------------------------------------------------
    @property
    def calls(self) -> list[Call]:
        with self._state.lock:
            return list(self._state.calls)

    def calls_for(self, operation: str) -> list[Call]:
        with self._state.lock:
            return [c for c in self._state.calls if c.operation == operation]

    def clear_calls(self) -> None:
        with self._state.lock:
            self._state.calls.clear()

    @property
    def messages(self) -> list[Message]:
        return self._state.message_list()

    def message(self, message_id: str) -> Message:
        with self._state.lock:
            msg = self._state.messages.get(message_id)
            if msg is None:
                raise KeyError(f"no message {message_id} sent by the bot")
            return copy.deepcopy(msg)

    def latest_card(self, message_id: str) -> dict[str, Any]:
        msg = self.message(message_id)
        return msg.updates[-1] if msg.updates else msg.content

    def recall(self, message_id: str) -> None:
        """Someone (a chat's owner or admin) recalls a message the bot sent: it can no longer
        be updated (230011)."""
        with self._state.lock:
            msg = self._state.messages.get(message_id)
            if msg is None:
                raise KeyError(f"no message {message_id} sent by the bot")
            msg.recalled = True

    def note_user_message(self, message_id: str, chat_id: str) -> None:
        """Tell the emulator a user's message exists in a chat, so replies land in that chat."""
        with self._state.lock:
            self._state.user_messages[message_id] = chat_id

    def p2p_chat_id(self, open_id: str) -> str:
        """The one-to-one chat of the bot with `open_id` (made on first use): where a message
        sent with receive_id_type open_id (or the person's union_id, user_id, email) lands."""
        return self._state.p2p_chat_id(open_id)

    def messages_in(self, chat_id: str) -> list[Message]:
        return [m for m in self.messages if m.chat_id == chat_id]

    # --- card callbacks ----------------------------------------------------------------------
    def issue_card_token(self, message_id: str) -> str:
        return im.issue_card_token(self._ctx, message_id)

    @property
    def card_update_tokens(self) -> CardTokens:
        return CardTokens(self)
