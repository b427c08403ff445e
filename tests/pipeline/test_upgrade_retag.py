"""A database made before therapies existed migrates, and `reclassify` re-tags it without events."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, func, select, text, update

from hemewatch.classification import default_lexicon
from hemewatch.demo import demo_days
from hemewatch.pipeline.importing import import_files
from hemewatch.pipeline.reclassify import reclassify
from hemewatch.pipeline.tagging import tagging_version
from hemewatch.registry.scope import load_scope
from hemewatch.storage import engine as storage_engine
from hemewatch.storage.engine import current_revision, head_revision, migrate
from hemewatch.storage.tables import change_events, classifications, trial_tags, trial_therapies, trials


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_an_old_database_migrates_and_retags_without_events(engine: Engine) -> None:
    import_files(engine, demo_days(), scope=load_scope(), workers=0)
    events = _count(engine, change_events)
    assert _count(engine, trial_therapies) > 0
    # Back to the schema before therapies, with classifications from an older lexicon.
    with engine.begin() as conn:
        config = storage_engine._alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
    with engine.begin() as conn:
        assert current_revision(conn) == "0003"
        conn.execute(text("DELETE FROM trial_tags WHERE kind = 'pair'"))
        conn.execute(update(classifications).values(lexicon_version="1.0+old"))

    migrate(engine)

    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        filled = conn.execute(
            select(func.count()).select_from(trials).where(trials.c.conditions.is_not(None))
        ).scalar_one()
        total = conn.execute(select(func.count()).select_from(trials)).scalar_one()
    assert filled == total  # every demo trial names its conditions; the migration copied them
    done = reclassify(engine, lexicon=default_lexicon())
    assert done > 0
    assert _count(engine, trial_therapies) > 0
    with engine.connect() as conn:
        pairs = conn.execute(
            select(func.count()).select_from(trial_tags).where(trial_tags.c.kind == "pair")
        ).scalar_one()
        stale = conn.execute(
            select(func.count())
            .select_from(classifications)
            .where(classifications.c.lexicon_version != tagging_version(default_lexicon().version))
        ).scalar_one()
    assert pairs > 0 and stale == 0
    assert _count(engine, change_events) == events
