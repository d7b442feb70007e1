from decimal import Decimal

import pytest

from bot.domain.accounts import Cash
from cards.money import format_cash, format_points
from cards.text import (
    Text,
    code,
    command,
    escape,
    header,
    join,
    markdown,
    mention,
    plain,
    plural,
    unescape,
    words,
)


def test_plain_and_markdown_carry_both_languages() -> None:
    text = Text("Hello", "你好")
    assert plain(text) == {
        "tag": "plain_text",
        "content": "Hello",
        "i18n_content": {"zh_cn": "你好", "en_us": "Hello"},
    }
    assert markdown(text)["tag"] == "markdown"
    assert markdown(text)["i18n_content"] == {"zh_cn": "你好", "en_us": "Hello"}
    assert markdown(text, size="notation")["text_size"] == "notation"


@pytest.mark.parametrize("en,zh", [("", "中"), ("en", ""), ("  ", "中")])
def test_text_refuses_a_missing_language(en: str, zh: str) -> None:
    with pytest.raises(ValueError):
        Text(en, zh)


def test_text_helpers() -> None:
    assert Text("a", "甲") + Text("b", "乙") == Text("ab", "甲乙")
    assert Text("{n} left", "剩 {n}").format(n=3) == Text("3 left", "剩 3")
    assert join([Text("a", "甲"), Text.same("1")]) == Text("a\n1", "甲\n1")


def test_header_with_subtitle_and_tags() -> None:
    result = header(Text("T", "标"), "green", Text("S", "副"), tags=[(Text("On", "开"), "green")])
    assert result["template"] == "green"
    assert result["subtitle"]["i18n_content"] == {"zh_cn": "副", "en_us": "S"}
    assert result["text_tag_list"] == [
        {
            "tag": "text_tag",
            "text": {
                "tag": "plain_text",
                "content": "On",
                "i18n_content": {"zh_cn": "开", "en_us": "On"},
            },
            "color": "green",
        }
    ]
    assert "subtitle" not in header(Text("T", "标"), "blue")


def test_escape_leaves_no_markup_and_shows_every_character() -> None:
    hostile = "<at id=all></at> [x](https://evil.example) **b** ~~s~~ `c` :OK: &lt; \\* _i_"
    source = escape(hostile)
    for live in ("<", ">", "[", "](", "**", "~~", "`", ":OK:", "https:", "&lt;", "\\", "_"):
        assert live not in source, live
    assert unescape(source) == hostile  # a reader sees exactly what was typed
    assert escape("Zhang San 张三") == "Zhang San 张三"  # letters, digits, CJK as they are
    assert escape("a\nb\r\n# c\u2028d") == "a b  &#35; c d"  # one line: no heading, no list
    assert escape("    code") == "&#32;   code"  # not an indented code block at a line's start
    assert escape("1. x") == "1&#46; x"  # not an ordered list either


def test_a_text_of_data_is_markdown_that_shows_the_data() -> None:
    name = Text.data("*Li* <at id=all></at>", "李")
    assert name.en == "*Li* <at id=all></at>" and name.zh == "李"  # what plain text shows
    assert "<at" not in name.md_en and "*" not in name.md_en
    assert markdown(name)["i18n_content"]["en_us"] == name.md_en
    assert plain(name)["i18n_content"]["en_us"] == name.en
    # format: a str is data, a Text is markdown of ours; the template is ours too.
    line = Text("**{label}**: {value}", "**{label}**：{value}").format(
        label=Text("Name", "姓名"), value="[x](https://evil)"
    )
    assert line.md_en == "**Name**: &#91;x&#93;&#40;https&#58;&#47;&#47;evil&#41;"
    assert line.en == "**Name**: [x](https://evil)"
    assert Text.same("a*b") == Text.data("a*b") == Text("a&#42;b", "a&#42;b")
    # Plain words from a handler are escaped once, however they were made.
    assert (
        words(Text("a*b", "甲*乙"))
        == words(words(Text("a*b", "甲*乙")))
        == name.data("a*b", "甲*乙")
    )


def test_code_command_and_mention() -> None:
    assert code("6900001") == "`6900001`" and code("san.zhang@open.com") == "`san.zhang@open.com`"
    assert code("12`3") == "12&#96;3"  # could end the span: shown escaped instead
    assert code("<at id=all></at>") == escape("<at id=all></at>")
    assert command("/referral show <who>") == "`/referral show <who>`"
    assert mention("ou_hr_admin") == "<at id=ou_hr_admin></at>"
    assert mention("all") == "all" and mention(None) == "—"
    assert mention("ou_x></at><at id=all") == escape("ou_x></at><at id=all")
    assert unescape("&#38;#42; &#9999999; &#55296;") == "&#42; &#9999999; &#55296;"  # no crash


@pytest.mark.parametrize(
    "cash,expected",
    [
        (Cash("CNY", Decimal("100")), "CNY 100.00"),
        (Cash("CNY", 1234.5), "CNY 1,234.50"),
        (Cash("USD", Decimal("1234567.891")), "USD 1,234,567.89"),
        (Cash("USD", 0), "USD 0.00"),
        (Cash("CNY", "0.5"), "CNY 0.50"),
    ],
)
def test_format_cash(cash: Cash, expected: str) -> None:
    assert format_cash(cash) == expected


@pytest.mark.parametrize(
    "points,expected", [(0, "0"), (999, "999"), (1200, "1,200"), (1234567, "1,234,567")]
)
def test_format_points(points: int, expected: str) -> None:
    assert format_points(points) == expected


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((0, "account"), {}, "0 accounts"),
        ((1, "account"), {}, "1 account"),
        ((2, "account"), {}, "2 accounts"),
        ((-1, "point"), {}, "-1 point"),
        ((1, "point"), {"shown": "+1"}, "+1 point"),
        ((1200, "point"), {"shown": "1,200"}, "1,200 points"),
        ((3, "entry", "entries"), {}, "3 entries"),
        ((1, "entry", "entries"), {}, "1 entry"),
    ],
)
def test_plural(args, kwargs, expected) -> None:
    assert plural(*args, **kwargs) == expected
