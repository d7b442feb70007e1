"""No silence while a command waits on a failing Feishu.

A command (typed in a chat, or chosen from the bot menu) whose Open API call keeps failing
(server errors, rate limits) waits in the inbox and is tried again for up to
`handlers.errors.MAX_AGE`. When it first has to wait, an interim answer is queued for
`Services.interim_after` after the event arrived: one message saying that Feishu is failing
and until when the bot keeps trying. The command's result (or, after MAX_AGE, the truth about
it) later replaces that same message; where it cannot, it follows as a new one. Where an answer
goes (a reply to the message, or into the menu user's one-to-one chat) is the event's `Asker`
(handlers/askings.py).

Which of the two answers an event (the interim, or a plain answer with the result) is decided
once in the records (`Inbox.claim_answer`), so they never race into two messages; the interim
is sent under a uuid of its own, so a resend after a crash lands on the same message.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.feishu.openapi import OpenApiError
from bot.records.inbox import ANSWER_INTERIM, ANSWER_REPLY, DONE, FAILED
from bot.records.store import from_iso, utcnow
from cards.when import stamp
from handlers import answers
from handlers.asker import Asker
from handlers.askings import of_event
from handlers.errors import MAX_AGE, retry_or_give_up
from handlers.registry import job
from handlers.services import Services

log = logging.getLogger(__name__)

INTERIM = "bot.interim"


def interim_uuid(event_id: str) -> str:
    return f"interim-{event_id}"


def schedule(services: Services, event_id: str) -> None:
    """The command of this event has to wait: queue its interim answer (once) for
    `interim_after` after the event arrived."""
    original = services.inbox.event(event_id)
    if original is None:
        return
    received = from_iso(original["received_at"])
    if utcnow() - received >= MAX_AGE:
        return  # past its retry window: the worker fails it now, and its truth is told instead
    due = received + services.interim_after
    delay = max(due - utcnow(), timedelta(0))
    services.inbox.enqueue(INTERIM, {"event_id": event_id}, key=event_id, delay=delay)


@job(INTERIM)
def send_interim(services: Services, job_id: str, payload: dict) -> None:
    """Tell the person their command is held up, unless it has been answered meanwhile."""
    event_id = payload["event_id"]
    original = services.inbox.event(event_id)
    if original is None or original["status"] in (DONE, FAILED) or original["reply"]:
        return  # answered, or its result is about to be: that is the answer
    asking = of_event(original["event_type"], original["payload"])
    if asking is None:
        return  # nobody to tell
    via, message_id = services.inbox.claim_answer(event_id, ANSWER_INTERIM)
    if via != ANSWER_INTERIM or message_id:
        return  # the result went out first, or the interim was sent before
    zone = services.settings.digest_tz
    until = stamp(from_iso(original["received_at"]) + MAX_AGE, zone)
    card = answers.still_trying(until, zone)
    sent = answer(services, asking, card, uuid=interim_uuid(event_id))
    services.inbox.note_answer(event_id, sent)
    log.info("event %s waits on Feishu; the person was told (message %s)", event_id, sent)


def deliver(services: Services, event_id: str, to: Asker, card: dict, *, uuid: str) -> str:
    """Answer the command of `event_id` with `card`: by replacing its interim answer when one
    was sent, else (or when the interim cannot be updated) anew under `uuid`. Returns the id
    of the message that shows the card."""
    via, interim_id = services.inbox.claim_answer(event_id, ANSWER_REPLY)
    if via != ANSWER_INTERIM:
        return answer(services, to, card, uuid=uuid)
    if interim_id is None:
        # The interim was begun but is not known to have landed (its send failed, or its
        # worker was cut off). Under the interim's uuid this makes one message either way;
        # the update below makes sure it shows the result.
        interim_id = answer(services, to, card, uuid=interim_uuid(event_id))
        services.inbox.note_answer(event_id, interim_id)
    try:
        services.messenger.update_card(interim_id, card)
    except OpenApiError as exc:
        if exc.transient:
            retry_or_give_up(exc, "updating the interim answer")
        # Recalled, or too old to update: the result goes out as a message of its own.
        log.info("interim answer %s cannot be updated (%s); answering anew", interim_id, exc)
        return answer(services, to, card, uuid=uuid)
    return interim_id


def answer(services: Services, to: Asker, card: dict, *, uuid: str) -> str:
    """Send `card` to whoever asked; the uuid makes a retried answer land once."""
    try:
        return to.send(services.messenger, card, uuid=uuid)
    except OpenApiError as exc:
        # Given up: the message was withdrawn, the bot left the chat, or the person cannot be
        # reached (left the company, or the bot is not available to them).
        doing = (
            f"could not reply to {to.message_id}"
            if to.message_id
            else f"could not answer {to.open_id}"
        )
        retry_or_give_up(exc, doing)
