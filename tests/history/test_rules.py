"""The severity table and noise fields: bundled files valid, broken files refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hemewatch.errors import HemewatchError
from hemewatch.history import EventType, RulesError, Severity, default_rules, diff_versions, load_rules

from .studies import DETECTED_AT, edited, section, study

BUNDLED = Path(__file__).resolve().parents[2] / "src" / "hemewatch" / "history" / "data"


def test_bundled_rules_cover_every_event_type() -> None:
    rules = default_rules()
    for event_type in EventType:
        assert event_type.value in rules.severities


@pytest.mark.parametrize(
    ("rule", "severity"),
    [
        ("status_changed.to.TERMINATED", Severity.CRITICAL),
        ("status_changed.to.SOMETHING_NEW", Severity.NOTABLE),
        ("site_status_changed.to.RECRUITING", Severity.NOTABLE),
        ("site_status_changed.to.WITHDRAWN", Severity.MINOR),
        ("dates_changed.primary_completion.large", Severity.NOTABLE),
        ("dates_changed.completion.large", Severity.MINOR),
        ("dates_changed.start", Severity.MINOR),
        ("results_posted.first", Severity.CRITICAL),
        ("record_refreshed", Severity.ADMINISTRATIVE),
    ],
)
def test_the_most_specific_rule_wins(rule: str, severity: Severity) -> None:
    assert default_rules().severity_for(rule) is severity


def _write_variant(tmp_path: Path, name: str, edit: object) -> Path:
    doc = yaml.safe_load((BUNDLED / name).read_text("utf-8"))
    edit(doc)  # type: ignore[operator]
    target = tmp_path / name
    target.write_text(yaml.safe_dump(doc), "utf-8")
    return target


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda doc: doc["severities"].pop("phase_changed"), "missing \\['phase_changed'\\]"),
        (lambda doc: doc["severities"].update({"phase_changed": "urgent"}), "has severity 'urgent'"),
        (lambda doc: doc["severities"].update({"trial_moved": "minor"}), "does not start with an event type"),
        (lambda doc: doc["severities"].update({"record_refreshed": "minor"}), "must stay administrative"),
        (lambda doc: doc["thresholds"].update({"date_shift_large_days": -3}), "positive number"),
        (lambda doc: doc.update({"version": 2}), "version: 1"),
    ],
)
def test_broken_severity_files_are_refused(tmp_path: Path, edit: object, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        load_rules(severity_file=_write_variant(tmp_path, "severity.yaml", edit))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda doc: doc["administrative_paths"].update({"statusModule date": "x"}), "not a dotted path"),
        (
            lambda doc: doc["placeholder_sites"].update({"facility_pattern": "(unclosed"}),
            "not a regular expression",
        ),
        (lambda doc: doc["placeholder_sites"].update({"contact_pattern": "site (\\d+)"}), "named group"),
        (lambda doc: doc.update({"ignored_keys": ["a", "b"]}), "mapping"),
    ],
)
def test_broken_noise_files_are_refused(tmp_path: Path, edit: object, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        load_rules(noise_file=_write_variant(tmp_path, "noise.yaml", edit))


def test_unreadable_files_are_a_hemewatch_error(tmp_path: Path) -> None:
    with pytest.raises(HemewatchError, match="Cannot read"):
        load_rules(severity_file=tmp_path / "absent.yaml")
    (tmp_path / "bad.yaml").write_text("severities: [", "utf-8")
    with pytest.raises(RulesError, match="Cannot read"):
        load_rules(severity_file=tmp_path / "bad.yaml")


def test_a_local_table_changes_severities(tmp_path: Path) -> None:
    def demote(doc: dict[str, dict[str, str]]) -> None:
        doc["severities"]["site_added.recruiting"] = "minor"

    rules = load_rules(severity_file=_write_variant(tmp_path, "severity.yaml", demote))
    assert rules.severity_for("site_added.recruiting") is Severity.MINOR


def test_diff_versions_takes_a_local_table(tmp_path: Path) -> None:
    def quieter(doc: dict[str, dict[str, str]]) -> None:
        doc["severities"]["status_changed.to.SUSPENDED"] = "notable"

    rules = load_rules(severity_file=_write_variant(tmp_path, "severity.yaml", quieter))
    old = study("NCT05326516")
    new = edited(old)
    section(new, "statusModule")["overallStatus"] = "SUSPENDED"
    (event,) = diff_versions(
        old, new, old_version_id=1, new_version_id=2, detected_at=DETECTED_AT, rules=rules
    )
    assert event.severity is Severity.NOTABLE


def test_the_reference_documents_every_type_and_rule() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "change-events.md").read_text("utf-8")
    rules = default_rules()
    undocumented = [
        key for key in rules.severities if f"| `{key}` | {rules.severities[key].value} |" not in doc
    ]
    assert undocumented == []
    assert [event_type for event_type in EventType if f"| `{event_type.value}` |" not in doc] == []
