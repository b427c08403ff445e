"""The digest: one notification's events grouped by trial, the value every channel renders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from hemewatch.alerts.periods import describe_period
from hemewatch.alerts.trackers import Tracker
from hemewatch.history import SEVERITY_RANK, JsonValue
from hemewatch.history.wording import shorten
from hemewatch.registry.records import registry_study_url
from hemewatch.storage.events import StoredEvent

MAX_DIGEST_CHANGES = 50  # changes an e-mail digest shows; the rest are counted and linked
MAX_LISTED_TRIALS = 20  # trials with no change shown that a digest still names, with their links
TITLE_LIMIT = 200  # characters of a trial title in a bounded digest
SUMMARY_LIMIT = 300  # characters of a change summary in a bounded digest
TAG_LIMIT = 10  # tags shown per trial in a bounded digest


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
    """The changes of one trial in a digest, most serious first, then newest.

    more: changes of this trial that a bounded digest does not show.
    """

    nct_id: str
    title: str
    tags: tuple[str, ...]
    changes: tuple[Change, ...]
    web_url: str
    registry_url: str
    more: int = 0

    @property
    def severity(self) -> str:
        """The most serious severity among the changes."""
        return min((c.severity for c in self.changes), key=SEVERITY_RANK.__getitem__)

    @property
    def newest(self) -> datetime:
        """When the newest of its changes was detected."""
        return max(c.detected_at for c in self.changes)

    @property
    def change_count(self) -> int:
        """Its changes, shown or not."""
        return len(self.changes) + self.more


@dataclass(frozen=True, slots=True)
class TrialLink:
    """A trial whose changes a bounded digest leaves out: named and linked, with how many changes it had."""

    nct_id: str
    title: str
    web_url: str
    changes: int


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
    # Set by bounded(): trials none of whose changes are shown (the first MAX_LISTED_TRIALS of them),
    # and how many more trials and changes there are beyond those.
    left_out: tuple[TrialLink, ...] = ()
    unlisted_trials: int = 0
    unlisted_changes: int = 0

    @property
    def trial_count(self) -> int:
        """How many trials changed."""
        return len(self.trials) + len(self.left_out) + self.unlisted_trials

    @property
    def change_count(self) -> int:
        """How many changes in all, shown or not."""
        shown = sum(trial.change_count for trial in self.trials)
        return shown + sum(link.changes for link in self.left_out) + self.unlisted_changes

    @property
    def shown_count(self) -> int:
        """How many changes the digest shows."""
        return sum(len(trial.changes) for trial in self.trials)

    @property
    def more_count(self) -> int:
        """How many changes it does not show."""
        return self.change_count - self.shown_count


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


def _change_order(change: Change) -> tuple[int, float]:
    return (SEVERITY_RANK[change.severity], -change.detected_at.timestamp())


def bounded(digest: Digest, max_changes: int = MAX_DIGEST_CHANGES) -> Digest:
    """The digest showing at most `max_changes` changes: the most serious, then the newest.

    The trials keep their order; a trial keeps its most serious changes and counts the rest (`more`);
    trials with none shown are named in `left_out` (at most MAX_LISTED_TRIALS), the others only counted.
    Titles, summaries and tag lists are shortened so that a digest's size has a bound.
    """
    max_changes = max(1, max_changes)
    ranked = sorted(
        (
            (*_change_order(change), t_index, c_index)
            for t_index, trial in enumerate(digest.trials)
            for c_index, change in enumerate(trial.changes)
        )
    )
    keep: defaultdict[int, set[int]] = defaultdict(set)
    for *_, t_index, c_index in ranked[:max_changes]:
        keep[t_index].add(c_index)
    shown: list[TrialChanges] = []
    left_out: list[TrialLink] = []
    for t_index, trial in enumerate(digest.trials):
        title = shorten(trial.title, TITLE_LIMIT)
        kept = keep.get(t_index)
        if not kept:
            left_out.append(TrialLink(trial.nct_id, title, trial.web_url, trial.change_count))
            continue
        changes = tuple(
            replace(change, summary=shorten(change.summary, SUMMARY_LIMIT))
            for c_index, change in enumerate(trial.changes)
            if c_index in kept
        )
        shown.append(
            replace(
                trial,
                title=title,
                tags=trial.tags[:TAG_LIMIT],
                changes=changes,
                more=trial.change_count - len(changes),
            )
        )
    unlisted = left_out[MAX_LISTED_TRIALS:]
    return replace(
        digest,
        trials=tuple(shown),
        left_out=digest.left_out + tuple(left_out[:MAX_LISTED_TRIALS]),
        unlisted_trials=digest.unlisted_trials + len(unlisted),
        unlisted_changes=digest.unlisted_changes + sum(link.changes for link in unlisted),
    )


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
    """Group a notification's events by trial: trials with the most serious change first, then newest.

    Within a trial, changes go most serious first, then newest. Every change is kept: channels with a
    size limit show a bounded() copy.
    """
    by_trial: defaultdict[str, list[StoredEvent]] = defaultdict(list)
    for stored in events:
        by_trial[stored.event.nct_id].append(stored)
    sections = []
    for nct_id, group in by_trial.items():
        info = trials.get(nct_id, TrialInfo(None, ()))
        ordered = sorted(
            group,
            key=lambda s: (s.event.severity.rank, -s.event.detected_at.timestamp(), s.event.sort_key(), s.id),
        )
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
    sections.sort(key=lambda t: (SEVERITY_RANK[t.severity], -t.newest.timestamp(), t.nct_id))
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
