"""The referral and reward records: asked once per application, changes taken in update_time
order, tellings claimed per batch, requests made once per asking and approved once."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from bot.domain.referrals import Application, Kind, ReferralOf, Stage
from bot.domain.rewards import RULE_HIRED, Amount
from bot.records.referrals import ReferralBook
from bot.records.rewards import RewardBook
from bot.records.store import Database
from tests.conftest import ENGINES

OF = ReferralOf("r1", "a1", "ou_ref", "王芳", "Wang Fang")


def app(stage_type: int, active: bool = True) -> Application:
    return Application(
        "a1", "j1", "Backend", "t1", "李四", Stage(f"s{stage_type}", "", "", stage_type), active
    )


# On both engines: a SQLite file and a PostgreSQL database.
pytestmark = pytest.mark.parametrize("records_db", ENGINES, indirect=True)


@pytest.fixture
def database(records_db) -> Database:
    db = Database(records_db)
    yield db
    db.close()


def test_an_application_is_asked_about_once_either_way(database):
    book = ReferralBook(database)
    assert book.checked("a1") == (False, None)
    book.note_check("a2", None)
    assert book.checked("a2") == (True, None)
    book.note_check("a1", OF)
    assert book.checked("a1") == (True, OF)


def test_changes_are_taken_in_update_time_order(database):
    book = ReferralBook(database)
    first = book.record(OF, app(2), 1000)
    assert first is not None and first.kind is Kind.STAGE and first.previous is None
    assert book.record(OF, app(4), 1000) is None  # as new: a redelivery
    assert book.record(OF, app(1), 900) is None  # older
    hired = book.record(OF, app(7), 2000)
    assert hired.kind is Kind.HIRED and hired.previous.stage.type == 2
    ended = book.record(OF, app(7, active=False), 3000)
    assert ended.kind is Kind.ENDED
    assert [(s.type, active) for s, active, _ in book.history("a1")] == [
        (2, True),
        (7, True),
        (7, False),
    ]


def test_a_batch_claims_what_is_untold_and_a_retry_sends_the_same(database):
    book = ReferralBook(database)
    firsts = []

    def tell(db, change):
        firsts.append(book.add_telling(db, change))

    book.record(OF, app(2), 1000, then=tell)
    book.record(OF, app(4), 2000, then=tell)
    assert firsts[0] is not None and firsts[1] is None  # one batch for the referrer
    batch = str(firsts[0])
    claimed = book.claim("ou_ref", batch)
    book.record(OF, app(5), 3000, then=tell)  # comes while the batch is out
    assert [t.id for t in book.claim("ou_ref", batch)] == [t.id for t in claimed]
    following = book.told("ou_ref", batch)
    assert following is not None and book.untold() == 1


def test_a_request_is_made_once_per_asking_and_approved_once(database):
    book = RewardBook(database)
    fields = dict(
        account_id="6900001",
        referrer_open_id="ou_ref",
        amount=Amount("CNY", Decimal("3000.00")),
        reason="hired",
        requested_by="ou_admin",
        chat_id="oc_hr",
        application_id="a1",
        rule_type=RULE_HIRED,
    )
    made = book.create(**fields, asked_in="ev1")
    assert book.create(**fields, asked_in="ev1").id == made.id
    assert book.create(**fields, asked_in="ev2") is None  # the hire has its request
    queued: list[str] = []
    results: list[str | None] = []

    def approve(who: str) -> None:
        results.append(book.approve(made.id, who, then=queued.append))

    threads = [threading.Thread(target=approve, args=(w,)) for w in ("ou_a", "ou_b", "ou_c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (external_id,) = [r for r in results if r]
    assert queued == [external_id] and book.get(made.id).external_id == external_id
