"""The once-only guarantees of the records, on both engines: a SQLite file and a PostgreSQL
database. Each `Database` here stands for a replica (its own pool of connections, its own
owner id); threads race them against each other the way replicas on two hosts would."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from bot.domain.accounts import Cash
from bot.domain.withdrawals import Amounts, Kind, State
from bot.records.digests import DigestRecords
from bot.records.inbox import DONE, QUEUED, WORKING, Inbox, Press
from bot.records.liveness import STALE_AFTER, Liveness
from bot.records.reconciliations import ReconcileRecords
from bot.records.schema import owners
from bot.records.store import Database, Welcomes, to_iso, utcnow
from bot.records.withdrawals import WithdrawalBook
from tests.conftest import ENGINES

pytestmark = pytest.mark.parametrize("records_db", ENGINES, indirect=True)
RACERS = 8


@pytest.fixture
def replicas(records_db: str) -> Iterator[Callable[[], Database]]:
    """Opens the records as another replica would; closes them all at the end."""
    opened: list[Database] = []

    def open_one() -> Database:
        database = Database(records_db, busy_timeout=10)
        opened.append(database)
        return database

    yield open_one
    for database in opened:
        database.close()


def race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls at once (each waits for all to be ready), their results in order."""
    start = threading.Barrier(len(calls))

    def go(call: Callable[[], object]) -> object:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


def beat(database: Database, owner: str, *, ago: timedelta = timedelta()) -> None:
    """`owner` beat `ago` ago (long enough ago: it is dead)."""
    Liveness(database, owner).beat()
    database.run(
        owners.update().where(owners.c.owner == owner).values(beat_at=to_iso(utcnow() - ago))
    )


# --- the inbox ---------------------------------------------------------------------------------
def test_an_event_is_taken_in_once_by_event_id_and_by_message_id(replicas):
    one, two = Inbox(replicas()), Inbox(replicas())
    taken = race(
        *(lambda i=i: (one, two)[i % 2].accept("ev1", "im.message", "{}", "m1") for i in range(8))
    )
    assert taken.count(True) == 1
    assert not one.accept("ev2", "im.message", "{}", "m1")  # the same message again
    assert one.counts() == {QUEUED: 1}


def test_replicas_racing_claim_each_event_once(replicas):
    first = Inbox(replicas(), "first")
    for n in range(40):
        assert first.accept(f"ev{n}", "im.message", "{}", f"m{n}")
    inboxes = [first, Inbox(replicas(), "second")]

    def drain(inbox: Inbox) -> list[str]:
        got = []
        while (event := inbox.claim()) is not None:
            got.append(event.event_id)
            assert inbox.finish(event.event_id)
        return got

    claimed = race(*(lambda i=i: drain(inboxes[i % 2]) for i in range(RACERS)))
    every = [event_id for got in claimed for event_id in got]
    assert sorted(every) == sorted(f"ev{n}" for n in range(40))  # each once, none lost
    assert first.counts() == {DONE: 40}


def test_claims_go_oldest_first_and_wait_out_their_time(replicas):
    inbox = Inbox(replicas(), "me")
    inbox.enqueue("bot.later", {}, key="later", delay=timedelta(hours=1))
    for n in range(3):
        inbox.accept(f"ev{n}", "im.message", "{}", f"m{n}")
    assert [inbox.claim().event_id for _ in range(3)] == ["ev0", "ev1", "ev2"]
    assert inbox.claim() is None  # the delayed one is not due


def test_a_dead_owners_claims_are_taken_back_and_a_live_owners_never(replicas):
    dead_db, live_db, survivor_db = replicas(), replicas(), replicas()
    dead, live, survivor = Inbox(dead_db, "dead"), Inbox(live_db, "live"), Inbox(survivor_db, "s")
    for n in range(2):
        survivor.accept(f"ev{n}", "im.message", "{}", f"m{n}")
    assert dead.claim().event_id == "ev0"
    assert live.claim().event_id == "ev1"
    beat(dead_db, "dead", ago=STALE_AFTER * 2)
    beat(live_db, "live")
    assert survivor.requeue_orphans() == 1
    assert survivor.claim().event_id == "ev0"
    assert not dead.finish("ev0")  # the dead owner's late outcome changes nothing
    assert survivor.finish("ev0")
    assert survivor.event("ev1")["status"] == WORKING and survivor.event("ev1")["owner"] == "live"


