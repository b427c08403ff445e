"""The web package's own queries, on SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine

from hemewatch.demo import demo_days
from hemewatch.pipeline.importing import import_files
from hemewatch.registry.scope import load_scope
from hemewatch.web.queries import (
    current_tags,
    data_stamp,
    landscape_trials,
    last_sync,
    latest_changes,
    ping,
    trial_exists,
    trial_titles,
)


def test_queries_on_the_demo_days(engine: Engine) -> None:
    with engine.connect() as conn:
        empty = data_stamp(conn)
        assert last_sync(conn) is None
    day1, day2 = demo_days()
    import_files(engine, [day1], scope=load_scope(), in_scope_only=True)
    with engine.connect() as conn:
        after_day1 = data_stamp(conn)
        assert after_day1 != empty
    import_files(engine, [day2], scope=load_scope(), in_scope_only=True)
    with engine.connect() as conn:
        assert data_stamp(conn) != after_day1
        ping(conn)
        assert trial_exists(conn, "NCT05464836") and not trial_exists(conn, "NCT00000000")
        tags = current_tags(conn, ["NCT05464836", "NCT00000000"])
        assert "T-ALL" in tags["NCT05464836"]["disease"] and tags["NCT00000000"] == {}
        latest = latest_changes(conn, ["NCT05464836", "NCT02650414", "NCT00000000"])
        assert latest["NCT05464836"].type == "status_changed"
        assert latest["NCT02650414"].type == "dates_changed"
        assert "NCT00000000" not in latest
        assert trial_titles(conn, ["NCT05464836"])["NCT05464836"].startswith("Phase II Study")
        everything = landscape_trials(conn, ())
        aml = landscape_trials(conn, ("AML",))
        assert 0 < len(aml) < len(everything)
        assert any(("CD19", "CAR-T") in t.pairs and "CAR-T" in t.modalities for t in everything)
        assert all(t.start_year is None or 1990 < t.start_year < 2100 for t in everything)
        sync = last_sync(conn)
        assert sync is not None and sync["kind"] == "import"
