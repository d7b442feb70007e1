"""Bilingual text and the card JSON 2.0 text pieces built from it.

Card JSON 2.0 has no global i18n, so every text carries its own `i18n_content` with both
languages; `content` holds the English fallback. Everything user-visible goes through `Text`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

LOCALES = ("zh_cn", "en_us")

# Characters Feishu markdown would interpret, as the HTML entities it renders literally.
_MD_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "*": "&#42;",
    "~": "&#126;",
    "`": "&#96;",
    "[": "&#91;",
    "]": "&#93;",
    "#": "&#35;",
    "\\": "&#92;",
}


@dataclass(frozen=True)
class Text:
    """One user-visible string in English and Simplified Chinese; both must be non-empty."""

    en: str
    zh: str

    def __post_init__(self) -> None:
        if not self.en.strip() or not self.zh.strip():
            raise ValueError(f"Text needs both languages: {self!r}")

    @classmethod
    def same(cls, value: str) -> Text:
        """A language-neutral string (an ID, an amount) shown as is to everyone."""
        return cls(value, value)

    def __add__(self, other: Text) -> Text:
        return Text(self.en + other.en, self.zh + other.zh)

    def format(self, **values: object) -> Text:
        """Fill `{name}` placeholders of both languages with the same values."""
        return Text(self.en.format(**values), self.zh.format(**values))

    def i18n(self) -> dict[str, str]:
        return {"zh_cn": self.zh, "en_us": self.en}


def join(parts: Iterable[Text], sep: str = "\n") -> Text:
    """Join texts language by language."""
    items = list(parts)
    return Text(sep.join(t.en for t in items), sep.join(t.zh for t in items))


def sentences(*parts: Text) -> Text:
    """Sentences one after another: a space between them in English, none in Chinese (whose
    full stop needs none). A separator is no text of its own, so it is never a `Text`."""
    return Text(" ".join(t.en for t in parts), "".join(t.zh for t in parts))


def plural(count: int, noun: str, nouns: str | None = None, *, shown: str | None = None) -> str:
    """The count and the English noun that fits it: "1 account", "2 accounts", "-1 point".
    `nouns` is an irregular plural; `shown` the count as printed (e.g. "+1,200")."""
    word = noun if abs(count) == 1 else nouns or noun + "s"
    return f"{count if shown is None else shown} {word}"


# An underscore inside a word (as in most emails) cannot start emphasis; others can.
_LOOSE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def escape_md(value: str) -> str:
    """Make data (names, emails) safe to drop into a markdown element."""
    escaped = "".join(_MD_ENTITIES.get(ch, ch) for ch in value)
    return _LOOSE_UNDERSCORE.sub("&#95;", escaped)


def code(value: str) -> str:
    """Inline code, the form Feishu lets readers copy with one tap."""
    return "`" + value.replace("`", "'").replace("\n", " ") + "`"


def plain(text: Text) -> dict:
    """A `plain_text` object (also used for titles, button labels, dialog text)."""
    return {"tag": "plain_text", "content": text.en, "i18n_content": text.i18n()}


def markdown(text: Text, *, size: str | None = None) -> dict:
    """A 2.0 `markdown` element; `size` e.g. "notation" for small print."""
    element: dict = {"tag": "markdown", "content": text.en, "i18n_content": text.i18n()}
    if size is not None:
        element["text_size"] = size
    return element


def text_tag(text: Text, color: str) -> dict:
    """A coloured `text_tag` (status badges)."""
    return {"tag": "text_tag", "text": plain(text), "color": color}


def header(
    title: Text,
    template: str,
    subtitle: Text | None = None,
    tags: Sequence[tuple[Text, str]] = (),
) -> dict:
    """The card header: title, optional subtitle, colour template and (text, colour) tags."""
    result: dict = {"title": plain(title), "template": template}
    if subtitle is not None:
        result["subtitle"] = plain(subtitle)
    if tags:
        result["text_tag_list"] = [text_tag(text, color) for text, color in tags]
    return result
