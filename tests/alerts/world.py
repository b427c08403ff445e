"""Build a small mirror for alert tests: real records, hand-set tags, trackers and change events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from hemewatch.alerts import Tracker, TrackerSpec, create_tracker, enqueue_deliveries
from hemewatch.classification.model import Classification, Evidence, Tag, TagKind
from hemewatch.history import ChangeEvent, EventType, Severity
from hemewatch.registry.records import parse_study
from hemewatch.storage.events import StoredEvent, store_events
from hemewatch.storage.tags import store_classification
from hemewatch.storage.versions import store_records
from tests.realdata import real_data

NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
CREATED = NOW - timedelta(days=1)

# Tags given to the first trials of studies.jsonl, by trial_tags kind.
DEFAULT_TAGS: tuple[dict[str, list[str]], ...] = (
    {
        "disease": ["AML"],
        "target": ["CD33"],
        "modality": ["antibody-drug conjugate"],
        "population": ["adult"],
    },
    {"disease": ["B-ALL"], "target": ["CD19"], "modality": ["CAR-T"], "population": ["pediatric"]},
    {"disease": ["T-ALL"], "target": ["CD7"], "modality": ["CAR-T"], "setting": ["relapsed/refractory"]},
    {"disease": ["AML"], "target": ["CD123"], "modality": ["T-cell engager"], "population": ["adult"]},
)
_LABEL_FIELDS = {"disease": "diseases", "modality": "modalities", "target": "targets", "setting": "settings"}


def real_studies(count: int, *, offset: int = 0) -> list[dict[str, Any]]:
    """The first real records of studies.jsonl."""
    lines = (real_data() / "ctgov" / "studies.jsonl").read_bytes().splitlines()
    return [orjson.loads(line) for line in lines[offset : offset + count]]


def seed_trials(
    conn: Connection, *, count: int = 4, tags: Sequence[Mapping[str, list[str]]] = DEFAULT_TAGS
) -> list[str]:
    """Store `count` real trials with hand-set tags on their current version; returns their NCT ids."""
    records = [parse_study(study) for study in real_studies(count)]
    result = store_records(conn, records, source="import", now=CREATED - timedelta(days=10))
    for index, stored in enumerate(result.stored):
        wanted = tags[index % len(tags)]
        kinds: list[tuple[TagKind, str]] = [
            (kind, value) for kind, values in wanted.items() for value in values
        ]  # type: ignore[misc]
        classification = Classification(
            nct_id=stored.nct_id,
            tags=tuple(Tag(kind, value, (Evidence("test", value),)) for kind, value in kinds),
            acute_leukemia=True,
            immunotherapy=True,
            lexicon_version="test",
        )
        labels = {field: wanted.get(kind, []) for kind, field in _LABEL_FIELDS.items()}
        store_classification(
            conn,
            version_id=stored.version_id,
            nct_id=stored.nct_id,
            classification=classification,
            labels=labels,
            now=CREATED,
        )
    return [stored.nct_id for stored in result.stored]


def make_event(
    nct_id: str,
    *,
    kind: EventType = EventType.STATUS_CHANGED,
    severity: Severity = Severity.NOTABLE,
    detected_at: datetime = NOW,
    summary: str | None = None,
    before: Any = "RECRUITING",
    after: Any = "ACTIVE_NOT_RECRUITING",
) -> ChangeEvent:
    """A change event as the diff would produce it."""
    return ChangeEvent(
        nct_id=nct_id,
        type=kind,
        severity=severity,
        path="protocolSection.statusModule.overallStatus",
        before=before,
        after=after,
        summary=summary or f"Status changed: {before} → {after}",
        old_version_id=None,
        new_version_id=None,
        registry_date=detected_at.date(),
        detected_at=detected_at,
    )


def add_tracker(conn: Connection, name: str, *, created: datetime = CREATED, **fields: Any) -> Tracker:
    """A confirmed tracker owned by <name>@example.org."""
    fields.setdefault("email", f"{name.lower().replace(' ', '-')}@example.org")
    return create_tracker(conn, TrackerSpec(name=name, **fields), now=created, confirmed=True)


def store_and_enqueue(
    conn: Connection, events: Sequence[ChangeEvent], *, now: datetime = NOW
) -> tuple[list[StoredEvent], int]:
    """Store events and queue their deliveries, as the pipeline does, in one transaction."""
    stored = store_events(conn, events, sync_run_id=None)
    return stored, enqueue_deliveries(conn, stored, now=now)
