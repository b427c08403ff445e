"""The storage readers behind the web pages, on SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, select

from hemewatch.demo import demo_days
from hemewatch.pipeline.importing import import_files
from hemewatch.registry.scope import load_scope
from hemewatch.storage.database import ping
from hemewatch.storage.events import latest_changes
from hemewatch.storage.landscape import landscape_trials
from hemewatch.storage.runs import data_stamp, last_sync
from hemewatch.storage.tables import trials
from hemewatch.storage.tags import current_tags
from hemewatch.storage.trial_view import mirrored_trials, trial_essentials, trial_exists, trial_titles


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
        assert mirrored_trials(conn, ["NCT05464836", "NCT00000000"]) == {"NCT05464836"}
        essentials = trial_essentials(conn, ["NCT05464836", "NCT00000000"])
        assert set(essentials) == {"NCT05464836"}
        trial = essentials["NCT05464836"]
        assert trial.title == trial_titles(conn, ["NCT05464836"])["NCT05464836"]
        assert trial.phases and all(p.startswith("PHASE") for p in trial.phases)
        assert trial.countries and all(c and "|" not in c for c in trial.countries)
        diseases_only = current_tags(conn, ["NCT05464836"], kinds=("disease",))["NCT05464836"]
        assert diseases_only == {"disease": tags["NCT05464836"]["disease"]}
        assert "pair" not in tags["NCT05464836"]
        every_id = list(conn.execute(select(trials.c.nct_id)).scalars())
        pairs = {
            v for kinds in current_tags(conn, every_id, pairs=True).values() for v in kinds.get("pair", ())
        }
        assert "CD19|CAR-T" in pairs
        everything = landscape_trials(conn, ())
        aml = landscape_trials(conn, ("AML",))
        assert 0 < len(aml) < len(everything)
        assert any(("CD19", "CAR-T") in t.pairs and "CAR-T" in t.modalities for t in everything)
        assert all(t.start_year is None or 1990 < t.start_year < 2100 for t in everything)
        sync = last_sync(conn)
        assert sync is not None and sync["kind"] == "import"
