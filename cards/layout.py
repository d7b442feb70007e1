"""The card envelope and the few 2.0 layout pieces the builders share."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from cards.text import LOCALES, Text, plain

# Feishu rejects cards over 30 KB; builders that grow with data keep below this.
MAX_CARD_BYTES = 30 * 1024


def card(head: dict, elements: Sequence[dict], *, summary: Text | None = None) -> dict:
    """A complete card JSON 2.0 document. `update_multi` lets handlers update it in place."""
    config: dict = {"update_multi": True, "locales": list(LOCALES)}
    if summary is not None:
        config["summary"] = {"content": summary.en, "i18n_content": summary.i18n()}
    return {"schema": "2.0", "config": config, "header": head, "body": {"elements": list(elements)}}


def card_size(document: dict) -> int:
    """Serialized size in bytes, counted the pessimistic way (ASCII-escaped)."""
    return len(json.dumps(document).encode())


def button(
    label: Text,
    value: dict[str, str | int],
    *,
    element_id: str,
    kind: str = "default",
    confirm: tuple[Text, Text] | None = None,
) -> dict:
    """A callback button; `value` returns in the card action event; `confirm` is (title, text)."""
    element: dict = {
        "tag": "button",
        "element_id": element_id,
        "text": plain(label),
        "type": kind,
        "behaviors": [{"type": "callback", "value": dict(value)}],
    }
    if confirm is not None:
        title, text = confirm
        element["confirm"] = {"title": plain(title), "text": plain(text)}
    return element


def row(*elements: dict) -> dict:
    """Elements side by side, each as wide as it needs."""
    return {
        "tag": "column_set",
        "horizontal_spacing": "8px",
        "columns": [
            {"tag": "column", "width": "auto", "elements": [element]} for element in elements
        ],
    }


def hr() -> dict:
    return {"tag": "hr"}


MAX_CARD_ELEMENTS = 200


def element_count(node: object) -> int:
    """How many elements Feishu counts in a card or any part of one."""
    if isinstance(node, dict):
        return ("tag" in node) + sum(element_count(value) for value in node.values())
    if isinstance(node, list):
        return sum(element_count(item) for item in node)
    return 0


def stack(
    blocks: Iterable[dict], *, head: dict, budget: int, reserved: int = 0, limit: int | None = None
) -> list[dict]:
    """As many blocks as fit, an hr between two: within `budget` bytes (the header counted)
    and Feishu's element limit (the header's and `reserved` more for what follows). The blocks
    shown are `(len(result) + 1) // 2`."""
    elements: list[dict] = []
    used = card_size(head)
    room = MAX_CARD_ELEMENTS - element_count(head) - reserved
    for shown, block in enumerate(blocks):
        size = card_size(block) + 64
        if used + size > budget or room < 2 or (limit is not None and shown >= limit):
            break
        if elements:
            elements.append(hr())
        elements.append(block)
        used += size
        room -= 2
    return elements
