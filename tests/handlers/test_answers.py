"""Every answer a command can end in, built once: each Open API error in plain words, and every
outcome card of the command runner and the message handler. Pure: no server."""

from __future__ import annotations

import inspect
import re
from datetime import UTC, datetime

import pytest

from bot.feishu.openapi import RATE_LIMITED_CODES, TOKEN_CODES, OpenApiError
from bot.feishu.referral import SERVER_ERROR
from cards.error import not_allowed_card
from cards.people import no_account_card
from cards.text import Text, sentences
from cards.when import stamp
from handlers import answers, parser
from handlers.answers import EXPLANATIONS, NO_PERMISSION
from handlers.registry import loaded
from tests.cards.card_checks import all_content, assert_valid_card

HAN = re.compile(r"[\u4e00-\u9fff]")


def error(code: int | None, msg: str = "", **kw) -> OpenApiError:
    return OpenApiError("operation", code, msg, **kw)


# Every kind of Open API failure `explain` tells apart, with and without Feishu's log id.
ERRORS: dict[str, OpenApiError] = {
    **{f"code {code}": error(code, "msg", log_id="20260101LOG") for code in EXPLANATIONS},
    **{
        f"rate limit {code}": error(code, "request trigger frequency limit", http_status=429)
        for code in RATE_LIMITED_CODES
    },
    "no permission": error(
        NO_PERMISSION, "Access denied. One of the following scopes is required: [x].", log_id="L"
    ),
    "no permission, no msg": error(NO_PERMISSION),
    **{f"token {code}": error(code, "invalid access token") for code in TOKEN_CODES},
    "unreachable": error(None, "cannot reach Feishu: ConnectionError", transient=True),
    "unknown code": error(4242, "something new", log_id="L2"),
    "unknown code, no msg": error(4243),
}

UNTIL = stamp(datetime(2026, 1, 1, 15, 30, tzinfo=UTC), "Asia/Shanghai")
COMMAND = "/referral show 'x' 你好"


def usage_error(text: str) -> parser.UsageError:
    try:
        parser.parse(text)
    except parser.UsageError as exc:
        return exc
    raise AssertionError(f"{text!r} parsed")


WRONG = usage_error("/referral show not-an-id!")

# Every outcome card: (the builder in handlers.answers it exercises, or None, and the card).
OUTCOMES: dict[str, tuple[str | None, dict]] = {
    "not a command": ("not_a_command", answers.not_a_command(loaded().general_usage())),
    "not text": ("not_text", answers.not_text()),
    "usage error": ("wrong_command", answers.wrong_command(WRONG.problem, WRONG.usage)),
    "unknown mention": (
        "wrong_command",
        answers.wrong_command(answers.unknown_mention("@_user_3")),
    ),
    "not allowed": (None, not_allowed_card()),
    "no match, with register": (
        None,
        no_account_card("a@b.com", "/referral register a@b.com", {"action": "register"}),
    ),
    "no match, nothing to offer": (None, no_account_card("@Zhang San", None)),
    "uncertain, interrupted": ("uncertain_registration", answers.uncertain_registration()),
    "uncertain, server error": (
        "uncertain_registration",
        answers.uncertain_registration(error(SERVER_ERROR, "system error", http_status=500)),
    ),
    "uncertain, connection dropped": (
        "uncertain_registration",
        answers.uncertain_registration(error(None, "unreadable answer", log_id="L3")),
    ),
    "still trying": ("still_trying", answers.still_trying(UNTIL, "Asia/Shanghai")),
    "late answer": ("late_answer", answers.late_answer(COMMAND)),
    "maybe done": ("maybe_done", answers.maybe_done(COMMAND)),
    "not done": ("not_done", answers.not_done(COMMAND)),
    **{
        f"could not: {name}": ("could_not", answers.could_not(answers.explain(exc)))
        for name, exc in ERRORS.items()
    },
    **{
        f"uncertain: {name}": ("uncertain_registration", answers.uncertain_registration(exc))
        for name, exc in ERRORS.items()
    },
}


def assert_bilingual(card: dict) -> None:
    """Valid, and each language really written: Chinese where Chinese is read."""
    assert_valid_card(card)
    title = card["header"]["title"]["i18n_content"]
    assert title["en_us"] != title["zh_cn"]
    assert HAN.search(all_content(card, "zh_cn"))
    assert re.search(r"[A-Za-z]{3}", all_content(card, "en_us"))


@pytest.mark.parametrize("name", list(OUTCOMES))
def test_every_outcome_card_renders_in_both_languages(name: str) -> None:
    assert_bilingual(OUTCOMES[name][1])


def test_the_table_holds_every_card_builder_of_the_answers() -> None:
    builders = {
        name
        for name, func in inspect.getmembers(answers, inspect.isfunction)
        if func.__module__ == answers.__name__
        and not name.startswith("_")
        and inspect.signature(func).return_annotation in ("dict", dict)
    }
    assert builders == {builder for builder, _ in OUTCOMES.values() if builder}


@pytest.mark.parametrize("name", list(ERRORS))
def test_every_open_api_error_is_explained_in_both_languages(name: str) -> None:
    exc = ERRORS[name]
    text = answers.explain(exc)
    assert HAN.search(text.zh) and text.en != text.zh
    if exc.log_id:  # Feishu's support asks for it
        assert exc.log_id in text.en and exc.log_id in text.zh


def test_each_code_has_its_own_words() -> None:
    told = {answers.explain(error(code)).en for code in EXPLANATIONS}
    assert len(told) == len(EXPLANATIONS)
    assert "4242" in answers.explain(ERRORS["unknown code"]).en


def test_an_uncertain_register_says_why_and_never_that_nothing_changed() -> None:
    card = OUTCOMES["uncertain, server error"][1]
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert "server error (1002001)" in en and "may have taken effect" in en
    assert "Nothing was changed" not in en
    assert "1002001" in zh and "可能已经生效" in zh
    dropped = all_content(OUTCOMES["uncertain, connection dropped"][1], "en_us")
    assert "broke off" in dropped and "(log id L3)" in dropped


def test_still_trying_says_until_when() -> None:
    card = OUTCOMES["still trying"][1]
    assert card["header"]["template"] == "orange"
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert "until 2026-01-01 23:30 and" in en and "重试到 2026-01-01 23:30，" in zh
    # The time's zone, named once, in the footer.
    assert en.count("Asia/Shanghai") == 1 and "Times in Asia/Shanghai" in en
    assert zh.count("Asia/Shanghai") == 1 and "时间均为 Asia/Shanghai 时区" in zh


def test_sentences_join_without_a_blank_text() -> None:
    # A blank separator was the old way, and a blank Text is refused.
    with pytest.raises(ValueError):
        Text(" ", " ")
    joined = sentences(Text("One.", "一。"), Text("Two.", "二。"))
    assert (joined.en, joined.zh) == ("One. Two.", "一。二。")
