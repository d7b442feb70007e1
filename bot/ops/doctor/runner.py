"""The doctor's run: every check in order, each reported as soon as it is made.

Every probe is free of side effects: the permission probes ask for things that do not exist
(account `0`, chat `0`), so Feishu answers "not found" when the scope is granted and 99991672
when it is not, and nothing is created, changed or posted. The chat checks only read the
listed chats' information, which Feishu gives only to a member of the chat. The database is
opened as `serve` opens it (created with its schema when new), so a set-up doctor passes starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bot.config import Settings
from bot.domain.people import Person
from bot.feishu.openapi import OpenApi, OpenApiError, RetryPolicy
from bot.ops.doctor.admins import check_admins, look_up
from bot.ops.doctor.chats import check_chats
from bot.ops.doctor.credentials import check_bot, check_credentials
from bot.ops.doctor.permissions import check_hire_scopes, check_permissions
from bot.ops.doctor.report import TIMEOUT, Check
from bot.ops.doctor.settings import check_database, check_settings
from bot.ops.doctor.transport import check_transport

# Quick rather than patient: one retry, short waits, short timeouts.
DOCTOR_RETRY = RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0)


def run_doctor(
    settings: Settings, *, on_check: Callable[[Check], None] | None = None
) -> list[Check]:
    """All checks, in order; `on_check` sees each as soon as it is made."""
    checks: list[Check] = []

    def add(*new: Check) -> None:
        for check in new:
            checks.append(check)
            if on_check is not None:
                on_check(check)

    add(check_settings(settings))
    add(check_database(settings))
    api = OpenApi.of(settings, timeout=TIMEOUT, retry=DOCTOR_RETRY)
    with _quiet_probes():
        credentials = check_credentials(api, settings)
        add(credentials)
        admins: dict[str, Person | OpenApiError] = {}
        if credentials.ok:  # without a token every call below fails the same way
            add(check_bot(api))
            admins = look_up(api, settings.admins)
            add(*check_permissions(api, admins))
            add(*check_hire_scopes(api))
        add(*check_chats(settings, api if credentials.ok else None))
        if credentials.ok:
            add(*check_admins(admins))
        if credentials.ok or settings.transport == "webhook":  # the long connection needs them
            add(*check_transport(settings))
    return checks


@contextmanager
def _quiet_probes() -> Iterator[None]:
    """The Open API client warns of every failed call; here failures are the expected answers
    of the probes, and the report says what they mean."""
    logger = logging.getLogger("bot.feishu.openapi")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
