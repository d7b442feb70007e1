"""People as the bot knows them, and the one way to compare their emails and mobiles. Pure.

An account is found by any contact the records learned for it: the email or mobile it was
registered with, and its referrer's open_id, email and mobile as get_account_assets reported
them. Feishu writes a mobile as "+8618900001111", HR as "+86 18900001111" or "18900001111":
`mobile_key` turns each into the same key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NOT_DIGITS = re.compile(r"\D")
_MAINLAND = re.compile(r"^1\d{10}$")

OPEN_ID, EMAIL, MOBILE = "open_id", "email", "mobile"


@dataclass(frozen=True)
class Person:
    """Someone in the tenant's directory, as the contact API answered (fields may be missing
    when the app lacks their field scopes)."""

    open_id: str
    name: str | None = None
    email: str | None = None
    mobile: str | None = None


def email_key(email: str) -> str:
    return email.strip().lower()


def mobile_key(mobile: str, code: str | None = None) -> str:
    """Digits with the country code; a bare mainland number gets 86."""
    digits = _NOT_DIGITS.sub("", mobile)
    if code:
        return _NOT_DIGITS.sub("", code) + digits
    if _MAINLAND.match(digits) and not mobile.strip().startswith("+"):
        return "86" + digits
    return digits


def contact_keys(contact: str | None) -> list[tuple[str, str]]:
    """(kind, key) of a contact as registered: an email, or "+<code> <number>"."""
    if not contact:
        return []
    if "@" in contact:
        return [(EMAIL, email_key(contact))]
    return [(MOBILE, mobile_key(contact))]
