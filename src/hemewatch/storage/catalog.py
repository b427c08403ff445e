"""Find trials by their tags and record fields: the query behind `hemewatch trials`, search and the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select
from sqlalchemy.engine import Connection

from hemewatch.classification.lexicon import default_lexicon
from hemewatch.storage.tables import change_events, classifications, trial_tags, trial_therapies, trials
from hemewatch.storage.tags import PAIR_KIND, pair_value
from hemewatch.storage.text_search import Requirement, resolve_text

SortKey = Literal["nct_id", "title", "status", "phase", "last_update", "start_date", "last_change"]
TAG_FILTERS = ("disease", "modality", "target", "setting", "population", "agent")


@dataclass(frozen=True)
class TrialQuery:
    """Filters over the current version of each trial; values within a filter are alternatives.

    `target` and `modality` given together ask for one therapy with both (a pair tag), not a trial
    that has the target in one therapy and the modality in another.
    """

    disease: tuple[str, ...] = ()
    modality: tuple[str, ...] = ()
    target: tuple[str, ...] = ()
    setting: tuple[str, ...] = ()
    population: tuple[str, ...] = ()
    agent: tuple[str, ...] = ()
    phase: tuple[str, ...] = ()  # PHASE1, PHASE2, … (a phase 1/2 trial matches both)
    status: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    sponsor: str | None = None  # case-insensitive substring of the lead sponsor
    # Case-insensitive part of the title, sponsor, NCT id, conditions or a therapy's name as written,
    # or lexicon names (agent, brand, code, disease, marker, target) of the trial's tags.
    text: str | None = None
    nct_ids: tuple[str, ...] = ()
    in_scope_only: bool = True
    acute_leukemia: bool | None = None
    immunotherapy: bool | None = None
    sort: SortKey = "last_update"
    descending: bool = True
    limit: int | None = 100
    offset: int = 0


@dataclass
class TrialRow:
    """One trial as listed: summary fields of its current version plus its headline labels."""

    nct_id: str
    title: str | None
    overall_status: str | None
    phases: list[str]
    lead_sponsor: str | None
    countries: list[str]
    start_date: str | None
    last_update_post_date: date | None
    enrollment: int | None
    in_scope: bool
    labels: dict[str, Any] = field(default_factory=dict)
    last_change: date | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "nct_id": self.nct_id,
            "title": self.title,
            "overall_status": self.overall_status,
            "phases": self.phases,
            "lead_sponsor": self.lead_sponsor,
            "countries": self.countries,
            "start_date": self.start_date,
            "last_update_post_date": self.last_update_post_date.isoformat()
            if self.last_update_post_date
            else None,
            "last_change": self.last_change.isoformat() if self.last_change else None,
            "enrollment": self.enrollment,
            "in_scope": self.in_scope,
            "acute_leukemia": self.labels.get("acute_leukemia"),
            "immunotherapy": self.labels.get("immunotherapy"),
            "diseases": self.labels.get("diseases", []),
            "modalities": self.labels.get("modalities", []),
            "targets": self.labels.get("targets", []),
            "settings": self.labels.get("settings", []),
            "populations": self.labels.get("populations", []),
            "agents": self.labels.get("agents", []),
        }


def _has_tag(kind: str, values: Sequence[str]) -> ColumnElement[bool]:
    # Driven from the (kind, value_folded, version_id) index: the few versions carrying
    # the tag, then their trials by current_version_id, never a scan of every trial.
    tagged = select(trial_tags.c.version_id).where(
        trial_tags.c.kind == kind, trial_tags.c.value_folded.in_([v.lower() for v in values])
    )
    return trials.c.current_version_id.in_(tagged)


def _like_any(column: Any, values: Sequence[str], *, wrap: str) -> ColumnElement[bool]:
    return or_(
        *(func.lower(column).like(f"%{wrap}{_escape_like(v.lower())}{wrap}%", escape="\\") for v in values)
    )


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _last_change() -> Any:
    return (
        select(func.max(change_events.c.registry_date))
        .where(change_events.c.nct_id == trials.c.nct_id, change_events.c.alertable.is_(True))
        .scalar_subquery()
    )


def _has_pair(targets: Sequence[str], modalities: Sequence[str]) -> ColumnElement[bool]:
    return _has_tag(PAIR_KIND, [pair_value(t, m) for t in targets for m in modalities])


def _is_paired(query: TrialQuery) -> bool:
    return bool(query.target) and bool(query.modality)


def _matches_text(text: str) -> ColumnElement[bool]:
    # A part of the record's own words, or what the lexicon reads in the text (agent names, brands,
    # codes, diseases, markers, targets) matched against the tags: "Revuforj" finds revumenib trials.
    named = select(trial_therapies.c.version_id).where(
        trial_therapies.c.name_folded.like(f"%{_escape_like(text.casefold())}%", escape="\\")
    )
    alternatives = [
        _like_any(trials.c.brief_title, [text], wrap=""),
        _like_any(trials.c.lead_sponsor, [text], wrap=""),
        _like_any(trials.c.nct_id, [text], wrap=""),
        _like_any(trials.c.conditions, [text], wrap=""),
        trials.c.current_version_id.in_(named),
    ]
    requirements = resolve_text(text, default_lexicon())
    if requirements:
        alternatives.append(and_(*(_meets(requirement) for requirement in requirements)))
    return or_(*alternatives)


def _meets(requirement: Requirement) -> ColumnElement[bool]:
    return or_(*(_has_tag(kind, values) for kind, values in requirement))


def _conditions(query: TrialQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    paired = _is_paired(query)
    for kind in TAG_FILTERS:
        values = getattr(query, kind)
        if values and not (paired and kind in ("target", "modality")):
            conditions.append(_has_tag(kind, values))
    if paired:
        conditions.append(_has_pair(query.target, query.modality))
    if query.phase:
        conditions.append(_like_any(literal("|") + trials.c.phases + literal("|"), query.phase, wrap="|"))
    if query.status:
        conditions.append(trials.c.overall_status.in_([s.upper() for s in query.status]))
    if query.country:
        conditions.append(_like_any(trials.c.countries, query.country, wrap="|"))
    if query.sponsor:
        conditions.append(_like_any(trials.c.lead_sponsor, [query.sponsor], wrap=""))
    if query.text:
        conditions.append(_matches_text(query.text))
    if query.nct_ids:
        conditions.append(trials.c.nct_id.in_([n.upper() for n in query.nct_ids]))
    if query.in_scope_only:
        conditions.append(trials.c.in_scope.is_(True))
    if query.acute_leukemia is not None:
        conditions.append(classifications.c.acute_leukemia.is_(query.acute_leukemia))
    if query.immunotherapy is not None:
        conditions.append(classifications.c.immunotherapy.is_(query.immunotherapy))
    return conditions


def _base(query: TrialQuery) -> Select[Any]:
    joined = trials.outerjoin(classifications, classifications.c.version_id == trials.c.current_version_id)
    return (
        select(trials, classifications.c.labels, _last_change().label("last_change"))
        .select_from(joined)
        .where(and_(*_conditions(query)))
    )


_SORT_COLUMNS: dict[str, Any] = {
    "nct_id": trials.c.nct_id,
    "title": trials.c.brief_title,
    "status": trials.c.overall_status,
    "phase": trials.c.phases,
    "last_update": trials.c.last_update_post_date,
    "start_date": trials.c.start_date,
}


def search_trials(conn: Connection, query: TrialQuery) -> list[TrialRow]:
    """The trials matching the query, sorted and paginated."""
    statement = _base(query)
    column = _SORT_COLUMNS.get(query.sort)
    sort_expr = column if column is not None else _last_change()
    ordered = sort_expr.desc() if query.descending else sort_expr.asc()
    statement = statement.order_by(ordered.nulls_last(), trials.c.nct_id)
    if query.limit is not None:
        statement = statement.limit(query.limit)
    if query.offset:
        statement = statement.offset(query.offset)
    return [_row(row) for row in conn.execute(statement)]


def count_trials(conn: Connection, query: TrialQuery) -> int:
    """How many trials match the query (ignoring pagination)."""
    joined = trials.outerjoin(classifications, classifications.c.version_id == trials.c.current_version_id)
    statement = select(func.count()).select_from(joined).where(and_(*_conditions(query)))
    return int(conn.execute(statement).scalar_one())


def _row(row: Any) -> TrialRow:
    return TrialRow(
        nct_id=row.nct_id,
        title=row.brief_title,
        overall_status=row.overall_status,
        phases=[p for p in (row.phases or "").split("|") if p],
        lead_sponsor=row.lead_sponsor,
        countries=[c for c in (row.countries or "").split("|") if c],
        start_date=row.start_date,
        last_update_post_date=row.last_update_post_date,
        enrollment=row.enrollment,
        in_scope=bool(row.in_scope),
        labels=dict(row.labels) if row.labels else {},
        last_change=row.last_change,
    )


def facet_counts(conn: Connection, query: TrialQuery, kind: str) -> dict[str, int]:
    """For one tag kind, how many matching trials carry each value.

    With a target filter, the modality facet counts the trials with a therapy pairing a chosen
    target with each modality (and the target facet likewise with a modality filter): the count
    of a value is what choosing it would find.
    """
    partner: tuple[str, ...] = {"modality": query.target, "target": query.modality}.get(kind, ())
    # With a partner, the pair stands for the partner filter: the trials matching the rest are
    # counted, which is what choosing a value finds.
    unlimited = replace(query, limit=None, offset=0)
    if partner and kind == "modality":
        unlimited = replace(unlimited, target=())
    elif partner:
        unlimited = replace(unlimited, modality=())
    matching = _base(unlimited).with_only_columns(trials.c.current_version_id)
    if partner:
        return _paired_counts(conn, matching, kind, partner)
    statement = (
        select(trial_tags.c.value, func.count(func.distinct(trial_tags.c.version_id)))
        .where(trial_tags.c.kind == kind, trial_tags.c.version_id.in_(matching.scalar_subquery()))
        .group_by(trial_tags.c.value)
        .order_by(func.count(func.distinct(trial_tags.c.version_id)).desc(), trial_tags.c.value)
    )
    return {row[0]: int(row[1]) for row in conn.execute(statement)}


def _paired_counts(
    conn: Connection, matching: Select[Any], kind: str, partner: Sequence[str]
) -> dict[str, int]:
    # Pair values are "target|modality": the chosen partners fix one side, the facet reads the other.
    if kind == "modality":
        patterns = [f"{_escape_like(p.lower())}|%" for p in partner]
    else:
        patterns = [f"%|{_escape_like(p.lower())}" for p in partner]
    rows = conn.execute(
        select(trial_tags.c.version_id, trial_tags.c.value).where(
            trial_tags.c.kind == PAIR_KIND,
            or_(*(trial_tags.c.value_folded.like(pattern, escape="\\") for pattern in patterns)),
            trial_tags.c.version_id.in_(matching.scalar_subquery()),
        )
    )
    side = 1 if kind == "modality" else 0
    versions: dict[str, set[int]] = {}
    for version_id, value in rows:
        versions.setdefault(value.split("|", 1)[side], set()).add(int(version_id))
    ranked = sorted(versions.items(), key=lambda item: (-len(item[1]), item[0]))
    return {value: len(found) for value, found in ranked}
