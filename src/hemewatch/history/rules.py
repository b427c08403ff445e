"""The diff's data files, loaded once and validated: severity table, thresholds and noise fields."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from hemewatch.errors import HemewatchError
from hemewatch.history.events import EventType, Severity


class RulesError(HemewatchError):
    """A change-event rules file (severity.yaml or noise.yaml) is invalid."""


@dataclass(frozen=True, slots=True)
class Rules:
    """Severity table, thresholds and administrative fields, as loaded from the data files."""

    severities: Mapping[str, Severity]
    date_shift_large_days: int
    enrollment_revision_large_ratio: float
    administrative_paths: tuple[str, ...]
    ignored_keys: frozenset[str]
    placeholder_facility: re.Pattern[str]
    placeholder_contact: re.Pattern[str]
    _resolved: dict[str, Severity] = field(default_factory=dict, compare=False, repr=False)

    def severity_for(self, rule: str) -> Severity:
        """Severity of the most specific key of the table that `rule` starts with."""
        cached = self._resolved.get(rule)
        if cached is not None:
            return cached
        key = rule
        while key not in self.severities:
            if "." not in key:
                raise RulesError(f"No severity rule for {rule!r}: severity.yaml needs the key {key!r}.")
            key = key.rsplit(".", 1)[0]
        self._resolved[rule] = self.severities[key]
        return self.severities[key]


def load_rules(severity_file: Path | None = None, noise_file: Path | None = None) -> Rules:
    """Load and validate the rules; the bundled files unless other paths are given."""
    severity_doc = _read_yaml(severity_file, "severity.yaml")
    noise_doc = _read_yaml(noise_file, "noise.yaml")
    severities = _parse_severities(severity_doc.get("severities"))
    thresholds = _mapping(severity_doc.get("thresholds"), "severity.yaml: thresholds")
    placeholders = _mapping(noise_doc.get("placeholder_sites"), "noise.yaml: placeholder_sites")
    return Rules(
        severities=severities,
        date_shift_large_days=int(_positive(thresholds, "date_shift_large_days")),
        enrollment_revision_large_ratio=_positive(thresholds, "enrollment_revision_large_ratio"),
        administrative_paths=_parse_paths(noise_doc.get("administrative_paths")),
        ignored_keys=frozenset(_mapping(noise_doc.get("ignored_keys"), "noise.yaml: ignored_keys")),
        placeholder_facility=_site_pattern(placeholders, "facility_pattern"),
        placeholder_contact=_site_pattern(placeholders, "contact_pattern"),
    )


@functools.cache
def default_rules() -> Rules:
    """The bundled rules, loaded on first use and shared afterwards (they are immutable)."""
    return load_rules()


def _read_yaml(path: Path | None, bundled: str) -> dict[str, Any]:
    name = str(path) if path else f"hemewatch/history/data/{bundled}"
    try:
        if path is None:
            text = resources.files("hemewatch.history").joinpath("data", bundled).read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        doc = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"Cannot read the rules file {name}: {exc}") from exc
    doc = _mapping(doc, name)
    if doc.get("version") != 1:
        raise RulesError(f"{name}: expected `version: 1`, found {doc.get('version')!r}.")
    return doc


def _mapping(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise RulesError(f"{where}: expected a mapping with string keys.")
    return value


def _parse_severities(value: object) -> dict[str, Severity]:
    table = _mapping(value, "severity.yaml: severities")
    severities: dict[str, Severity] = {}
    known_types = {event_type.value for event_type in EventType}
    for key, raw in table.items():
        if key.split(".", 1)[0] not in known_types:
            raise RulesError(f"severity.yaml: {key!r} does not start with an event type.")
        try:
            severities[key] = Severity(raw)
        except ValueError:
            raise RulesError(
                f"severity.yaml: {key!r} has severity {raw!r}; use one of {[s.value for s in Severity]}."
            ) from None
    missing = sorted(known_types - severities.keys())
    if missing:
        raise RulesError(f"severity.yaml: every event type needs a bare key; missing {missing}.")
    for key, severity in severities.items():
        # Registry churn must never reach a subscriber, whatever a local edit says.
        if key.startswith(EventType.RECORD_REFRESHED.value) and severity is not Severity.ADMINISTRATIVE:
            raise RulesError(f"severity.yaml: {key!r} must stay administrative.")
    return severities


def _parse_paths(value: object) -> tuple[str, ...]:
    paths = _mapping(value, "noise.yaml: administrative_paths")
    for path in paths:
        if not re.fullmatch(r"(protocolSection|derivedSection)(\.[A-Za-z]+)*", path):
            raise RulesError(f"noise.yaml: {path!r} is not a dotted path into a study record.")
    return tuple(paths)


def _positive(table: Mapping[str, Any], key: str) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise RulesError(f"severity.yaml: thresholds.{key} must be a positive number, found {value!r}.")
    return float(value)


def _site_pattern(table: Mapping[str, Any], key: str) -> re.Pattern[str]:
    raw = table.get(key)
    try:
        pattern = re.compile(str(raw), re.IGNORECASE)
    except re.error as exc:
        raise RulesError(f"noise.yaml: placeholder_sites.{key} is not a regular expression: {exc}") from exc
    if not isinstance(raw, str) or "site" not in pattern.groupindex:
        raise RulesError(f"noise.yaml: placeholder_sites.{key} needs a named group (?P<site>...).")
    return pattern
