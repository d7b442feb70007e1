"""@-mentions in what a person types on the page. Feishu carries a mention as a placeholder in
the text (`@_user_1`, `@_user_2`, … in the order they appear) and an entry in the message's
`mentions` saying whom it stands for; the chat shows it as "@Name". Pure functions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PLACEHOLDER = re.compile(r"@_user_(\d+)")


class BadMention(ValueError):
    """The page's mentions do not fit its text; the message says why."""


@dataclass(frozen=True)
class Mentioned:
    """Someone a message mentions: their placeholder in the text, and their names."""

    key: str
    open_id: str
    name: str  # as Feishu names them in the message's `mentions`
    name_en: str
    name_zh: str


def picked(raw: object) -> list[tuple[str, str]]:
    """The page's `[{"key": "@_user_1", "open_id": "ou_…"}, …]` as (key, open_id) pairs."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadMention("mentions must be a list of {key, open_id}")
    pairs = []
    for entry in raw:
        key = entry.get("key") if isinstance(entry, dict) else None
        open_id = entry.get("open_id") if isinstance(entry, dict) else None
        if not isinstance(key, str) or not isinstance(open_id, str) or not open_id:
            raise BadMention("each mention needs a key like @_user_1 and an open_id")
        pairs.append((key, open_id))
    return pairs


def check(text: str, pairs: Sequence[tuple[str, str]]) -> None:
    """Each key is a placeholder, given once and found in the text, and the text holds no
    placeholder that no mention explains (Feishu never sends one)."""
    keys = [key for key, _ in pairs]
    for key in keys:
        if not PLACEHOLDER.fullmatch(key):
            raise BadMention(f"{key!r} is not a placeholder like @_user_1")
    if len(set(keys)) != len(keys):
        raise BadMention("two mentions have the same key")
    found = {m.group(0) for m in PLACEHOLDER.finditer(text)}
    for key in keys:
        if key not in found:
            raise BadMention(f"the text does not hold {key}")
    stray = sorted(found - set(keys))
    if stray:
        raise BadMention(f"the text holds {stray[0]} but no mention has that key")


def renumbered(text: str, first: int = 1) -> tuple[str, dict[str, str]]:
    """The text with its placeholders numbered from `first` in the order they appear, as Feishu
    numbers them (a mention of the bot before them takes `@_user_1`); and old key -> new key."""
    new: dict[str, str] = {}
    for match in PLACEHOLDER.finditer(text):
        new.setdefault(match.group(0), f"@_user_{first + len(new)}")
    return PLACEHOLDER.sub(lambda m: new[m.group(0)], text), new


def shown(text: str, people: Mapping[str, Mentioned]) -> str:
    """The text as the chat shows it: each placeholder as "@Name"."""
    return PLACEHOLDER.sub(
        lambda m: f"@{people[m.group(0)].name}" if m.group(0) in people else m.group(0), text
    )


def parts(text: str, people: Mapping[str, Mentioned]) -> list[dict[str, Any]]:
    """The text in pieces for the page to draw: plain `{"text"}` and `{"at", "name", …}` for each
    mention, so it can name people in the reader's language."""
    pieces: list[dict[str, Any]] = []
    last = 0
    for match in PLACEHOLDER.finditer(text):
        who = people.get(match.group(0))
        if who is None:
            continue
        if match.start() > last:
            pieces.append({"text": text[last : match.start()]})
        pieces.append(
            {"at": who.open_id, "name": who.name, "name_en": who.name_en, "name_zh": who.name_zh}
        )
        last = match.end()
    if last < len(text):
        pieces.append({"text": text[last:]})
    return pieces
