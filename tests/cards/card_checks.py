"""Assertions every card must pass, shared by the card tests."""

from __future__ import annotations

import html
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


def shown(node: dict, locale: str | None = None) -> str:
    """What a reader sees of a text node (in `locale`, else its `content`): markdown's entity
    escapes are the characters they stand for."""
    content = node["i18n_content"][locale] if locale else node["content"]
    return html.unescape(content) if node.get("tag") in ("markdown", "lark_md") else content


def all_content(card: dict, locale: str) -> str:
    """All text the reader of `locale` sees, joined; for `in` assertions."""
    return "\n".join(shown(node, locale) for node in texts(card))


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


# What a stranger might type (or Feishu pass on from one): each kind of markup Feishu's card
# markdown reads: a mention of everyone, links, emphasis, emoji, tags, an entity, code, heading.
HOSTILE = (
    "<at id=all></at> [x](https://evil.example) **B** ~~S~~ :OK: <font color='red'>R</font> "
    "<link url='https://evil.example'>L</link> &lt;at id=all&gt; `c` # h"
)
# An open_id that would close the bot's own `<at>` and open one for everyone.
HOSTILE_ID = "ou_x></at><at id=all"
# The pieces of HOSTILE (and HOSTILE_ID) that are live markup if they reach markdown as they are.
LIVE = (
    "<at id=all",
    "](",
    "https:",
    "evil.example",
    "**B**",
    "~~S~~",
    ":OK:",
    "<font color='red'>R",
    "<link",
    "&lt;at",
    "`c`",
    "# h",
)


def markdown_sources(card: dict) -> Iterator[str]:
    """The markdown source of every markdown element: its content and each language's."""
    for node in walk(card):
        if node.get("tag") in ("markdown", "lark_md"):
            yield node["content"]
            yield from node.get("i18n_content", {}).values()


def assert_inert(card: dict) -> None:
    """No piece of HOSTILE is live in the card's markdown, and plain text shows characters, not
    the escapes markdown needs."""
    for source in markdown_sources(card):
        for piece in LIVE:
            assert piece not in source, f"live {piece!r} in markdown: {source!r}"
    for node in texts(card):
        if node["tag"] == "plain_text":
            for content in [node["content"], *node.get("i18n_content", {}).values()]:
                assert "&#" not in content, f"an escape shown as text: {content!r}"
