"""Store each version's eligibility facts and read them back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from hemewatch.eligibility.model import Fact
from hemewatch.storage.bulk import BulkWriter
from hemewatch.storage.tables import chunks, eligibility_facts, trials


def store_facts(conn: Connection, version_id: int, nct_id: str, facts: Sequence[Fact]) -> None:
    """Replace the eligibility facts of one version (in the caller's transaction)."""
    store_many_facts(conn, [(version_id, nct_id, facts)])


def store_many_facts(conn: Connection, items: Sequence[tuple[int, str, Sequence[Fact]]]) -> None:
    """Replace the eligibility facts of these (version id, NCT id, facts), in bulk."""
    ids = [version_id for version_id, _, _ in items]
    for chunk in chunks(ids):
        conn.execute(delete(eligibility_facts).where(eligibility_facts.c.version_id.in_(chunk)))
    BulkWriter(conn).insert_values(
        eligibility_facts,
        _FACT_COLUMNS,
        (
            (
                version_id,
                nct_id,
                position,
                fact.kind,
                fact.value[:160],
                fact.polarity,
                fact.section,
                fact.low,
                fact.high,
                fact.evidence,
            )
            for version_id, nct_id, facts in items
            for position, fact in enumerate(facts)
        ),
    )


_FACT_COLUMNS = (
    "version_id",
    "nct_id",
    "position",
    "kind",
    "value",
    "polarity",
    "section",
    "low",
    "high",
    "evidence",
)


def load_facts(conn: Connection, version_ids: Iterable[int]) -> dict[int, list[Fact]]:
    """The facts of each version, in the criteria's order (versions without facts are left out)."""
    ids = list(dict.fromkeys(version_ids))
    found: dict[int, list[Fact]] = {}
    for chunk in chunks(ids):
        rows = conn.execute(
            select(eligibility_facts)
            .where(eligibility_facts.c.version_id.in_(chunk))
            .order_by(eligibility_facts.c.version_id, eligibility_facts.c.position)
        )
        for row in rows:
            found.setdefault(int(row.version_id), []).append(_fact(row))
    return found


def current_facts(conn: Connection, nct_id: str) -> list[Fact]:
    """The facts of the trial's current version (empty when it has none or is not stored)."""
    rows = conn.execute(
        select(eligibility_facts)
        .select_from(
            eligibility_facts.join(trials, trials.c.current_version_id == eligibility_facts.c.version_id)
        )
        .where(trials.c.nct_id == nct_id)
        .order_by(eligibility_facts.c.position)
    )
    return [_fact(row) for row in rows]


def _fact(row: Any) -> Fact:
    return Fact.from_dict(
        {
            "kind": row.kind,
            "value": row.value,
            "polarity": row.polarity,
            "section": row.section,
            "low": row.low,
            "high": row.high,
            "evidence": row.evidence,
        }
    )
