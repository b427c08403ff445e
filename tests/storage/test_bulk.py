"""Bulk inserts on the driver's cursor store exactly what SQLAlchemy's own inserts store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, insert, select

from hemewatch.storage.bulk import BulkWriter
from hemewatch.storage.tables import (
    classifications,
    eligibility_facts,
    trial_therapies,
)
from tests.storage.rows import bare_version

NOW = datetime(2026, 12, 7, 8, 30, 15, 123456, tzinfo=UTC)
EVIDENCE = [{"path": "protocolSection.eligibilityModule", "text": 'Âge ≥ 18 ans — "Müller" 10⁹/L\n\t'}]


def _stored(engine: Engine, table: Table, version_id: int) -> list[tuple[Any, ...]]:
    """The rows as the database holds them (JSON as its text on SQLite), without their ids."""
    columns = [c.name for c in table.c if c.name not in ("id", "version_id")]
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT {', '.join(columns)} FROM {table.name} WHERE version_id = {int(version_id)}"
        )
        return [tuple(row) for row in rows]


def test_bulk_rows_are_stored_as_sqlalchemy_stores_them(engine: Engine) -> None:
    tables: list[tuple[Table, dict[str, Any]]] = [
        (
            classifications,
            {
                "lexicon_version": "1.0+abc",
                "acute_leukemia": True,
                "immunotherapy": False,
                "labels": {"diseases": ["B-ALL"], "note": "Ph+ ≥ 1 %", "n": None},
                "classified_at": NOW,
            },
        ),
        (
            trial_therapies,
            {
                "position": 0,
                "name": "Blinatumomab (AMG 103)",
                "name_folded": "blinatumomab (amg 103)",
                "agent": None,
                "modality": "bispecific T-cell engager",
                "drug_class": None,
                "targets": ["CD19", "CD3"],
                "role": "studied",
                "unresolved": True,
                "evidence": EVIDENCE,
            },
        ),
        (
            eligibility_facts,
            {
                "position": 3,
                "kind": "age",
                "value": "years",
                "polarity": "required",
                "section": "record",
                "low": 0.08,
                "high": None,
                "evidence": "minimum age 30 Days",
            },
        ),
    ]
    by_sqlalchemy, by_bulk = (
        bare_version(engine, "NCT00000001", "a"),
        bare_version(engine, "NCT00000002", "b"),
    )
    for table, values in tables:
        with engine.begin() as conn:
            conn.execute(insert(table), [{"version_id": by_sqlalchemy, "nct_id": "NCT00000001", **values}])
            columns = ("version_id", "nct_id", *values)
            BulkWriter(conn).insert_values(table, columns, [(by_bulk, "NCT00000001", *values.values())])
        assert _stored(engine, table, by_bulk) == _stored(engine, table, by_sqlalchemy), table.name
    with engine.connect() as conn:
        labels = conn.execute(select(classifications.c.labels).where(classifications.c.version_id == by_bulk))
        assert labels.scalar_one() == tables[0][1]["labels"]


def test_no_rows_insert_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        BulkWriter(conn).insert_values(eligibility_facts, ("version_id", "nct_id"), [])
        assert conn.execute(select(eligibility_facts.c.id)).first() is None
