"""Eligibility facts per version: stored, read back in order, replaced, deleted with their version."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, delete, func, inspect, select

from hemewatch.eligibility.model import Fact
from hemewatch.storage import engine as storage_engine
from hemewatch.storage.eligibility import current_facts, load_facts, store_facts
from hemewatch.storage.engine import current_revision, head_revision, migrate
from hemewatch.storage.tables import eligibility_facts, study_versions, trials
from tests.storage.rows import bare_version

CD19 = Fact("antigen", "CD19", "required", "inclusion", "CD19-positive B-ALL")
CART = Fact("prior_therapy", "CD19 CAR-T", "excluded", "exclusion", "Prior CD19 CAR-T")
ECOG = Fact("performance", "ECOG", "required", "inclusion", "ECOG 0-2", high=2.0)
AGE = Fact("age", "years", "required", "record", "minimum age 30 Days", low=0.08, high=21.0)


def test_facts_round_trip_in_order_and_replace(engine: Engine) -> None:
    first = bare_version(engine, "NCT00000001", "a", current=False)
    second = bare_version(engine, "NCT00000001", "b")
    other = bare_version(engine, "NCT00000002", "c")
    with engine.begin() as conn:
        store_facts(conn, first, "NCT00000001", [ECOG])
        store_facts(conn, second, "NCT00000001", [AGE, CD19, CART])
        store_facts(conn, other, "NCT00000002", [])
    with engine.connect() as conn:
        assert load_facts(conn, [first, second, other, 999]) == {first: [ECOG], second: [AGE, CD19, CART]}
        assert current_facts(conn, "NCT00000001") == [AGE, CD19, CART]
        assert current_facts(conn, "NCT00000002") == []
        assert current_facts(conn, "NCT99999999") == []
    with engine.begin() as conn:
        store_facts(conn, second, "NCT00000001", [CART])
    with engine.connect() as conn:
        assert current_facts(conn, "NCT00000001") == [CART]
        assert load_facts(conn, [first]) == {first: [ECOG]}  # another version's facts untouched


def test_load_facts_reads_many_versions_in_chunks(engine: Engine) -> None:
    ids = [bare_version(engine, "NCT00000003", f"h{n}", current=False) for n in range(3)]
    with engine.begin() as conn:
        for position, version_id in enumerate(ids):
            store_facts(conn, version_id, "NCT00000003", [ECOG] if position else [CD19])
    with engine.connect() as conn:
        # Ids repeated and padded past one chunk of 500.
        found = load_facts(conn, [*ids, *ids, *range(10_000, 10_600)])
    assert found == {ids[0]: [CD19], ids[1]: [ECOG], ids[2]: [ECOG]}


def test_facts_are_deleted_with_theirbare_version(engine: Engine) -> None:
    version_id = bare_version(engine, "NCT00000004", "x")
    with engine.begin() as conn:
        store_facts(conn, version_id, "NCT00000004", [CD19, CART])
        conn.execute(trials.update().values(current_version_id=None))
        conn.execute(delete(study_versions).where(study_versions.c.id == version_id))
    with engine.connect() as conn:
        left = conn.execute(select(func.count()).select_from(eligibility_facts)).scalar_one()
    assert left == 0


def test_migration_0010_downgrades_and_upgrades(engine: Engine) -> None:
    version_id = bare_version(engine, "NCT00000005", "y")
    with engine.begin() as conn:
        store_facts(conn, version_id, "NCT00000005", [CD19])
        config = storage_engine._alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
    assert "eligibility_facts" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert current_revision(conn) == "0009"
    migrate(engine)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision() == "0014"
        assert current_facts(conn, "NCT00000005") == []  # refilled by reclassify, not by the migration
    with engine.begin() as conn:
        store_facts(conn, version_id, "NCT00000005", [CART])
    with engine.connect() as conn:
        assert current_facts(conn, "NCT00000005") == [CART]