def test_a_release_puts_the_claim_back_uncounted(replicas):
    inbox = Inbox(replicas(), "me")
    inbox.accept("ev", "im.message", "{}", "m")
    inbox.claim()
    assert inbox.release("ev")
    event = inbox.claim()
    assert event.attempts == 1


def test_a_press_is_carried_out_once_across_replicas(replicas):
    inboxes = [Inbox(replicas(), f"r{n}") for n in range(2)]
    for n, inbox in enumerate(inboxes):
        beat(inbox._database, f"r{n}")
    results = race(*(lambda i=i: inboxes[i % 2].begin_press("cb1", "card") for i in range(8)))
    assert results.count(Press.NEW) == 1 and set(results) == {Press.NEW, Press.BUSY}
    owner = next(i for i, r in zip(range(8), results, strict=True) if r is Press.NEW) % 2
    inboxes[owner].end_press("cb1", ok=True)
    assert inboxes[1 - owner].begin_press("cb1", "card") is Press.DONE


def test_a_press_left_by_a_dead_replica_is_taken_once(replicas):
    dead = Inbox(replicas(), "dead")
    assert dead.begin_press("cb", "card") is Press.NEW
    beat(dead._database, "dead", ago=STALE_AFTER * 2)
    takers = [Inbox(replicas(), f"t{n}") for n in range(2)]
    for n, inbox in enumerate(takers):
        beat(inbox._database, f"t{n}")
    results = race(*(lambda i=i: takers[i % 2].begin_press("cb", "card") for i in range(8)))
    assert results.count(Press.RETAKEN) == 1 and set(results) == {Press.RETAKEN, Press.BUSY}


def test_once_markers_and_the_answer_are_decided_once(replicas):
    inbox = Inbox(replicas())
    inbox.accept("ev", "im.message", "{}", "m")
    other = Inbox(replicas())
    assert (
        race(*(lambda i=i: (inbox, other)[i % 2].begin_once("ev") for i in range(8))).count(True)
        == 1
    )
    ways = race(*(lambda i=i: (inbox, other)[i % 2].claim_answer("ev", str(i)) for i in range(8)))
    assert len(set(ways)) == 1


def test_a_welcome_goes_out_once(replicas):
    welcomes = [Welcomes(replicas()) for _ in range(2)]
    taken = race(*(lambda i=i: welcomes[i % 2].take("ou_1", f"ev{i}") for i in range(8)))
    assert taken.count(True) == 1


# --- leases ------------------------------------------------------------------------------------
@pytest.mark.parametrize("records", [DigestRecords, ReconcileRecords])
def test_a_scheduled_run_is_leased_once_and_taken_from_a_dead_holder(replicas, records):
    fire = utcnow().replace(microsecond=0)
    books = [records(replicas()) for _ in range(2)]
    for n, book in enumerate(books):
        beat(book._database, f"h{n}")

    def lease(i: int) -> int | None:
        if records is DigestRecords:
            return books[i % 2].lease_scheduled(fire, f"h{i % 2}")
        return books[i % 2].lease_scheduled(fire, f"h{i % 2}", fire.date(), fire.date())

    got = race(*(lambda i=i: lease(i) for i in range(8)))
    winners = {i % 2 for i, run in enumerate(got) if run is not None}
    assert len(winners) == 1  # one holder (which may ask again and keep it)
    (holder,) = winners
    run_id = next(run for run in got if run is not None)
    assert lease(1 - holder) is None  # the other is refused while the holder beats
    beat(books[holder]._database, f"h{holder}", ago=STALE_AFTER * 2)  # the holder dies
    assert lease(1 - holder) == run_id  # the same run, taken over
    posts = books[0].chat_posts
    assert posts.lease_post(fire, "oc_1", run_id, f"h{1 - holder}")
    assert not posts.lease_post(fire, "oc_1", run_id, f"h{holder}")
    posts.end_post(fire, "oc_1", message_id="om_1")
    assert not posts.lease_post(fire, "oc_1", run_id, f"h{1 - holder}")  # posted: never again


