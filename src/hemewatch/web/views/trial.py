"""A trial page: the record's essentials, its therapies, tags with their evidence, sites and timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from hemewatch.classification.model import DISEASE, ROLES, TAG_KINDS, Tag, Therapy
from hemewatch.eligibility.model import POLARITIES, Fact, Polarity
from hemewatch.errors import TrialNotFound
from hemewatch.registry.records import normalise_nct_id
from hemewatch.storage.eligibility import current_facts
from hemewatch.storage.events import EventFilter, StoredEvent, list_events
from hemewatch.storage.tags import load_therapies
from hemewatch.storage.trial_view import load_trial_view
from hemewatch.storage.versions import load_current_study
from hemewatch.storage.watchlist import TrialWatch, watch_status
from hemewatch.web.mechanism import is_catch_all, mechanism_line
from hemewatch.web.queries import trial_exists
from hemewatch.web.views.context import ViewContext
from hemewatch.web.views.record import Milestone, TrialRecord, read_trial_record
from hemewatch.web.views.timeline import TimelineEntry, timeline_entries

TIMELINE_LIMIT = 500


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class ShownTherapy:
    """One therapy as the trial page lists it."""

    therapy: Therapy

    @property
    def unresolved(self) -> bool:
        """A product no lexicon entry names (a generic phrase such as "chemotherapy" is not one)."""
        return self.therapy.unresolved

    @property
    def agent_differs(self) -> bool:
        """The canonical agent is worth showing: the record names it otherwise."""
        agent = self.therapy.agent
        return agent is not None and _folded(agent) != _folded(self.therapy.name)


@dataclass(frozen=True)
class TrialPage:
    """Everything the trial page and /api/v1/trials/{nct_id} show."""

    record: TrialRecord
    summary: dict[str, Any]
    tags: list[Tag]
    mechanism: str
    timeline: list[TimelineEntry]
    version_count: int
    in_scope: bool
    therapies: list[Therapy] = field(default_factory=list)
    # Catch-all disease values ("leukemia", "cancer"): stored tags, never shown as diseases.
    hidden_diseases: frozenset[str] = frozenset()
    facts: list[Fact] = field(default_factory=list)
    # Whether it is watched, and whether the registry removed or merged its record.
    watch: TrialWatch | None = None
    today: date = field(default_factory=lambda: datetime.now(UTC).date())

    def facts_by_polarity(self) -> list[tuple[Polarity, list[Fact]]]:
        """The eligibility facts grouped as requires / excludes / allows, in the criteria's order."""
        return [
            (polarity, [f for f in self.facts if f.polarity == polarity])
            for polarity in POLARITIES
            if any(f.polarity == polarity for f in self.facts)
        ]

    def passed_estimates(self) -> list[Milestone]:
        """Estimated key dates already in the past."""
        return self.record.passed_estimates(self.today)

    def eligibility(self) -> dict[str, Any]:
        """The eligibility part of the JSON answer."""
        r = self.record
        return {
            "criteria": r.criteria.to_dict(),
            "facts": [f.to_dict() for f in self.facts],
            "minimum_age": r.minimum_age,
            "maximum_age": r.maximum_age,
            "sex": r.sex,
            "healthy_volunteers": r.healthy_volunteers,
        }

    def watch_state(self) -> dict[str, Any]:
        """Whether the trial is watched, removed from the registry or merged into another record."""
        w = self.watch
        return {
            "watched": bool(w and w.watched),
            "watched_since": w.added_at.isoformat() if w and w.watched and w.added_at else None,
            "removed_at": w.removed_at.isoformat() if w and w.removed_at else None,
            "merged_into": w.merged_into if w else None,
        }

    def tags_by_kind(self) -> list[tuple[str, list[Tag]]]:
        """Tags grouped by kind, in the lexicon's order of kinds (catch-all diseases left out)."""
        shown = [t for t in self.tags if not (t.kind == DISEASE and t.value in self.hidden_diseases)]
        return [
            (kind, [t for t in shown if t.kind == kind])
            for kind in TAG_KINDS
            if any(t.kind == kind for t in shown)
        ]

    def shown_therapies(self) -> list[ShownTherapy]:
        """The therapies, investigational first and in the record's order within a role."""
        ordered = sorted(self.therapies, key=lambda t: ROLES.index(t.role))
        return [ShownTherapy(t) for t in ordered]

    def labels(self) -> dict[str, list[str] | None]:
        """The guideline labels of the current version, catch-all diseases left out."""
        labels = {
            k: self.summary.get(k) for k in ("diseases", "modalities", "targets", "settings", "populations")
        }
        labels["diseases"] = [d for d in labels["diseases"] or [] if d not in self.hidden_diseases]
        return labels

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        record = self.record.to_dict()
        del record["criteria"]  # under "eligibility"
        contacts = record.pop("central_contacts")
        return {
            **record,
            **self.watch_state(),
            "contacts": contacts,
            "estimated_dates_passed": [
                {"milestone": m.name, "date": m.when} for m in self.passed_estimates()
            ],
            "eligibility": self.eligibility(),
            "mechanism": self.mechanism,
            "in_scope": self.in_scope,
            "version_count": self.version_count,
            "labels": self.labels(),
            "therapies": [t.to_dict() for t in self.therapies],
            "tags": [
                {
                    "kind": t.kind,
                    "value": t.value,
                    "evidence": [{"path": e.path, "text": e.text} for e in t.evidence],
                }
                for t in self.tags
            ],
        }


