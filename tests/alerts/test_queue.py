"""The outbox as a work queue: claims, backoff on an injected clock, dead letters, recovery, concurrency."""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from hemewatch.alerts.queue import (
    backoff_delay,
    claim_deliveries,
    complete_delivery,
    list_deliveries,
    release_orphaned_claims,
    retry_deliveries,
)
from hemewatch.storage.engine import open_database
from hemewatch.storage.tables import deliveries, delivery_attempts
from tests.alerts.world import NOW, add_tracker, make_event, seed_trials, store_and_enqueue

CHANNELS = ["email", "webhook", "apprise"]


def queue(engine: Engine, trackers: int = 1) -> None:
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)
        for i in range(trackers):
            add_tracker(conn, f"Tracker {i}", cadence="immediate")
        store_and_enqueue(conn, [make_event(n) for n in nct_ids])


def status_of(engine: Engine, delivery_id: int) -> tuple[str, int, datetime, str | None]:
    with engine.connect() as conn:
        row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).one()
    next_at = (
        row.next_attempt_at if row.next_attempt_at.tzinfo else row.next_attempt_at.replace(tzinfo=NOW.tzinfo)
    )
    return row.status, row.attempts, next_at, row.last_error


def test_backoff_doubles_up_to_a_day() -> None:
    assert [backoff_delay(n, first=60).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff_delay(30, first=60) == timedelta(days=1)


def test_a_failing_delivery_backs_off_then_dies_and_can_be_retried(engine: Engine) -> None:
    queue(engine)
    clock = NOW
    with engine.begin() as conn:
        [claim] = claim_deliveries(conn, worker="w", now=clock, limit=1, channels=CHANNELS)
    waits = []
    for attempt in range(1, 4):
        assert claim.attempt == attempt
        with engine.begin() as conn:
            status = complete_delivery(
                conn, claim, now=clock, error="421 try later", max_attempts=3, backoff_seconds=60
            )
        state, attempts, next_at, error = status_of(engine, claim.delivery_id)
        assert (state, attempts, error) == (status, attempt, "421 try later")
        if status == "dead":
            break
        waits.append((next_at - clock).total_seconds())
        with engine.begin() as conn:
            # Not due yet: nothing to claim a second before the backoff ends.
            early = claim_deliveries(
                conn, worker="w", now=next_at - timedelta(seconds=1), limit=10, channels=CHANNELS
            )
            assert claim.delivery_id not in [c.delivery_id for c in early]
            for other in early:
                complete_delivery(conn, other, now=clock, error=None, max_attempts=3, backoff_seconds=60)
            clock = next_at
            [claim] = claim_deliveries(conn, worker="w", now=clock, limit=1, channels=CHANNELS)
    assert waits == [60, 120]
    assert status_of(engine, claim.delivery_id)[0] == "dead"
    with engine.begin() as conn:
        failed = list_deliveries(conn, failed=True)
        assert [(d.id, d.status) for d in failed] == [(claim.delivery_id, "dead")]
        assert conn.execute(select(func.count()).select_from(delivery_attempts)).scalar_one() >= 3
        assert retry_deliveries(conn, now=clock) == 1
        assert retry_deliveries(conn, now=clock) == 0
    assert status_of(engine, claim.delivery_id)[:2] == ("pending", 0)
    with engine.begin() as conn:
        [again] = claim_deliveries(conn, worker="w", now=clock, limit=1, channels=CHANNELS)
        assert again.delivery_id == claim.delivery_id
        assert (
            complete_delivery(conn, again, now=clock, error=None, max_attempts=3, backoff_seconds=60)
            == "sent"
        )
        assert list_deliveries(conn, failed=True) == []


def test_a_claim_of_a_dead_worker_on_this_host_is_released(engine: Engine) -> None:
    queue(engine)
    with engine.begin() as conn:
        [claim] = claim_deliveries(conn, worker="box:4242:aa", now=NOW, limit=1, channels=CHANNELS)
        assert release_orphaned_claims(conn, now=NOW, max_attempts=8, host="box", alive=lambda pid: True) == 0
        assert (
            release_orphaned_claims(conn, now=NOW, max_attempts=8, host="other", alive=lambda pid: False) == 0
        )
        assert (
            release_orphaned_claims(conn, now=NOW, max_attempts=8, host="box", alive=lambda pid: pid != 4242)
            == 1
        )
    state, attempts, _, error = status_of(engine, claim.delivery_id)
    assert state == "pending" and attempts == 1 and error is not None and "interrupted" in error
    with engine.begin() as conn:
        # A process id reused by this very process (a restarted container) does not keep a claim alive.
        mine = f"box:{os.getpid()}:aa"
        claim_deliveries(conn, worker=mine, now=NOW, limit=1, channels=CHANNELS)
        assert release_orphaned_claims(conn, now=NOW, max_attempts=8, worker=mine, host="box") == 0
        assert (
            release_orphaned_claims(conn, now=NOW, max_attempts=8, worker=f"box:{os.getpid()}:bb", host="box")
            == 1
        )
    with engine.begin() as conn:
        # Its old claim token no longer counts: a late completion changes nothing.
        assert (
            complete_delivery(conn, claim, now=NOW, error=None, max_attempts=8, backoff_seconds=60) == "lost"
        )


def test_an_expired_lease_is_claimed_again(engine: Engine) -> None:
    queue(engine)
    with engine.begin() as conn:
        first = claim_deliveries(conn, worker="far:1:aa", now=NOW, limit=10, channels=CHANNELS)
        assert len(first) == 4
        assert (
            claim_deliveries(conn, worker="w", now=NOW + timedelta(minutes=14), limit=10, channels=CHANNELS)
            == []
        )
        again = claim_deliveries(
            conn, worker="w", now=NOW + timedelta(minutes=16), limit=10, channels=CHANNELS
        )
    assert sorted(c.delivery_id for c in again) == sorted(c.delivery_id for c in first)
    assert {c.attempt for c in again} == {2}


def test_claims_only_take_channels_that_can_be_sent(engine: Engine) -> None:
    queue(engine)
    with engine.begin() as conn:
        assert claim_deliveries(conn, worker="w", now=NOW, limit=10, channels=["webhook"]) == []


def test_two_workers_never_claim_the_same_delivery(engine: Engine) -> None:
    queue(engine, trackers=3)  # 12 deliveries
    if engine.dialect.name != "postgresql":
        # SQLite has one writer: the second claim waits for the first to commit, then skips its rows.
        with engine.begin() as conn:
            first = claim_deliveries(conn, worker="a", now=NOW, limit=5, channels=CHANNELS)
        with engine.begin() as conn:
            second = claim_deliveries(conn, worker="b", now=NOW, limit=20, channels=CHANNELS)
        assert len(first) == 5 and len(second) == 7
        assert not {c.delivery_id for c in first} & {c.delivery_id for c in second}
        return
    # PostgreSQL: worker A holds its claim transaction open; B claims meanwhile, without waiting.
    with engine.connect() as a, engine.connect() as b, a.begin():
        first = claim_deliveries(a, worker="a", now=NOW, limit=5, channels=CHANNELS)
        with b.begin():
            b.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
            second = claim_deliveries(b, worker="b", now=NOW, limit=20, channels=CHANNELS)
    assert len(first) == 5
    assert not {c.delivery_id for c in first} & {c.delivery_id for c in second}
    # Deliveries of a notification A locked are skipped by B, never taken twice.
    with engine.begin() as conn:
        rest = claim_deliveries(conn, worker="c", now=NOW, limit=20, channels=CHANNELS)
    claimed = [c.delivery_id for c in first + second + rest]
    assert len(claimed) == len(set(claimed)) == 12


@pytest.mark.postgres
def test_many_concurrent_workers_on_postgresql(postgres_url: str) -> None:
    engine = open_database(postgres_url)
    try:
        queue(engine, trackers=10)  # 40 deliveries
        barrier = threading.Barrier(4)
        taken: list[list[int]] = [[] for _ in range(4)]

        def work(index: int) -> None:
            barrier.wait()
            while True:
                with engine.begin() as conn:
                    claims = claim_deliveries(conn, worker=f"w{index}", now=NOW, limit=2, channels=CHANNELS)
                if not claims:
                    return
                taken[index].extend(c.delivery_id for c in claims)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        everything = [i for ids in taken for i in ids]
        assert len(everything) == len(set(everything)) == 40
    finally:
        engine.dispose()
