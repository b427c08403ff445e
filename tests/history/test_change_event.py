"""ChangeEvent: JSON form, round trip, ordering and alertability."""

from __future__ import annotations

from datetime import date

import orjson
import pytest

from hemewatch.errors import HemewatchError
from hemewatch.history import ChangeEvent, EventDecodeError, EventType, Severity

from .studies import DETECTED_AT


def make(**changes: object) -> ChangeEvent:
    fields: dict[str, object] = {
        "nct_id": "NCT05326516",
        "type": EventType.STATUS_CHANGED,
        "severity": Severity.CRITICAL,
        "path": "protocolSection.statusModule.overallStatus",
        "before": {"overallStatus": "RECRUITING"},
        "after": {"overallStatus": "SUSPENDED", "whyStopped": "Safety review"},
        "summary": "Overall status: recruiting → suspended (why stopped: Safety review)",
        "old_version_id": 3,
        "new_version_id": 4,
        "registry_date": date(2023, 11, 1),
        "detected_at": DETECTED_AT,
    }
    fields.update(changes)
    return ChangeEvent(**fields)  # type: ignore[arg-type]


def test_to_dict_is_json_ready_with_iso_dates() -> None:
    data = make().to_dict()
    assert data["type"] == "status_changed"
    assert data["severity"] == "critical"
    assert data["alertable"] is True
    assert data["registry_date"] == "2023-11-01"
    assert data["detected_at"] == "2026-11-20T06:00:00+00:00"
    assert orjson.loads(orjson.dumps(data)) == data


@pytest.mark.parametrize("event", [make(), make(registry_date=None, old_version_id=None, before=None)])
def test_round_trip_through_json(event: ChangeEvent) -> None:
    assert ChangeEvent.from_dict(orjson.loads(orjson.dumps(event.to_dict()))) == event
    assert ChangeEvent.from_dict(event.to_dict()) == event


@pytest.mark.parametrize(
    "damage",
    [
        {"type": "status_changes"},
        {"severity": "urgent"},
        {"detected_at": "yesterday"},
        {"new_version_id": "4"},
        {"nct_id": None},
    ],
)
def test_malformed_stored_events_raise_a_hemewatch_error(damage: dict[str, object]) -> None:
    data = make().to_dict() | damage
    with pytest.raises(EventDecodeError) as raised:
        ChangeEvent.from_dict(data)
    assert isinstance(raised.value, HemewatchError)


def test_a_missing_field_is_reported() -> None:
    data = make().to_dict()
    del data["summary"]
    with pytest.raises(EventDecodeError, match="summary"):
        ChangeEvent.from_dict(data)


def test_administrative_events_are_not_alertable() -> None:
    assert not make(severity=Severity.ADMINISTRATIVE).alertable
    assert all(
        make(severity=severity).alertable for severity in Severity if severity is not Severity.ADMINISTRATIVE
    )


def test_events_are_frozen_hashable_and_ordered_by_severity() -> None:
    critical, minor = make(), make(severity=Severity.MINOR, path="z")
    with pytest.raises(AttributeError):
        critical.summary = "edited"  # type: ignore[misc]
    assert len({critical, make(), minor}) == 2
    assert sorted([minor, critical], key=ChangeEvent.sort_key) == [critical, minor]
