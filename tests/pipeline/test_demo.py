"""The demo shows an alert end to end: its sample tracker's feed carries the second registry day's changes."""

from __future__ import annotations

from xml.etree import ElementTree

from sqlalchemy import Engine, func, select

from hemewatch.alerts import render_tracker_feed
from hemewatch.pipeline.demo import SAMPLE_TRACKER, load_demo
from hemewatch.registry.scope import load_scope
from hemewatch.settings import load_settings
from hemewatch.storage.tables import change_events, deliveries, tracker_events, trackers

ATOM = "{http://www.w3.org/2005/Atom}"


def test_the_sample_tracker_sees_every_alertable_change_of_the_second_day(engine: Engine) -> None:
    loaded = load_demo(engine, scope=load_scope())

    assert loaded.tracker_created and loaded.tracker.spec.feed_enabled
    assert not loaded.tracker.spec.email_enabled
    with engine.connect() as conn:
        alertable = conn.execute(
            select(func.count()).select_from(change_events).where(change_events.c.alertable.is_(True))
        ).scalar_one()
        matched = conn.execute(
            select(func.count())
            .select_from(tracker_events)
            .where(tracker_events.c.tracker_id == loaded.tracker.id)
        ).scalar_one()
        # Feed-only: matched and shown in the feed, nothing queued to send anywhere.
        queued = conn.execute(select(func.count()).select_from(deliveries)).scalar_one()
        changed = list(
            conn.execute(select(change_events.c.nct_id).where(change_events.c.alertable.is_(True))).scalars()
        )
        feed = render_tracker_feed(conn, loaded.tracker, settings=load_settings())
    assert alertable >= 10  # the demo's second day (docs/demo.md)
    assert matched == alertable
    assert queued == 0
    entries = ElementTree.fromstring(feed).findall(f"{ATOM}entry")
    assert len(entries) == alertable
    # One entry per alertable change, each titled with its trial: the terminated CB-103 trial among them.
    titled = sorted((entry.findtext(f"{ATOM}title") or "").split(" · ")[0] for entry in entries)
    assert titled == sorted(changed)
    assert any(
        t.startswith("NCT05464836 · Status changed")
        for t in (e.findtext(f"{ATOM}title") for e in entries)
        if t
    )


def test_loading_the_demo_again_changes_nothing(engine: Engine) -> None:
    first = load_demo(engine, scope=load_scope())
    second = load_demo(engine, scope=load_scope())

    assert not second.tracker_created
    assert second.tracker.id == first.tracker.id
    assert all(report.stored == 0 for report in second.days)
    with engine.connect() as conn:
        owned = conn.execute(
            select(func.count()).select_from(trackers).where(trackers.c.email == SAMPLE_TRACKER.email)
        ).scalar_one()
    assert owned == 1
