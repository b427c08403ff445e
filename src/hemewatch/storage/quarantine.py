"""Quarantine: records set aside because they cannot be stored, with their raw JSON, why, and when seen.

A record is kept once per content (its raw JSON's SHA-256): seeing it again on a later run
updates when it was last seen and how often. It is resolved when its trial later stores
cleanly (the registry fixed the record); seeing the same bad content again reopens it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import zstandard
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from hemewatch.storage.codec import compress_json
from hemewatch.storage.prepared import Quarantined
from hemewatch.storage.tables import quarantine


@dataclass(frozen=True)
class QuarantinedRecord:
    """A row of the quarantine table, without its raw JSON."""

    id: int
    nct_id: str | None
    source: str
    location: str
    field: str | None
    reason: str
    first_seen_at: datetime
    last_seen_at: datetime
    seen_count: int
    resolved_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "nct_id": self.nct_id,
            "source": self.source,
            "location": self.location,
            "field": self.field,
            "reason": self.reason,
            "first_seen_at": self.first_seen_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
            "seen_count": self.seen_count,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
        }


def _as_utc(value: datetime) -> datetime:
    # SQLite returns naive datetimes; everything stored is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def quarantine_records(
    conn: Connection, records: Sequence[Quarantined], *, source: str, now: datetime, run_id: int | None
) -> int:
    """Store or refresh the records set aside (in the caller's transaction); return how many."""
    rows: dict[str, dict[str, Any]] = {}
    for record in records:
        digest = hashlib.sha256(record.raw).hexdigest()
        rows[digest] = {
            "nct_id": record.nct_id[:32] if record.nct_id else None,
            "source": source[:16],
            "location": _clean(record.location),
            "field": _clean(record.field) if record.field else None,
            "reason": _clean(record.reason),
            "content_hash": digest,
            "raw_size": len(record.raw),
            "raw_zstd": compress_json(record.raw),
            "first_seen_at": now,
            "last_seen_at": now,
            "seen_count": 1,
            "resolved_at": None,
            "sync_run_id": run_id,
        }
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(quarantine)
    # An upsert: two processes setting aside the same record at once both succeed.
    statement = statement.on_conflict_do_update(
        index_elements=[quarantine.c.content_hash],
        set_={
            "location": statement.excluded.location,
            "field": statement.excluded.field,
            "reason": statement.excluded.reason,
            "last_seen_at": statement.excluded.last_seen_at,
            "seen_count": quarantine.c.seen_count + 1,
            "resolved_at": None,
            "sync_run_id": statement.excluded.sync_run_id,
        },
    )
    conn.execute(statement, list(rows.values()))
    return len(rows)


def resolve_quarantine(conn: Connection, nct_ids: Collection[str], *, now: datetime) -> int:
    """Mark resolved what is quarantined for these trials (they stored cleanly) unless seen just now."""
    if not nct_ids:
        return 0
    resolved = 0
    ordered = sorted(nct_ids)
    for start in range(0, len(ordered), 500):
        result = conn.execute(
            update(quarantine)
            .where(
                quarantine.c.nct_id.in_(ordered[start : start + 500]),
                quarantine.c.resolved_at.is_(None),
                quarantine.c.last_seen_at < now,
            )
            .values(resolved_at=now)
        )
        resolved += result.rowcount
    return resolved


def count_quarantined(conn: Connection, *, run_id: int | None = None) -> int:
    """How many records are quarantined and not resolved (those last seen by one run, if given)."""
    query = select(func.count()).select_from(quarantine).where(quarantine.c.resolved_at.is_(None))
    if run_id is not None:
        query = query.where(quarantine.c.sync_run_id == run_id)
    return int(conn.execute(query).scalar_one())


def list_quarantined(
    conn: Connection, *, include_resolved: bool = False, limit: int = 1000, run_id: int | None = None
) -> list[QuarantinedRecord]:
    """The quarantined records, most recently seen first (resolved ones too when asked; those last
    seen by one run, if given)."""
    query = select(quarantine).order_by(quarantine.c.last_seen_at.desc(), quarantine.c.id.desc()).limit(limit)
    if not include_resolved:
        query = query.where(quarantine.c.resolved_at.is_(None))
    if run_id is not None:
        query = query.where(quarantine.c.sync_run_id == run_id)
    return [
        QuarantinedRecord(
            id=row.id,
            nct_id=row.nct_id,
            source=row.source,
            location=row.location,
            field=row.field,
            reason=row.reason,
            first_seen_at=_as_utc(row.first_seen_at),
            last_seen_at=_as_utc(row.last_seen_at),
            seen_count=row.seen_count,
            resolved_at=_as_utc(row.resolved_at) if row.resolved_at is not None else None,
        )
        for row in conn.execute(query)
    ]


def load_quarantined_raw(conn: Connection, record_id: int) -> bytes:
    """The raw JSON text of one quarantined record, exactly as received."""
    blob = conn.execute(select(quarantine.c.raw_zstd).where(quarantine.c.id == record_id)).scalar_one()
    raw: bytes = zstandard.ZstdDecompressor().decompress(blob)
    return raw


def _clean(text: str) -> str:
    # Names and reasons may quote the bad record; PostgreSQL text cannot hold NUL.
    return text.replace("\x00", "\\u0000")
