"""Following referrals on `hire.application.stage_changed_v1`.

For an application the bot has not seen it asks once whether it came by referral
(get_by_application) and remembers the answer either way: an application that is not a
referral costs that one call, and none again. For a referral whose change is newer than the
records (`update_time`), it reads the application's detail (with its job and talent: one call)
and records the stage with its history; the telling of the referrer and, on a hire, the notice
chats' card are queued in that same transaction (`handlers/referrals/telling.py`). Calls go
through the shared limiter at each API's documented rate.
"""

from __future__ import annotations

import logging

from lark_oapi.api.hire.v1 import P2HireApplicationStageChangedV1

from bot.domain.referrals import Kind, Updates, worth_telling
from bot.feishu.hire import HireGateway
from bot.feishu.ratelimit import Priority
from bot.records.referrals import Change, ReferralBook, Then, Transaction
from handlers.errors import GiveUp
from handlers.referrals import telling
from handlers.registry import event
from handlers.services import Services

log = logging.getLogger(__name__)

EVENT = "hire.application.stage_changed_v1"


@event(EVENT, P2HireApplicationStageChangedV1)
def on_stage_changed(
    services: Services, event_id: str, data: P2HireApplicationStageChangedV1
) -> None:
    event = data.event
    if event is None or not event.application_id:
        raise GiveUp("stage-change event without an application")
    try:
        update_ms = int(event.update_time or 0)
    except (TypeError, ValueError):
        raise GiveUp(f"stage-change event with a bad update_time {event.update_time!r}") from None
    follow(services, event.application_id, update_ms, tell=True)


def follow(
    services: Services,
    application_id: str,
    update_ms: int,
    *,
    tell: bool,
) -> Change | None:
    """Take what became of the application as of `update_ms`; the change recorded, or None
    (not a referral, nothing newer, nothing moved). `tell`: queue the tellings."""

    def queue(db: Transaction, change: Change) -> None:
        if tell:
            _queue_tellings(services, db, change)

    # Behind commands in the shared limiter: a burst of stage changes never slows an answer. An
    # Open API failure goes to the guard's rule for inbox work: tried again when it may pass,
    # else given up (an application Feishu does not know, say).
    change = learn(
        services.hire,
        services.referrals,
        application_id,
        update_ms,
        then=queue,
        priority=Priority.BACKGROUND,
    )
    if change is not None:
        services.inbox.notify()
        log.info("referral %s: %s (%s)", application_id, change.referral.stage.en_name, change.kind)
    return change


def learn(
    hire: HireGateway,
    book: ReferralBook,
    application_id: str,
    update_ms: int | None,
    *,
    then: Then | None = None,
    priority: Priority = Priority.INTERACTIVE,
) -> Change | None:
    """The one sequence, for the event and for `referral-bot import --referrals`: the referral
    asked once per application (remembered either way), the detail read only for a referral
    with something newer (`update_ms`; None: as of Feishu's own `modify_time`), and recorded.
    Raises OpenApiError."""
    asked, of = book.checked(application_id)
    if not asked:
        of = hire.referral_of(application_id, priority=priority)
        book.note_check(application_id, of)
    if of is None or (update_ms is not None and not book.newer(application_id, update_ms)):
        return None
    application = hire.application(application_id, priority=priority)
    at = update_ms if update_ms is not None else application.updated_ms or 0
    return book.record(of, application, at, then=then)


def _queue_tellings(services: Services, db: Transaction, change: Change) -> None:
    """Inside the recording transaction: the referrer's telling (batched per referrer) and,
    on a first hire, the notice chats' card."""
    updates = Updates(services.settings.referral_updates)
    if worth_telling(updates, change.kind):
        first = services.referrals.add_telling(db, change)
        if first is not None:  # the referrer's batch: everything untold when it is due
            referrer = change.referral.referrer_open_id
            services.inbox.enqueue(
                telling.BATCH,
                {"referrer": referrer, "batch": str(first)},
                key=f"{referrer}:{first}",
                delay=services.referral_window,
                notify=False,
            )
    was_hired = change.previous is not None and change.previous.hired
    if change.kind is Kind.HIRED and not was_hired and services.settings.notice_chats:
        application_id = change.referral.application_id
        services.inbox.enqueue(
            telling.HIRED, {"application_id": application_id}, key=application_id, notify=False
        )
