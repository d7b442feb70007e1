"""The inbox's entry: each stored event or job goes to its registry entry, through the guard's
rule for inbox work; and what giving an event up means (`tell_failure`): its entry's own
`on_failure`, or for a command the truth told to whoever asked."""

from __future__ import annotations

import json

from bot.records.inbox import InboxEvent
from handlers import answers, askings, guard, waiting
from handlers.errors import GiveUp
from handlers.registry import job, loaded
from handlers.services import Services

TELL_FAILURE = "bot.tell_failure"


def work(services: Services, event: InboxEvent) -> None:
    """The worker pool's entry: decode the stored event and run its entry."""
    entry = loaded().work.get(event.event_type)
    if entry is None:
        raise GiveUp(f"no handler for {event.event_type}")
    guard.work(services, entry, event.event_id, event.payload)


def tell_failure(services: Services, event: InboxEvent, reason: str) -> None:
    """An event failed for good (Feishu was out of reach for hours, say). Its entry says what
    that means (a withdrawal's given up makes it uncertain: handlers/withdrawals/payouts.py); a
    command's (a message, a menu item) queues the truth for the person, to be sent as soon as
    Feishu can be reached."""
    entry = loaded().work.get(event.event_type)
    if entry is not None and entry.on_failure is not None:
        entry.on_failure(services, json.loads(event.payload), reason)
        return
    if event.event_type not in (askings.MESSAGE, askings.MENU):
        return
    services.inbox.enqueue(TELL_FAILURE, {"event_id": event.event_id}, key=event.event_id)


@job(TELL_FAILURE)
def send_failure_notice(services: Services, event_id: str, payload: dict) -> None:
    """Say what ran and what did not; then the command's own answer when it had one."""
    original = services.inbox.event(payload["event_id"])
    if original is None:
        return  # pruned long since
    asking = askings.of_event(original["event_type"], original["payload"])
    if asking is None:
        return  # nobody to tell
    command = asking.text
    reply = json.loads(original["reply"]) if original["reply"] else None
    if reply is not None:
        notice = answers.late_answer(command)
    elif original["once_started_at"]:
        notice = answers.maybe_done(command)
    else:
        notice = answers.not_done(command)
    # An interim answer ("still trying") is replaced by the notice.
    waiting.deliver(services, payload["event_id"], asking, notice, uuid=f"late-{event_id}")
    if reply is not None:
        waiting.answer(services, asking, reply["card"], uuid=f"late-answer-{event_id}")
