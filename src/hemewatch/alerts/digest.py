"""The digest: one notification's events grouped by trial, the value every channel renders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from hemewatch.alerts.periods import describe_period
from hemewatch.alerts.trackers import Tracker
from hemewatch.history import SEVERITY_RANK, JsonValue
from hemewatch.history.wording import shorten
from hemewatch.registry.records import registry_study_url
from hemewatch.storage.events import StoredEvent


@dataclass(frozen=True, slots=True)
class TrialInfo:
    """What a digest shows about a trial besides its changes."""

    title: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Change:
    """One change event as a reader sees it."""

    event_id: int
    type: str
    label: str
    severity: str
    summary: str
    before: str | None
    after: str | None
    detected_at: datetime
    registry_date: date | None


@dataclass(frozen=True, slots=True)
class TrialChanges:
    """The changes of one trial in a digest, most serious first."""

    nct_id: str
    title: str
    tags: tuple[str, ...]
    changes: tuple[Change, ...]
    web_url: str
    registry_url: str

    @property
    def severity(self) -> str:
        """The most serious severity among the changes."""
        return min((c.severity for c in self.changes), key=SEVERITY_RANK.__getitem__)


@dataclass(frozen=True)
class Digest:
    """A notification ready to render: trials with their changes, plus the links every message carries."""

    tracker_id: int
    tracker_name: str
    cadence: str
    period: str
    period_label: str
    idempotency_key: str
    trials: tuple[TrialChanges, ...]
    public_url: str
    unsubscribe_url: str
    feed_url: str | None

    @property
    def trial_count(self) -> int:
        """How many trials changed."""
        return len(self.trials)

    @property
    def change_count(self) -> int:
        """How many changes in all."""
        return sum(len(trial.changes) for trial in self.trials)


def describe_value(value: JsonValue, limit: int = 160) -> str | None:
    """A before or after value as one short line (lists joined, objects as key: value)."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    return shorten(_flatten(value), limit)


def _flatten(value: JsonValue) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_flatten(item) for item in value if item not in (None, ""))
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_flatten(item)}" for key, item in value.items() if item not in (None, ""))
    return str(value)


def trial_web_url(public_url: str, nct_id: str) -> str:
    """The trial's page in the hemewatch web app."""
    return f"{public_url.rstrip('/')}/trials/{nct_id}"


def to_change(stored: StoredEvent) -> Change:
    """A stored event as a reader sees it."""
    event = stored.event
    return Change(
        event_id=stored.id,
        type=event.type.value,
        label=event.type.label,
        severity=event.severity.value,
        summary=event.summary,
        before=describe_value(event.before),
        after=describe_value(event.after),
        detected_at=event.detected_at,
        registry_date=event.registry_date,
    )


def build_digest(
    *,
    tracker: Tracker,
    period: str,
    idempotency_key: str,
    events: Sequence[StoredEvent],
    trials: Mapping[str, TrialInfo],
    public_url: str,
) -> Digest:
    """Group a notification's events by trial: trials with the most serious change first."""
    by_trial: defaultdict[str, list[StoredEvent]] = defaultdict(list)
    for stored in events:
        by_trial[stored.event.nct_id].append(stored)
    sections = []
    for nct_id, group in by_trial.items():
        info = trials.get(nct_id, TrialInfo(None, ()))
        ordered = sorted(group, key=lambda s: (s.event.sort_key(), s.id))
        sections.append(
            TrialChanges(
                nct_id=nct_id,
                title=info.title or nct_id,
                tags=info.tags,
                changes=tuple(to_change(s) for s in ordered),
                web_url=trial_web_url(public_url, nct_id),
                registry_url=registry_study_url(nct_id),
            )
        )
    sections.sort(key=lambda t: (SEVERITY_RANK[t.severity], t.nct_id))
    cadence = tracker.spec.cadence
    return Digest(
        tracker_id=tracker.id,
        tracker_name=tracker.name,
        cadence=cadence,
        period=period,
        period_label=describe_period(cadence, period),
        idempotency_key=idempotency_key,
        trials=tuple(sections),
        public_url=public_url.rstrip("/"),
        unsubscribe_url=tracker.unsubscribe_url(public_url),
        feed_url=tracker.feed_url(public_url) if tracker.spec.feed_enabled else None,
    )
