"""Who asked (`Asker`) and what they are answered (`Answer`): one of each, whatever the way in
(a typed command, a bot-menu item, a card button). Everything that answers a command later (its
result, an interim "still trying", the truth after hours of failures) reaches the person through
`Asker.send`."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.rewards import Reward
from bot.domain.withdrawals import Withdrawal
from bot.feishu.messenger import Messenger
from cards.text import Text
from handlers.audit_trail import Act

COMMAND, BUTTON = "command", "button"


@dataclass(frozen=True)
class Mention:
    """One entry of a message's `mentions`: its `@_user_N` key and whom it stands for."""

    key: str
    open_id: str
    name: str = ""


@dataclass(frozen=True)
class Asker:
    """Who asked, where, and through what (`via`: a command, typed or from the menu, or a
    button)."""

    open_id: str | None
    chat_id: str | None
    message_id: str | None = None  # the message typed, or the card pressed
    event_id: str | None = None
    via: str = COMMAND
    # An earlier run of this command began its change and was cut off: check before changing.
    resumed: bool = False
    # The message's @-mentions of people (not of the bot), to resolve `@_user_N` keys.
    mentions: tuple[Mention, ...] = ()
    # Asked in a group chat (`chat_id` is the group's), not in the one-to-one chat.
    in_group: bool = False
    # A button's callback token: the pressed card's delayed update.
    token: str | None = None
    # The command as typed (or as the menu item runs it), for what is told about it later.
    text: str = ""

    def send(self, messenger: Messenger, card: dict, *, uuid: str) -> str:
        """Answer with `card`: a reply to the message asked in, else (a menu item) a message
        into the person's one-to-one chat. The uuid makes a retried send land once; returns the
        message's id."""
        if self.message_id is not None:
            return messenger.reply_card(self.message_id, card, chat_id=self.chat_id, uuid=uuid)
        assert self.open_id is not None, "an asker without anyone to answer"
        return messenger.send_card_to_person(self.open_id, card, uuid=uuid)


@dataclass(frozen=True)
class Answer:
    """What an entry answers. A command answers with `card` (the reply); a button with `text`
    as its toast, of `kind` (info | success | warning | error), and `card` replacing the pressed
    one when given.

    `account_id`: the account the card shows, whose later changes update it (`track`; not for
    a read-only card, which a refresh would give buttons), at `version`. `withdrawal`: the
    request the card is of; `new` False when it is the account's open request answered again
    (its first card stays the one updated). `act`: what was decided, for the audit entry, when
    more than "done". `reward`: the reward request the card is of, as `withdrawal` is."""

    card: dict | None = None
    text: Text | None = None
    kind: str = "success"
    account_id: str | None = None
    track: bool = True
    version: int | None = None
    withdrawal: Withdrawal | None = None
    reward: Reward | None = None
    new: bool = True
    act: Act | None = None

    @property
    def receipt_of(self) -> int | None:
        """The withdrawal request whose receipt the sent card becomes."""
        return self.withdrawal.id if self.withdrawal is not None and self.new else None
