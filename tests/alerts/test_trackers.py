"""Trackers in the database: create, find by token, update, confirm, unsubscribe, delete."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from hemewatch.alerts import (
    AmbiguousTracker,
    InvalidTracker,
    TrackerNotFound,
    TrackerSpec,
    confirm_tracker,
    create_tracker,
    delete_tracker,
    find_tracker,
    get_tracker,
    get_tracker_by_feed_token,
    get_tracker_by_manage_token,
    list_trackers,
    reissue_manage_token,
    unsubscribe_tracker,
    update_tracker,
)
from hemewatch.alerts.tokens import hash_token
from hemewatch.storage.tables import deliveries, trackers
from tests.alerts.world import CREATED, NOW, make_event, seed_trials, store_and_enqueue

SPEC = TrackerSpec(name="CD19 CAR-T", email="reader@example.org", targets=("CD19",), modalities=("CAR-T",))


def test_a_web_tracker_waits_for_confirmation(engine: Engine) -> None:
    with engine.begin() as conn:
        tracker = create_tracker(conn, SPEC, now=CREATED, confirmed=False)
    assert tracker.status == "unconfirmed" and not tracker.active
    assert tracker.manage_token and tracker.confirm_token
    with engine.begin() as conn:
        assert get_tracker_by_manage_token(conn, tracker.manage_token) == get_tracker(conn, tracker.id)
        assert get_tracker_by_manage_token(conn, "wrong") is None
        assert confirm_tracker(conn, "wrong") is None
        confirmed = confirm_tracker(conn, tracker.confirm_token, now=CREATED + timedelta(minutes=5))
        assert confirmed is not None and confirmed.active
        assert confirmed.confirmed_at == CREATED + timedelta(minutes=5)
        # A second click on the link is harmless.
        again = confirm_tracker(conn, tracker.confirm_token)
        assert again is not None and again.confirmed_at == confirmed.confirmed_at


def test_secret_tokens_are_stored_hashed(engine: Engine) -> None:
    with engine.begin() as conn:
        tracker = create_tracker(conn, SPEC, now=CREATED, confirmed=False)
        row = conn.execute(select(trackers).where(trackers.c.id == tracker.id)).one()
    assert tracker.manage_token is not None and tracker.confirm_token is not None
    values = [str(v) for v in row]
    assert tracker.manage_token not in values and tracker.confirm_token not in values
    assert row.manage_token_hash == hash_token(tracker.manage_token)
    assert len(tracker.manage_token) >= 43  # secrets.token_urlsafe(32)


def test_cli_trackers_are_confirmed_at_once_and_listed(engine: Engine) -> None:
    with engine.begin() as conn:
        first = create_tracker(conn, SPEC, now=CREATED, confirmed=True)
        create_tracker(conn, TrackerSpec(name="All", email="b@example.org"), now=CREATED, confirmed=True)
        assert first.active and first.confirm_token is None
        assert [t.name for t in list_trackers(conn)] == ["All", "CD19 CAR-T"]
        loaded = get_tracker(conn, first.id)
    assert loaded is not None and loaded.spec == first.spec and loaded.manage_token is None
    assert loaded.spec.targets == ("CD19",) and loaded.spec.modalities == ("CAR-T",)


def test_names_are_unique_per_owner(engine: Engine) -> None:
    with engine.begin() as conn:
        create_tracker(conn, SPEC, now=CREATED, confirmed=True)
        with pytest.raises(InvalidTracker, match="already has a tracker named 'CD19 CAR-T'"):
            create_tracker(conn, SPEC, now=CREATED, confirmed=True)
        create_tracker(
            conn, TrackerSpec(name="CD19 CAR-T", email="other@example.org"), now=CREATED, confirmed=True
        )
        with pytest.raises(AmbiguousTracker, match="add --email"):
            find_tracker(conn, "CD19 CAR-T")
        assert find_tracker(conn, "CD19 CAR-T", email="other@example.org").email == "other@example.org"
        with pytest.raises(TrackerNotFound):
            find_tracker(conn, "nothing")


def test_update_keeps_tokens_and_asks_to_confirm_a_new_address(engine: Engine) -> None:
    with engine.begin() as conn:
        tracker = create_tracker(conn, SPEC, now=CREATED, confirmed=True)
        narrower = TrackerSpec(**{**SPEC.__dict__, "cadence": "weekly", "countries": ("France",)})
        updated = update_tracker(conn, tracker.id, narrower, now=NOW)
        assert updated.spec.cadence == "weekly" and updated.spec.countries == ("France",)
        assert updated.active and updated.confirm_token is None
        assert updated.feed_token == tracker.feed_token
        moved = update_tracker(
            conn, tracker.id, TrackerSpec(**{**narrower.__dict__, "email": "new@example.org"})
        )
        assert moved.status == "unconfirmed" and moved.confirm_token is not None
        assert confirm_tracker(conn, moved.confirm_token) is not None
        with pytest.raises(TrackerNotFound):
            update_tracker(conn, 999_999, SPEC)


def test_feed_token_opens_the_feed_unless_switched_off(engine: Engine) -> None:
    with engine.begin() as conn:
        tracker = create_tracker(conn, SPEC, now=CREATED, confirmed=True)
        assert get_tracker_by_feed_token(conn, tracker.feed_token) == get_tracker(conn, tracker.id)
        assert get_tracker_by_feed_token(conn, tracker.feed_token[:-1]) is None
        update_tracker(conn, tracker.id, TrackerSpec(**{**SPEC.__dict__, "feed_enabled": False}))
        assert get_tracker_by_feed_token(conn, tracker.feed_token) is None


def test_unsubscribe_stops_the_tracker_and_cancels_what_was_queued(engine: Engine) -> None:
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)
        tracker = create_tracker(
            conn, TrackerSpec(name="All", email="a@example.org"), now=CREATED, confirmed=True
        )
        _, queued = store_and_enqueue(conn, [make_event(nct_ids[0])])
        assert queued == 1
    with engine.begin() as conn:
        stopped = unsubscribe_tracker(conn, tracker.unsubscribe_token, now=NOW)
        assert stopped is not None and stopped.status == "unsubscribed"
        assert unsubscribe_tracker(conn, "not-a-token") is None
        statuses = conn.execute(select(deliveries.c.status)).scalars().all()
        assert statuses == ["cancelled"]
        _, queued = store_and_enqueue(conn, [make_event(nct_ids[1], detected_at=NOW + timedelta(hours=1))])
        assert queued == 0


def test_delete_removes_the_tracker_and_its_queue(engine: Engine) -> None:
    with engine.begin() as conn:
        nct_ids = seed_trials(conn)
        tracker = create_tracker(
            conn, TrackerSpec(name="All", email="a@example.org"), now=CREATED, confirmed=True
        )
        store_and_enqueue(conn, [make_event(nct_ids[0])])
        assert delete_tracker(conn, tracker.id)
        assert not delete_tracker(conn, tracker.id)
        assert conn.execute(select(func.count()).select_from(deliveries)).scalar_one() == 0


def test_a_lost_manage_link_can_be_replaced(engine: Engine) -> None:
    with engine.begin() as conn:
        tracker = create_tracker(conn, SPEC, now=CREATED, confirmed=True)
        renewed = reissue_manage_token(conn, tracker.id)
        assert renewed.manage_token and renewed.manage_token != tracker.manage_token
        assert get_tracker_by_manage_token(conn, str(tracker.manage_token)) is None
        assert get_tracker_by_manage_token(conn, renewed.manage_token) is not None