def test_digest_snapshots_and_totals_read_the_same_on_both(replicas):
    from bot.domain.accounts import Account, AccountStatus

    book = DigestRecords(replicas())
    fire = utcnow().replace(microsecond=0)
    run = book.lease_scheduled(fire, "me")
    accounts = [Account("1", AccountStatus.ENABLED, 10, (Cash("CNY", Decimal("1.50")),))]
    book.save_snapshots(run, accounts, fire)
    book.finish(run, accounts=1, fetched=1, failures=[], chats_posted=[], chats_failed=[])
    later = book.start_on_demand("me")
    assert book.latest_snapshots(later) == {"1": accounts[0]}
    ((moment, totals),) = book.scheduled_totals()
    assert moment == fire and totals.points == 10
    assert book.snapshot_count(run) == 1 and book.prune_snapshots() == 0


# --- withdrawals -------------------------------------------------------------------------------
def test_one_open_request_per_account_and_one_approval_with_one_order_id(replicas):
    books = [WithdrawalBook(replicas()) for _ in range(2)]
    amounts = Amounts(800, (Cash("CNY", Decimal("100.00")),))

    def ask(i: int):
        return books[i % 2].create("acc", Kind.ALL, amounts, requested_by="ou_a", chat_id="oc")

    made = [w for w in race(*(lambda i=i: ask(i) for i in range(8))) if w is not None]
    assert len(made) == 1
    request = made[0]
    queued: list[str] = []
    orders = race(
        *(
            lambda i=i: books[i % 2].approve(request.id, f"ou_{i}", then=queued.append)
            for i in range(8)
        )
    )
    (order_id,) = [o for o in orders if o is not None]
    assert queued == [order_id]
    approved = books[1].get(request.id)
    assert approved.state is State.APPROVED and approved.order_id == order_id
    assert books[0].withdrawn(request.id, utcnow(), amounts)
    assert books[1].points_between(utcnow() - timedelta(hours=1), utcnow()) == {"acc": 800}
    assert books[0].history("acc")[1] == 1


def test_an_approval_whose_then_fails_is_not_recorded(replicas):
    book = WithdrawalBook(replicas())
    request = book.create("acc", Kind.ALL, Amounts(1, ()), requested_by="ou_a", chat_id=None)

    def fail(_order_id: str) -> None:
        raise RuntimeError("the follow-up could not be queued")

    with pytest.raises(RuntimeError):
        book.approve(request.id, "ou_b", then=fail)
    assert book.get(request.id).state is State.REQUESTED and book.get(request.id).order_id is None


def test_work_queued_by_a_then_is_part_of_its_transaction(replicas):
    database = replicas()
    book, inbox = WithdrawalBook(database), Inbox(database)
    request = book.create("acc", Kind.ALL, Amounts(1, ()), requested_by="ou_a", chat_id=None)

    def queue_then_fail(order_id: str) -> None:
        inbox.enqueue("bot.withdraw", {"order": order_id}, key=order_id, notify=False)
        raise RuntimeError("cut off")

    with pytest.raises(RuntimeError):
        book.approve(request.id, "ou_b", then=queue_then_fail)
    assert inbox.counts(internal=True) == {}  # the queued work went with the approval


# --- the schema --------------------------------------------------------------------------------
def test_replicas_opening_a_new_database_at_once_migrate_it_once(records_db):
    opened = race(*(lambda: Database(records_db, busy_timeout=30) for _ in range(4)))
    try:
        with opened[0].engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        assert [v for (v,) in versions] == ["0001"]
    finally:
        for database in opened:
            database.close()
