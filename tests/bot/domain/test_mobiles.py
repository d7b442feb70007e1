"""Mobiles with their country calling code (`bot.domain.mobiles`), and as the records keep them."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.accounts import Account, AccountStatus, Referrer
from bot.domain.mobiles import Mobile, mobile_key, parse_mobile, split_code, with_code
from bot.domain.people import MOBILE
from bot.records.store import AccountBook, Database

HONG_KONG = Mobile("852", "61234567")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+852 61234567", HONG_KONG),
        ("+85261234567", HONG_KONG),  # as the contact API writes it
        ("+852-6123-4567", HONG_KONG),
        ("+86 18900001111", Mobile("86", "18900001111")),
        ("+8618900001111", Mobile("86", "18900001111")),
        ("18900001111", Mobile("86", "18900001111")),  # a bare mainland number
        ("+14155550100", Mobile("1", "4155550100")),
        ("+447911123456", Mobile("44", "7911123456")),
        ("+9715012345678", Mobile("971", "5012345678")),
        ("+999 1234567", Mobile("999", "1234567")),  # no assigned code: as it was spaced
        ("61234567", None),  # bare digits of elsewhere: the code cannot be told
        ("+8 5261234567", HONG_KONG),  # 8 is no code; the digits say 852
        ("hire@open.com", None),
        ("", None),
    ],
)
def test_parse_mobile_tells_the_code_from_the_number(text, expected):
    assert parse_mobile(text) == expected


def test_a_code_given_apart_is_taken_as_given():
    assert parse_mobile("61234567", "+852") == HONG_KONG


def test_codes_split_one_way_only():
    assert split_code("85261234567") == HONG_KONG
    assert split_code("0123") is None


def test_mobiles_read_and_write_with_their_code():
    assert str(HONG_KONG) == "+852 61234567"
    assert HONG_KONG.key == mobile_key("+85261234567") == mobile_key("61234567", "852")
    assert mobile_key("18900001111") == "8618900001111"
    assert mobile_key("61234567") == "61234567"  # no code known: the digits alone


def test_with_code_takes_a_code_from_a_known_mobile_of_the_same_number():
    assert with_code("+85261234567") == "+852 61234567"
    assert with_code("18900001111") == "+86 18900001111"
    assert with_code("61234567", [Mobile("86", "18900001111"), HONG_KONG]) == "+852 61234567"
    assert with_code("61234567", [Mobile("853", "66666666")]) == "61234567"  # not made up


# --- in the records ---------------------------------------------------------------------------


def referrer(mobile: str) -> Referrer:
    return Referrer("ou_x", "陈大文", "Chan", None, mobile)


def test_the_records_keep_a_referrers_mobile_with_the_code_it_was_registered_with(tmp_path):
    book = AccountBook(Database(str(tmp_path / "bot.db")))
    book.remember(Account("1", AccountStatus.ENABLED), contact="+852 61234567")
    book.remember(Account("1", AccountStatus.ENABLED, referrer=referrer("61234567")))
    assert book.get("1").account.referrer.mobile == "+852 61234567"
    book.remember(Account("2", AccountStatus.ENABLED, referrer=referrer("+85298765432")))
    assert book.get("2").account.referrer.mobile == "+852 98765432"
    assert book.find_by(MOBILE, "85298765432") == ["2"]
    book.remember(Account("3", AccountStatus.ENABLED, referrer=referrer("61112222")))
    assert book.get("3").account.referrer.mobile == "61112222"  # no code to be told
    assert book.find_by(MOBILE, "61112222") == ["3"]


def test_rows_of_an_older_version_gain_the_code_on_start(tmp_path):
    path = str(tmp_path / "bot.db")
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE accounts (account_id TEXT PRIMARY KEY, contact TEXT, registered_by TEXT,"
        " registered_at TEXT, status INTEGER, points INTEGER, cash TEXT, referrer TEXT,"
        " seen_at TEXT)"
    )
    rows = [
        ("1", "+852 61234567", json.dumps(asdict(referrer("61234567")))),
        ("2", "hire@open.com", json.dumps(asdict(referrer("18900001111")))),
        ("3", "+8 5261110000", None),  # as register @person once split a +852 mobile
    ]
    conn.executemany(
        "INSERT INTO accounts (account_id, contact, status, points, cash, referrer)"
        " VALUES (?, ?, 1, 0, '[]', ?)",
        rows,
    )
    conn.commit()
    conn.close()
    book = AccountBook(Database(path))
    assert book.get("1").account.referrer.mobile == "+852 61234567"
    assert book.get("2").account.referrer.mobile == "+86 18900001111"
    assert book.get("3").contact == "+852 61110000"
    assert book.find_by(MOBILE, "85261234567") == ["1"]
    assert book.find_by(MOBILE, "85261110000") == ["3"]
    assert AccountBook(Database(path)).get("1") == book.get("1")  # once is enough


def test_the_version_grows_with_what_a_card_shows_only(tmp_path):
    book = AccountBook(Database(str(tmp_path / "bot.db")))
    book.remember(Account("1", AccountStatus.ENABLED, referrer=referrer("+85261234567")))
    first = book.get("1").version
    book.remember(Account("1", AccountStatus.ENABLED))  # read again, nothing changed
    assert book.get("1").version == first
    book.remember(Account("1", AccountStatus.DISABLED))
    assert book.get("1").version == first + 1
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert book.apply_balance("1", 300, (), later)
    assert book.get("1").version == first + 2
