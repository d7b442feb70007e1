"""Whether each admin in REFERRAL_BOT_ADMINS is a person the app can see in this tenant."""

from __future__ import annotations

from bot.domain.people import Person
from bot.feishu.contacts import INVALID_USER_ID, OUTSIDE_CONTACT_RANGE, Contacts
from bot.feishu.openapi import OpenApi, OpenApiError
from bot.ops.doctor.report import SCOPE_MISSING, Check, refusal


def look_up(api: OpenApi, open_ids: frozenset[str]) -> dict[str, Person | OpenApiError]:
    """Each admin as the contact API answers: the person, or the error."""
    contacts = Contacts(api)
    found: dict[str, Person | OpenApiError] = {}
    for open_id in sorted(open_ids):
        try:
            found[open_id] = contacts.person(open_id)
        except OpenApiError as err:
            found[open_id] = err
    return found


def check_admins(admins: dict[str, Person | OpenApiError]) -> list[Check]:
    checks = []
    for open_id, found in admins.items():
        name = f"admin {open_id}"
        if isinstance(found, Person):
            checks.append(Check(name, True, found.name or "found"))
        elif found.code == INVALID_USER_ID:
            checks.append(
                Check(
                    name,
                    False,
                    "not a person in this tenant (41012): fix REFERRAL_BOT_ADMINS "
                    "(open_ids differ per app: take them from this app's events or API)",
                )
            )
        elif found.code == OUTSIDE_CONTACT_RANGE:
            checks.append(
                Check(
                    name,
                    False,
                    "outside the app's contact range (41050): add them to the range of "
                    "contact data in Permissions & Scopes, then publish a version",
                )
            )
        elif found.code == SCOPE_MISSING:
            checks.append(
                Check(name, True, "not checked: needs the contact scope above", warning=True)
            )
        else:
            checks.append(Check(name, False, f"could not look up: {refusal(found)}"))
    return checks
