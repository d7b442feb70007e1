"""Assertions every card must pass, shared by the card tests."""

from __future__ import annotations

import json
from collections.abc import Iterator

TEXT_TAGS = {"plain_text", "markdown", "lark_md"}
# Card JSON 1.0 tags that 2.0 rejects.
V1_ONLY_TAGS = {"note", "action"}


# Feishu's limits on a JSON 2.0 card (feishu-facts: "Files, images, charts, tables, forms").
MAX_CARD_ELEMENTS = 200
MAX_CARD_BYTES = 30 * 1024


def walk(node: object) -> Iterator[dict]:
    """Every dict anywhere in the card, depth first. Every card met on the way (the node itself,
    or one inside a callback answer) is checked against Feishu's element and size limits."""
    if isinstance(node, dict):
        if node.get("schema") == "2.0" and "body" in node:
            assert_within_limits(node)
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def element_count(node: object) -> int:
    """Feishu counts every object with a `tag`: plain_text, columns and the header's texts too."""
    if isinstance(node, dict):
        return ("tag" in node) + sum(element_count(value) for value in node.values())
    if isinstance(node, list):
        return sum(element_count(item) for item in node)
    return 0


def assert_within_limits(card: dict) -> None:
    count = element_count(card)
    assert count <= MAX_CARD_ELEMENTS, f"{count} elements, Feishu takes at most 200"
    size = len(json.dumps(card).encode())  # ASCII-escaped: the pessimistic count
    assert size <= MAX_CARD_BYTES, f"{size} bytes, Feishu takes at most 30 KB"


def texts(card: dict) -> list[dict]:
    return [node for node in walk(card) if node.get("tag") in TEXT_TAGS]


def buttons(card: dict) -> list[dict]:
    return [node for node in walk(card) if node.get("tag") == "button"]


def all_content(card: dict, locale: str) -> str:
    """All text the reader of `locale` sees, joined; for `in` assertions."""
    return "\n".join(node["i18n_content"][locale] for node in texts(card))


def assert_valid_card(card: dict) -> None:
    assert card["schema"] == "2.0"
    assert card["config"]["update_multi"] is True
    assert card["config"]["locales"] == ["zh_cn", "en_us"]
    assert isinstance(card["body"]["elements"], list) and card["body"]["elements"]
    assert card["header"]["title"]["tag"] == "plain_text"
    found = texts(card)
    assert found, "a card without text"
    for node in found:
        i18n = node.get("i18n_content")
        assert isinstance(i18n, dict), node
        assert i18n.get("zh_cn", "").strip(), node
        assert i18n.get("en_us", "").strip(), node
        assert node["content"] == i18n["en_us"], node
    tags = {node.get("tag") for node in walk(card)}
    assert not tags & V1_ONLY_TAGS
    ids = [node["element_id"] for node in walk(card) if "element_id" in node]
    assert len(ids) == len(set(ids)), "element_id must be unique"
    for element_id in ids:
        assert len(element_id) <= 20 and element_id[0].isalpha(), element_id
        assert element_id.replace("_", "").isalnum(), element_id
    assert_within_limits(card)
