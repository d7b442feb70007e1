"""People as the bot knows them, and the one way to compare their emails and mobiles. Pure.

An account is found by any contact the records learned for it: the email or mobile it was
registered with, and its referrer's open_id, email and mobile as get_account_assets reported
them. Feishu writes a mobile as "+8618900001111", HR as "+86 18900001111" or "18900001111":
`mobile_key` (bot/domain/mobiles.py) turns each into the same key.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.mobiles import mobile_key

OPEN_ID, EMAIL, MOBILE = "open_id", "email", "mobile"

__all__ = ["EMAIL", "MOBILE", "OPEN_ID", "Person", "contact_keys", "email_key", "mobile_key"]


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


def contact_keys(contact: str | None) -> list[tuple[str, str]]:
    """(kind, key) of a contact as registered: an email, or "+<code> <number>"."""
    if not contact:
        return []
    if "@" in contact:
        return [(EMAIL, email_key(contact))]
    return [(MOBILE, mobile_key(contact))]
