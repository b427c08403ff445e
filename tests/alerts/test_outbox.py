"""Queueing deliveries with the events: who gets what, in which period, exactly once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.engine import Connection

from hemewatch.alerts import TrackerSpec, create_tracker, enqueue_deliveries
from hemewatch.alerts.queue import claim_deliveries
from hemewatch.history import EventType, Severity
from hemewatch.storage.tables import deliveries, tracker_events, tracker_notifications, trials
from tests.alerts.world import CREATED, NOW, add_tracker, make_event, seed_trials, store_and_enqueue


def notifications(conn: Connection) -> list[Any]:
    return list(
        conn.execute(
            select(tracker_notifications).order_by(
                tracker_notifications.c.tracker_id, tracker_notifications.c.id
            )
        )
    )


def events_of(conn: Connection, notification_id: int) -> list[int]:
    rows = conn.execute(
        select(tracker_events.c.event_id)
        .where(tracker_events.c.notification_id == notification_id)
        .order_by(tracker_events.c.event_id)
    )
    return [int(r) for r in rows.scalars()]


def test_events_reach_the_trackers_whose_filters_they_pass(engine: Engine) -> None:
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)  # AML/CD33, B-ALL/CD19, T-ALL/CD7, AML/CD123
        everything = add_tracker(conn, "Everything")
        aml = add_tracker(conn, "AML", diseases=("AML",), webhook_url="https://hooks.example.org/aml")
        cd19 = add_tracker(
            conn, "CD19", targets=("CD19",), email_enabled=False, apprise_urls=("json://example.org/x",)
        )
        add_tracker(conn, "Results only", event_types=("results_posted",))
        add_tracker(conn, "Critical only", min_severity="critical")
        add_tracker(conn, "Other trial", nct_ids=("NCT99999999",))
        events = [make_event(n) for n in nct_ids[:2]]
        stored, queued = store_and_enqueue(conn, events)
        rows = notifications(conn)
        by_tracker = {row.tracker_id: row for row in rows}
        assert set(by_tracker) == {everything.id, aml.id, cd19.id}
        assert events_of(conn, by_tracker[everything.id].id) == [s.id for s in stored]
        assert events_of(conn, by_tracker[aml.id].id) == [stored[0].id]
        assert events_of(conn, by_tracker[cd19.id].id) == [stored[1].id]
        targets = {
            (r.channel, r.target) for r in conn.execute(select(deliveries.c.channel, deliveries.c.target))
        }
    assert targets == {
        ("email", "everything@example.org"),
        ("email", "aml@example.org"),
        ("webhook", "https://hooks.example.org/aml"),
        ("apprise", "json://example.org/x"),
    }
    assert queued == 4
    assert by_tracker[aml.id].period == "2026-11-21"
    assert by_tracker[aml.id].idempotency_key == f"hw-{aml.uid}-2026-11-21"


def test_enqueueing_the_same_events_again_queues_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)
        add_tracker(conn, "Everything")
        stored, queued = store_and_enqueue(conn, [make_event(nct_ids[0])])
        assert queued == 1
        assert enqueue_deliveries(conn, stored, now=NOW) == 0
        assert len(notifications(conn)) == 1
        assert len(conn.execute(select(tracker_events)).all()) == 1


def test_trackers_get_only_events_detected_after_they_were_created(engine: Engine) -> None:
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)
        add_tracker(conn, "Late", created=NOW + timedelta(minutes=1))
        create_tracker(
            conn, TrackerSpec(name="Unconfirmed", email="u@example.org"), now=CREATED, confirmed=False
        )
        _, queued = store_and_enqueue(conn, [make_event(nct_ids[0])])
        assert queued == 0 and notifications(conn) == []


def test_administrative_churn_is_never_queued(engine: Engine) -> None:
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)
        add_tracker(conn, "Everything")
        event = make_event(nct_ids[0], kind=EventType.RECORD_REFRESHED, severity=Severity.ADMINISTRATIVE)
        assert store_and_enqueue(conn, [event])[1] == 0


def test_a_daily_digest_collects_the_day_until_it_is_claimed(engine: Engine) -> None:
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)
        tracker = add_tracker(conn, "Everything")
        first, queued = store_and_enqueue(conn, [make_event(nct_ids[0])])
        assert queued == 1
        # A second sync the same day joins the digest that has not been sent yet.
        second, queued = store_and_enqueue(
            conn, [make_event(nct_ids[1], detected_at=NOW + timedelta(hours=2))], now=NOW + timedelta(hours=2)
        )
        assert queued == 0
        [row] = notifications(conn)
        assert events_of(conn, row.id) == [first[0].id, second[0].id]
    with engine.begin() as conn:
        claims = claim_deliveries(
            conn, worker="w", now=NOW + timedelta(hours=3), limit=10, channels=["email"]
        )
        assert [c.idempotency_key for c in claims] == [f"hw-{tracker.uid}-2026-11-21"]
    with engine.begin() as conn:
        # Once claimed, the digest is sealed: later events of the day go into a second part.
        third, queued = store_and_enqueue(
            conn, [make_event(nct_ids[2], detected_at=NOW + timedelta(hours=4))], now=NOW + timedelta(hours=4)
        )
        assert queued == 1
        rows = notifications(conn)
        assert [(r.period, r.part, r.idempotency_key) for r in rows] == [
            ("2026-11-21", 1, f"hw-{tracker.uid}-2026-11-21"),
            ("2026-11-21", 2, f"hw-{tracker.uid}-2026-11-21-2"),
        ]
        assert events_of(conn, rows[1].id) == [third[0].id]
        # The next day is a new digest.
        store_and_enqueue(conn, [make_event(nct_ids[3], detected_at=NOW + timedelta(days=1))])
        assert notifications(conn)[-1].period == "2026-11-22"


def test_immediate_sends_one_delivery_per_event(engine: Engine) -> None:
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)
        tracker = add_tracker(conn, "Now", cadence="immediate")
        stored, queued = store_and_enqueue(conn, [make_event(n) for n in nct_ids])
        assert queued == 4
        keys = [r.idempotency_key for r in notifications(conn)]
    assert keys == [f"hw-{tracker.uid}-event-{s.id}" for s in stored]


def test_a_weekly_digest_is_not_due_before_the_week_ends(engine: Engine) -> None:
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)
        add_tracker(conn, "Weekly", cadence="weekly")
        store_and_enqueue(conn, [make_event(nct_ids[0])])
        store_and_enqueue(conn, [make_event(nct_ids[1], detected_at=NOW + timedelta(days=1))])
        [row] = notifications(conn)
        assert row.period == "2026-W47" and len(events_of(conn, row.id)) == 2
        sunday = NOW + timedelta(days=1, hours=17)
        assert claim_deliveries(conn, worker="w", now=sunday, limit=10, channels=["email"]) == []
        monday = NOW + timedelta(days=2)
        assert len(claim_deliveries(conn, worker="w", now=monday, limit=10, channels=["email"])) == 1


def test_a_feed_only_tracker_keeps_its_events_without_deliveries(engine: Engine) -> None:
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)
        add_tracker(conn, "Feed", email_enabled=False)
        _, queued = store_and_enqueue(conn, [make_event(nct_ids[0])])
        assert queued == 0
        assert len(conn.execute(select(tracker_events)).all()) == 1


def test_trial_outside_the_scope_only_alerts_that_it_left(engine: Engine) -> None:
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)
        add_tracker(conn, "Everything", cadence="immediate")
        conn.execute(update(trials).where(trials.c.nct_id == nct_ids[0]).values(in_scope=False))
        events = [
            make_event(nct_ids[0]),
            make_event(nct_ids[0], kind=EventType.LEFT_SCOPE, severity=Severity.CRITICAL),
        ]
        stored, queued = store_and_enqueue(conn, events)
        assert queued == 1
        assert events_of(conn, notifications(conn)[0].id) == [stored[1].id]