def stored_events(ctx: ViewContext, nct_id: str, *, include_administrative: bool) -> list[StoredEvent]:
    """The trial's change events, newest first by registry date (the record history's found last)."""
    where = EventFilter(nct_ids=(nct_id,), include_administrative=include_administrative)
    return list_events(ctx.conn, where, limit=TIMELINE_LIMIT, by_registry_date=True)


def trial_changes(
    ctx: ViewContext, raw_nct_id: str, *, include_administrative: bool
) -> tuple[str, list[StoredEvent]]:
    """The canonical NCT id and the trial's events; raises InvalidNctId or TrialNotFound."""
    nct_id = normalise_nct_id(raw_nct_id)
    if not trial_exists(ctx.conn, nct_id):
        raise TrialNotFound(
            f"{nct_id} is not in the local mirror; run `hemewatch sync` or `hemewatch import` first."
        )
    return nct_id, stored_events(ctx, nct_id, include_administrative=include_administrative)


def load_trial_page(
    ctx: ViewContext, raw_nct_id: str, *, include_administrative: bool = False, today: date | None = None
) -> TrialPage:
    """The trial's page; raises InvalidNctId or TrialNotFound."""
    nct_id = normalise_nct_id(raw_nct_id)
    view = load_trial_view(ctx.conn, nct_id)
    study = load_current_study(ctx.conn, nct_id) if view is not None else None
    if view is None or study is None:
        raise TrialNotFound(
            f"{nct_id} is not in the local mirror; run `hemewatch sync` or `hemewatch import` first."
        )
    kinds: dict[str, list[str]] = {}
    for tag in view.tags:
        kinds.setdefault(tag.kind, []).append(tag.value)
    therapies = load_therapies(ctx.conn, view.version_id) if view.version_id is not None else []
    diseases = {*kinds.get(DISEASE, ()), *(view.summary.get("diseases") or ())}
    return TrialPage(
        record=read_trial_record(study),
        summary=view.summary,
        tags=view.tags,
        mechanism=mechanism_line(kinds, ctx.lexicon, therapies),
        timeline=timeline_entries(
            ctx.conn, nct_id, stored_events(ctx, nct_id, include_administrative=include_administrative)
        ),
        version_count=view.version_count,
        in_scope=bool(view.summary.get("in_scope")),
        therapies=therapies,
        hidden_diseases=frozenset(d for d in diseases if is_catch_all(d, ctx.lexicon)),
        facts=current_facts(ctx.conn, nct_id),
        watch=watch_status(ctx.conn, nct_id),
        today=today or datetime.now(UTC).date(),
    )
