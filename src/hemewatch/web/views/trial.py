"""A trial page: the record's essentials, its therapies, tags with their evidence, sites and timeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final
from urllib.parse import quote

from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.model import (
    AGENT,
    DISEASE,
    ROLES,
    TAG_KINDS,
    Evidence,
    Tag,
    Therapy,
    evidence_list,
)
from hemewatch.eligibility.model import POLARITIES, Fact, Polarity
from hemewatch.errors import TrialNotFound
from hemewatch.registry.records import normalise_nct_id
from hemewatch.storage.eligibility import current_facts
from hemewatch.storage.events import EventFilter, StoredEvent, list_events
from hemewatch.storage.tags import load_therapies
from hemewatch.storage.trial_view import load_trial_view, trial_exists
from hemewatch.storage.versions import load_current_study
from hemewatch.storage.watchlist import TrialWatch, watch_status
from hemewatch.web.mechanism import is_catch_all, mechanism_line
from hemewatch.web.views.context import ViewContext
from hemewatch.web.views.record import Milestone, TrialRecord, read_trial_record
from hemewatch.web.views.timeline import TimelineEntry, timeline_entries

TIMELINE_LIMIT = 500
_MESH_PAGE: Final = "https://meshb.nlm.nih.gov/record/ui?ui="
_NCIT_PAGE: Final = "https://ncit.nci.nih.gov/ncitbrowser/ConceptReport.jsp?dictionary=NCI%20Thesaurus&code="


def code_url(code: str | None) -> str | None:
    """The page of a MeSH descriptor (D…) or an NCI Thesaurus concept (C…)."""
    if not code:
        return None
    return (_MESH_PAGE if code.startswith("D") else _NCIT_PAGE) + quote(code)


def _same_mesh(code: str, written: str) -> bool:
    """D015470 and the zero-padded D000015470 a record may write are one descriptor."""
    return written == code or (len(code) == 7 and written == f"D000{code[1:]}")


def record_mesh_evidence(study: Mapping[str, Any], code: str) -> Evidence | None:
    """The record's own condition MeSH term with this descriptor id, as evidence naming the id."""
    derived = study.get("derivedSection")
    browse = derived.get("conditionBrowseModule") if isinstance(derived, Mapping) else None
    meshes = browse.get("meshes") if isinstance(browse, Mapping) else None
    for index, mesh in enumerate(meshes if isinstance(meshes, list) else []):
        if not isinstance(mesh, Mapping):
            continue
        written, term = mesh.get("id"), mesh.get("term")
        if isinstance(written, str) and isinstance(term, str) and _same_mesh(code, written.strip()):
            return Evidence(
                f"derivedSection.conditionBrowseModule.meshes[{index}]", f"{written.strip()} {term}"
            )
    return None


def with_codes(tags: list[Tag], study: Mapping[str, Any], lexicon: Lexicon) -> list[Tag]:
    """The tags, each disease tag whose MeSH id the record's condition terms carry with that term as
    evidence too (the classifier reads MeSH terms only when nothing else names the disease)."""
    shown = []
    for tag in tags:
        code = lexicon.code_of(tag.kind, tag.value) if tag.kind == DISEASE else None
        extra = record_mesh_evidence(study, code) if code else None
        if extra is not None and all(e.path != extra.path for e in tag.evidence):
            tag = Tag(tag.kind, tag.value, (*tag.evidence, extra))
        shown.append(tag)
    return shown


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
    # (kind, value) -> the standard code of a tag: MeSH for diseases, NCI Thesaurus for agents.
    codes: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def code_of(self, kind: str, value: str | None) -> str | None:
        """The code of a disease or agent, or None."""
        return self.codes.get((kind, value)) if value else None

    def code_url(self, kind: str, value: str | None) -> str | None:
        """Where the code of a disease or agent is described."""
        return code_url(self.code_of(kind, value))

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
            "therapies": [{**t.to_dict(), "ncit": self.code_of(AGENT, t.agent)} for t in self.therapies],
            "tags": [
                {
                    "kind": t.kind,
                    "value": t.value,
                    "code": self.code_of(t.kind, t.value),
                    "evidence": evidence_list(t.evidence),
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
    codes: dict[tuple[str, str], str] = {
        (tag.kind, tag.value): code
        for tag in view.tags
        if (code := ctx.lexicon.code_of(tag.kind, tag.value)) is not None
    }
    codes.update(
        ((AGENT, t.agent), code)
        for t in therapies
        if t.agent is not None and (code := ctx.lexicon.code_of(AGENT, t.agent)) is not None
    )
    return TrialPage(
        record=read_trial_record(study),
        summary=view.summary,
        tags=with_codes(view.tags, study, ctx.lexicon),
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
        codes=codes,
    )
