"""The page's @-mentions as Feishu carries them: placeholders, their order, how they show."""

from __future__ import annotations

import pytest

from bot.sandbox.mentions import BadMention, Mentioned, check, parts, picked, renumbered, shown

ZHANG = Mentioned("@_user_1", "ou_hire", "张三", "Zhang San", "张三")
CHEN = Mentioned("@_user_2", "ou_chen", "陈静", "Chen Jing", "陈静")


def test_placeholders_are_numbered_in_the_order_they_appear() -> None:
    text, keys = renumbered("/referral find @_user_2 @_user_1 @_user_2")

    assert text == "/referral find @_user_1 @_user_2 @_user_1"
    assert keys == {"@_user_2": "@_user_1", "@_user_1": "@_user_2"}


def test_after_the_bots_mention_people_start_at_two_and_ten_is_not_one() -> None:
    text, keys = renumbered("a @_user_10 b @_user_1", first=2)

    assert text == "a @_user_2 b @_user_3"
    assert keys == {"@_user_10": "@_user_2", "@_user_1": "@_user_3"}


def test_the_chat_shows_names_and_the_page_gets_pieces() -> None:
    people = {m.key: m for m in (ZHANG, CHEN)}
    text = "/referral show @_user_1 or @_user_2"

    assert shown(text, people) == "/referral show @张三 or @陈静"
    assert parts(text, people) == [
        {"text": "/referral show "},
        {"at": "ou_hire", "name": "张三", "name_en": "Zhang San", "name_zh": "张三"},
        {"text": " or "},
        {"at": "ou_chen", "name": "陈静", "name_en": "Chen Jing", "name_zh": "陈静"},
    ]
    assert parts("/referral list", people) == [{"text": "/referral list"}]


def test_picks_that_fit_the_text_pass() -> None:
    pairs = picked([{"key": "@_user_1", "open_id": "ou_hire"}])

    check("/referral register @_user_1", pairs)
    check("/referral list", picked(None))
    assert pairs == [("@_user_1", "ou_hire")]


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("@_user_1", {"@_user_1": "ou_hire"}),
        ("@_user_1", [{"key": "@_user_1"}]),
        ("@_user_1", [{"key": "@hire", "open_id": "ou_hire"}]),
        ("hi", [{"key": "@_user_1", "open_id": "ou_hire"}]),
        ("@_user_1 @_user_2", [{"key": "@_user_1", "open_id": "ou_hire"}]),
        (
            "@_user_1",
            [{"key": "@_user_1", "open_id": "ou_hire"}, {"key": "@_user_1", "open_id": "ou_chen"}],
        ),
    ],
)
def test_picks_that_do_not_fit_are_refused(text: str, raw: object) -> None:
    with pytest.raises(BadMention):
        check(text, picked(raw))
