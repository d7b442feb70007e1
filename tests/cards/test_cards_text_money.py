from decimal import Decimal

import pytest

from bot.accounts import Cash
from cards.money import format_cash, format_points
from cards.text import Text, code, escape_md, header, join, markdown, plain, plural


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


def test_escape_and_code() -> None:
    assert escape_md("san_zhang@example.com") == "san_zhang@example.com"
    assert escape_md("*bold* <at id=1>") == "&#42;bold&#42; &lt;at id=1&gt;"
    assert escape_md("_x_") == "&#95;x&#95;"
    assert code("12`3") == "`12'3`"


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
