"""Mobiles with their country calling code, however they are written. Pure.

HR types "+852 61234567", "+85261234567" or a bare mainland "18900001111"; the contact API
answers "+85261234567"; get_account_assets gives the referrer's mobile as one string, in its
documented example a bare mainland number ("1879087xxx8"), so elsewhere it may come without its
code. The bot keeps and shows every mobile as "+<code> <number>" and finds it by `key`, the
digits of both.

Calling codes are prefix-free (ITU-T E.164: no assigned code begins another), so digits after
a "+" split one way only, by the table of assigned codes that `phonenumbers` keeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

_NOT_DIGITS = re.compile(r"\D")
_WRITTEN = re.compile(r"^\+?[\d\s\-().]+$")
_MAINLAND = re.compile(r"^1\d{10}$")
MAINLAND_CODE = "86"


@dataclass(frozen=True)
class Mobile:
    """A mobile: the country calling code and the national number, digits only."""

    code: str
    number: str

    def __str__(self) -> str:
        return f"+{self.code} {self.number}"

    @property
    def key(self) -> str:
        """How the records find it: code and number as one string of digits."""
        return self.code + self.number


def split_code(digits: str) -> Mobile | None:
    """Digits that begin with a calling code ("85261234567") as a Mobile; None when no
    assigned code begins them."""
    for length in (1, 2, 3):
        code, number = digits[:length], digits[length:]
        if number and code[0] != "0" and int(code) in COUNTRY_CODE_TO_REGION_CODE:
            return Mobile(code, number)
    return None


def parse_mobile(text: str, code: str | None = None) -> Mobile | None:
    """The mobile `text` writes, with its code: given apart (`code`), written after a "+", or
    86 for a bare mainland number. None when the code cannot be told (bare digits of a number
    elsewhere) or `text` is no number."""
    text = text.strip()
    if not text or not _WRITTEN.match(text):
        return None
    digits = _NOT_DIGITS.sub("", text)
    if not digits:
        return None
    if code is not None:
        code = _NOT_DIGITS.sub("", code)
        return Mobile(code, digits) if code else None
    if text.startswith("+"):
        split = split_code(digits)
        if split is not None:
            return split
        # A code no table knows: trust where the writer put the space ("+999 1234567").
        head, _, rest = text[1:].strip().partition(" ")
        rest = _NOT_DIGITS.sub("", rest)
        return Mobile(head, rest) if head.isdigit() and rest else None
    if _MAINLAND.match(digits):
        return Mobile(MAINLAND_CODE, digits)
    return None


def with_code(text: str, known: Iterable[Mobile] = ()) -> str:
    """`text` as "+<code> <number>" when its code can be told: written in it, 86 for a bare
    mainland number, or that of a `known` mobile of the same person with the same number.
    Otherwise `text` as it was: a code the bot does not know is not made up."""
    mobile = parse_mobile(text)
    if mobile is not None:
        return str(mobile)
    digits = _NOT_DIGITS.sub("", text)
    for other in known:
        if digits and other.number == digits:
            return str(other)
    return text


def mobile_key(text: str, code: str | None = None) -> str:
    """The records' key of a mobile: its code and number as digits; just the digits when the
    code cannot be told."""
    mobile = parse_mobile(text, code)
    return mobile.key if mobile is not None else _NOT_DIGITS.sub("", text)
