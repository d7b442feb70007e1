"""Bilingual text, the one escaping of outside values, and the card JSON 2.0 text pieces.

Card JSON 2.0 has no global i18n, so every text carries its own `i18n_content` with both
languages; `content` holds the English fallback. Everything user-visible goes through `Text`.

A `Text` holds markdown source. What our code writes into one is markdown (bold, `<font>`,
`<at>`, inline code); anything from outside (what someone typed, a name, email or message
Feishu gave us, a file name) enters a `Text` only through `escape`: as `Text.same` or
`Text.data`, as a `format` value, through `code` or `mention`, or as a builder's `str` argument.
A markdown element shows the source (`md_en`, `md_zh`); plain text (titles, buttons, toasts,
what handlers store) shows the reader's characters (`en`, `zh`, `i18n()`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

LOCALES = ("zh_cn", "en_us")

# Feishu's markdown reads tags (<at>, <font>, <link>), links [x](url) and bare https://, **, ~~,
# `code`, emoji :OK:, # headings, > quotes, - and 1. lists, and HTML entities. Its rich-text docs
# ("特殊字符转义") have such characters written as numeric HTML entities, which it shows as the
# character itself and never reads as markup. Every ASCII punctuation character is escaped, not
# only today's syntax: the set stays right when Feishu reads one more.
_PUNCTUATION = frozenset(string.punctuation)
# A value is one line: a line break would let it start a heading, list or quote of its own.
_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_ENTITY = re.compile(r"&#(\d{1,7});")


def escape(value: object) -> str:
    """Any value from outside as markdown that shows exactly its characters and nothing else:
    no mention, link, emphasis or tag, whatever it holds. The one escaping of the cards."""
    text = _BREAKS.sub(" ", str(value))
    escaped = "".join(f"&#{ord(ch)};" if ch in _PUNCTUATION else ch for ch in text)
    # Four leading spaces would make an indented code block of a value that starts a line.
    return "&#32;" + escaped[1:] if escaped.startswith(" ") else escaped


def unescape(source: str) -> str:
    """What the reader sees of markdown source `escape` made: the characters themselves."""

    def char(match: re.Match[str]) -> str:
        code = int(match.group(1))
        # Only characters: a typed "&#55296;" (half a surrogate pair) would not encode.
        ok = 0 < code < 0x110000 and not 0xD800 <= code <= 0xDFFF
        return chr(code) if ok else match.group(0)

    return _ENTITY.sub(char, source)


@dataclass(frozen=True)
class Text:
    """One user-visible text in English and Simplified Chinese, as markdown source; both must
    be non-empty. `Text(en, zh)` is markdown written in our code, never data: a value from
    outside goes in through `Text.same`, `Text.data` or `format`."""

    md_en: str
    md_zh: str

    def __post_init__(self) -> None:
        if not self.md_en.strip() or not self.md_zh.strip():
            raise ValueError(f"Text needs both languages: {self!r}")

    @classmethod
    def same(cls, value: object) -> Text:
        """A language-neutral value (an ID, an amount, an email) shown as is to everyone."""
        return cls.data(str(value))

    @classmethod
    def data(cls, en: str, zh: str | None = None) -> Text:
        """A value from outside, per language (a name in English and in Chinese), escaped."""
        return cls(escape(en), escape(en if zh is None else zh))

    @classmethod
    def markup(cls, source: str) -> Text:
        """Language-neutral markdown of our own (inline code, a mention, a separator)."""
        return cls(source, source)

    @property
    def en(self) -> str:
        """The English a reader sees, for plain text."""
        return unescape(self.md_en)

    @property
    def zh(self) -> str:
        return unescape(self.md_zh)

    def __add__(self, other: Text) -> Text:
        return Text(self.md_en + other.md_en, self.md_zh + other.md_zh)

    def format(self, **values: object) -> Text:
        """Fill `{name}` placeholders of both languages: a `Text` value as its markdown in that
        language, anything else as an escaped value."""
        en = {k: v.md_en if isinstance(v, Text) else escape(v) for k, v in values.items()}
        zh = {k: v.md_zh if isinstance(v, Text) else escape(v) for k, v in values.items()}
        return Text(self.md_en.format(**en), self.md_zh.format(**zh))

    def i18n(self) -> dict[str, str]:
        """Both languages as a reader sees them, for a plain-text `i18n_content`."""
        return {"zh_cn": self.zh, "en_us": self.en}

    def md_i18n(self) -> dict[str, str]:
        """Both languages as markdown source, for a markdown `i18n_content`."""
        return {"zh_cn": self.md_zh, "en_us": self.md_en}


def words(text: Text) -> Text:
    """A handler's text of plain words (a notice, a reason, a name) as markdown that shows just
    what plain text would: a message or name in it is never read as markup. Escaped data stays
    as it is."""
    return Text.data(text.en, text.zh)


def join(parts: Iterable[Text], sep: str = "\n") -> Text:
    """Join texts language by language."""
    items = list(parts)
    return Text(sep.join(t.md_en for t in items), sep.join(t.md_zh for t in items))


def sentences(*parts: Text) -> Text:
    """Sentences one after another: a space between them in English, none in Chinese (whose
    full stop needs none). A separator is no text of its own, so it is never a `Text`."""
    return Text(" ".join(t.en for t in parts), "".join(t.zh for t in parts))


def plural(count: int, noun: str, nouns: str | None = None, *, shown: str | None = None) -> str:
    """The count, with thousands separators, and the English noun that fits it: "1 account",
    "1,500 accounts", "-1 point". `nouns` is an irregular plural; `shown` the count as printed
    (e.g. "+1,200"). Chinese needs no plural: write its count as `f"{count:,}"`."""
    word = noun if abs(count) == 1 else nouns or noun + "s"
    return f"{f'{count:,}' if shown is None else shown} {word}"


# What a code span may hold as it is: letters, digits and punctuation that means nothing in one.
_CODE_SAFE = re.compile(r"[\w .@+\-/#,=]+")
# Feishu's open_ids; `<at id=all>` would mention everyone in the chat.
_OPEN_ID = re.compile(r"ou_[A-Za-z0-9_-]+")


def code(value: str) -> str:
    """A value as inline code, the form Feishu lets readers copy with one tap; a value with a
    character that could end the span or that Feishu might read in it is shown escaped."""
    return f"`{value}`" if _CODE_SAFE.fullmatch(value) else escape(value)


def command(usage: str) -> str:
    """One of our own command lines (a usage, with its `<who>`) as inline code; never data."""
    return "`" + usage.replace("`", "'").replace("\n", " ") + "`"


def mention(open_id: str | None) -> str:
    """`<at>` for a person: Feishu shows each reader the name. Anything but an open_id is
    shown as text (an `<at id=all>` would notify the whole chat)."""
    if not open_id:
        return "—"
    return f"<at id={open_id}></at>" if _OPEN_ID.fullmatch(open_id) else escape(open_id)


def plain(text: Text) -> dict:
    """A `plain_text` object (also used for titles, button labels, dialog text)."""
    return {"tag": "plain_text", "content": text.en, "i18n_content": text.i18n()}


def markdown(text: Text, *, size: str | None = None) -> dict:
    """A 2.0 `markdown` element; `size` e.g. "notation" for small print."""
    element: dict = {"tag": "markdown", "content": text.md_en, "i18n_content": text.md_i18n()}
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
