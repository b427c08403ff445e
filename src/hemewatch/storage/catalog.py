"""Find trials by their tags and record fields: the query behind `hemewatch trials`, search and the API."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from typing import Any, Final, Literal

import numpy as np
from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Connection

from hemewatch.classification.lexicon import default_lexicon
from hemewatch.registry.records import NCT_ID_PATTERN
from hemewatch.storage.codec import split_pipes
from hemewatch.storage.facet_index import FacetIndex, Trials
from hemewatch.storage.facet_index import load_facet_index as load_index
from hemewatch.storage.tables import change_events, chunks, classifications, trial_tags, trials
from hemewatch.storage.tags import PAIR_KIND, pair_value
from hemewatch.storage.text_index import matching_numbers, matching_trials
from hemewatch.storage.text_search import Requirement, resolve_text

# Keeps IN (...) lists well under SQLite's bound-parameter limit.

SortKey = Literal["nct_id", "title", "status", "phase", "last_update", "start_date", "last_change"]
TAG_FILTERS = ("disease", "modality", "target", "setting", "population", "agent")
RECORD_FACETS = ("phase", "status", "country")


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


def _is_paired(query: TrialQuery) -> bool:
    return bool(query.target) and bool(query.modality)


def _matches_text(text: str, dialect: str) -> ColumnElement[bool]:
    # The record's own words through the full-text index (title, conditions, interventions as
    # written, agent names, sponsor, NCT id), or what the lexicon reads in the text (agent names,
    # brands, codes, diseases, markers, targets) matched against the tags: "Revuforj" finds
    # revumenib trials. A search page reads the same in the facet index instead (`_text_matches`).
    alternatives: list[ColumnElement[bool]] = []
    if NCT_ID_PATTERN.match(text.strip().upper()):
        alternatives.append(trials.c.nct_id == text.strip().upper())
    indexed = matching_trials(dialect, text)
    if indexed is not None:
        alternatives.append(trials.c.nct_id.in_(indexed))
    requirements = resolve_text(text, default_lexicon())
    if requirements:
        alternatives.append(and_(*(_meets(requirement) for requirement in requirements)))
    return or_(false(), *alternatives)


def _meets(requirement: Requirement) -> ColumnElement[bool]:
    return or_(*(_has_tag(kind, values) for kind, values in requirement))


def facet_choices(query: TrialQuery) -> dict[str, tuple[str, ...]]:
    """The query's facet filters by name, values as given: tag kinds, "pair" (a target and a modality
    chosen together: "CD19|CAR-T" values, in place of both), phase, status, country.

    The SQL conditions (`trial_conditions`) and the facet index (`match_trials`) both read them here.
    """
    paired = _is_paired(query)
    found: dict[str, tuple[str, ...]] = {}
    for kind in TAG_FILTERS:
        values = getattr(query, kind)
        if values and not (paired and kind in ("target", "modality")):
            found[kind] = values
    if paired:
        found[PAIR_KIND] = tuple(pair_value(t, m) for t in query.target for m in query.modality)
    for facet in RECORD_FACETS:
        if getattr(query, facet):
            found[facet] = getattr(query, facet)
    return found


_RECORD_CONDITIONS: dict[str, Callable[[Sequence[str]], ColumnElement[bool]]] = {
    "phase": lambda values: _like_any(literal("|") + trials.c.phases + literal("|"), values, wrap="|"),
    "status": lambda values: trials.c.overall_status.in_([s.upper() for s in values]),
    "country": lambda values: _like_any(trials.c.countries, values, wrap="|"),
}


def trial_conditions(query: TrialQuery, dialect: str = "") -> list[ColumnElement[bool]]:
    """The WHERE conditions over `trials` for these filters (the dialect matters only for text)."""
    conditions = [
        _RECORD_CONDITIONS[name](values) if name in _RECORD_CONDITIONS else _has_tag(name, values)
        for name, values in facet_choices(query).items()
    ]
    if query.sponsor:
        conditions.append(_like_any(trials.c.lead_sponsor, [query.sponsor], wrap=""))
    if query.text:
        conditions.append(_matches_text(query.text, dialect))
    if query.nct_ids:
        conditions.append(trials.c.nct_id.in_([n.upper() for n in query.nct_ids]))
    if query.in_scope_only:
        conditions.append(trials.c.in_scope.is_(True))
    if query.acute_leukemia is not None:
        conditions.append(classifications.c.acute_leukemia.is_(query.acute_leukemia))
    if query.immunotherapy is not None:
        conditions.append(classifications.c.immunotherapy.is_(query.immunotherapy))
    return conditions


def _source(query: TrialQuery) -> Any:
    # Classifications only when a filter reads them.
    if query.acute_leukemia is None and query.immunotherapy is None:
        return trials
    return trials.outerjoin(classifications, classifications.c.version_id == trials.c.current_version_id)


_SORT_COLUMNS: dict[str, Any] = {
    "nct_id": trials.c.nct_id,
    "title": trials.c.brief_title,
    "status": trials.c.overall_status,
    "phase": trials.c.phases,
    "last_update": trials.c.last_update_post_date,
    "start_date": trials.c.start_date,
}


def search_trials(conn: Connection, query: TrialQuery, *, matched: Matched | None = None) -> list[TrialRow]:
    """The trials matching the query, sorted and paginated.

    Two steps: the page's NCT ids (the filters, the sort key and the id only, so the database sorts
    narrow rows), then those trials with their labels and newest change (read for the page alone,
    not for every matching trial). With `matched` (`match_trials` of the same filters) the filters are
    not read again: the page is sorted out of the trials it found.
    """
    if matched is not None:
        if matched.filters != _filters_of(query):
            raise ValueError("the matched trials are those of other filters")
        page = _page_of(conn, query, matched)
    else:
        statement = (
            select(trials.c.nct_id)
            .select_from(_source(query))
            .where(and_(true(), *trial_conditions(query, conn.dialect.name)))
            .order_by(*_ordering(query))
        )
        if query.limit is not None:
            statement = statement.limit(query.limit)
        if query.offset:
            statement = statement.offset(query.offset)
        page = list(conn.execute(statement).scalars())
    rows: dict[str, TrialRow] = {}
    for chunk in chunks(page):
        rows.update((row.nct_id, _row(row)) for row in conn.execute(_DETAILS, {"nct_ids": list(chunk)}))
    return [rows[nct_id] for nct_id in page]


def _ordering(query: TrialQuery) -> tuple[Any, Any]:
    """ORDER BY the query's sort key (missing values last), then NCT id: one order, whatever the filters."""
    column = _SORT_COLUMNS.get(query.sort)
    sort_expr = column if column is not None else _last_change()
    ordered = sort_expr.desc() if query.descending else sort_expr.asc()
    return ordered.nulls_last(), trials.c.nct_id


def _page_of(conn: Connection, query: TrialQuery, matched: Matched) -> list[str]:
    # The database orders every trial once per sort (kept in the facet index, so its collation
    # decides, as it does for a filtered query); a page is then the matching trials of lowest rank.
    index = matched.index
    ranks = index.remembered(
        ("rank", query.sort, query.descending),
        lambda: index.ranks(
            conn.execute(select(trials.c.nct_id).order_by(*_ordering(query))).scalars().all()
        ),
    )
    positions = np.flatnonzero(matched.everything)
    ranked = ranks[positions]
    end = len(ranked) if query.limit is None else min(len(ranked), query.offset + query.limit)
    if end < len(ranked):
        lowest = np.argpartition(ranked, end - 1)[:end] if end else ranked[:0]
        order = lowest[np.argsort(ranked[lowest], kind="stable")]
    else:
        order = np.argsort(ranked, kind="stable")
    return index.ids_at(positions[order[query.offset : end]])


# A page's trials with their labels and last change; built once (every listing page runs it).
_DETAILS: Final = (
    select(trials, classifications.c.labels, _last_change().label("last_change"))
    .select_from(
        trials.outerjoin(classifications, classifications.c.version_id == trials.c.current_version_id)
    )
    .where(trials.c.nct_id.in_(bindparam("nct_ids", expanding=True)))
)


def count_trials(conn: Connection, query: TrialQuery) -> int:
    """How many trials match the query (ignoring pagination)."""
    conditions = trial_conditions(query, conn.dialect.name)
    statement = select(func.count()).select_from(_source(query)).where(and_(true(), *conditions))
    return int(conn.execute(statement).scalar_one())


def _row(row: Any) -> TrialRow:
    return TrialRow(
        nct_id=row.nct_id,
        title=row.brief_title,
        overall_status=row.overall_status,
        phases=split_pipes(row.phases),
        lead_sponsor=row.lead_sponsor,
        countries=split_pipes(row.countries),
        start_date=row.start_date,
        last_update_post_date=row.last_update_post_date,
        enrollment=row.enrollment,
        in_scope=bool(row.in_scope),
        labels=dict(row.labels) if row.labels else {},
        last_change=row.last_change,
    )


FACETS = (*TAG_FILTERS, *RECORD_FACETS)
_PARTNERS = {"modality": "target", "target": "modality"}


def facet_counts(conn: Connection, query: TrialQuery, kind: str) -> dict[str, int]:
    """For one facet, how many matching trials carry each value (see `facets`)."""
    return facets(conn, query, (kind,))[kind]


def load_facet_index(conn: Connection) -> FacetIndex:
    """Every trial's facet values (the search page keeps it until the data change)."""
    return load_index(conn, (*TAG_FILTERS, PAIR_KIND))


def facets(
    conn: Connection, query: TrialQuery, names: Sequence[str] = FACETS, *, index: FacetIndex | None = None
) -> dict[str, dict[str, int]]:
    """For each facet, how many trials matching the query carry each value (see `facets_and_total`)."""
    return facets_and_total(conn, query, names, index=index)[0]


@dataclass(frozen=True)
class Matched:
    """The trials a query's filters find: those meeting its filters that are not facets, each facet filter's.

    One read of the text index and of every filter, shared by a search page's facets, count and
    listing (`match_trials`). `rest` holds the trials meeting the query's filters that are not
    facets; `meets` the trials meeting each facet filter ("pair": a target and a modality chosen
    together), as flags over the positions of `index`.
    """

    filters: TrialQuery
    index: FacetIndex
    rest: Trials
    meets: Mapping[str, Trials]

    def selected(self, leaving_out: Collection[str] = ()) -> Trials:
        """The trials meeting every filter but the facet filters named."""
        chosen = self.rest.copy()
        for key, found in self.meets.items():
            if key not in leaving_out:
                chosen &= found
        return chosen

    @cached_property
    def everything(self) -> Trials:
        """The trials meeting every filter."""
        return self.selected()

    @property
    def total(self) -> int:
        """How many trials meet every filter (`count_trials` of the query)."""
        return int(self.everything.sum())

    def nct_ids(self) -> list[str]:
        """The NCT ids of the trials meeting every filter."""
        return self.index.ids_at(np.flatnonzero(self.everything))


def _filters_of(query: TrialQuery) -> TrialQuery:
    # What the trials found depend on: not the order, not the page.
    return replace(query, sort="last_update", descending=True, limit=None, offset=0)


def match_trials(conn: Connection, query: TrialQuery, *, index: FacetIndex | None = None) -> Matched:
    """The trials the query's filters find, each filter read once (`index`: kept by the caller, else read).

    The text is read from the full-text index once, whatever the page then asks of the result; the
    facet filters and what the lexicon reads in the text are looked up in the facet index; the few
    filters it does not hold (sponsor, the acute leukemia and immunotherapy labels) are one query.
    """
    if index is None:
        index = load_facet_index(conn)
    rest = index.in_scope.copy() if query.in_scope_only else index.every()
    if query.text:
        rest &= _text_matches(conn, query.text, index)
    if query.nct_ids:
        rest &= index.of_ids(n.upper() for n in query.nct_ids)
    if query.sponsor or query.acute_leukemia is not None or query.immunotherapy is not None:
        unindexed = TrialQuery(
            sponsor=query.sponsor,
            acute_leukemia=query.acute_leukemia,
            immunotherapy=query.immunotherapy,
            in_scope_only=False,
        )
        found = conn.execute(
            select(trials.c.nct_id)
            .select_from(_source(unindexed))
            .where(and_(true(), *trial_conditions(unindexed, conn.dialect.name)))
        )
        rest &= index.of_ids(found.scalars())
    return Matched(_filters_of(query), index, rest, _facet_filters(query, index))


def _text_matches(conn: Connection, text: str, index: FacetIndex) -> Trials:
    # What `_matches_text` selects: the NCT id itself, the full-text index's trials, or the trials
    # with every tag requirement the lexicon reads in the text.
    found = index.none()
    nct_id = text.strip().upper()
    if NCT_ID_PATTERN.match(nct_id):
        found |= index.of_ids([nct_id])
    indexed = matching_numbers(conn, text)
    if indexed is not None:
        found |= index.of_numbers(indexed)
    requirements = resolve_text(text, default_lexicon())
    if requirements:
        every = index.every()
        for requirement in requirements:
            alternatives = index.none()
            for kind, values in requirement:
                alternatives |= index.carrying(kind, values)
            every &= alternatives
        found |= every
    return found


def _facet_filters(query: TrialQuery, index: FacetIndex) -> dict[str, Trials]:
    """The trials meeting each facet filter of the query, by name (see `facet_choices`)."""
    return {name: index.carrying(name, values) for name, values in facet_choices(query).items()}


def facets_and_total(
    conn: Connection,
    query: TrialQuery,
    names: Sequence[str] = FACETS,
    *,
    index: FacetIndex | None = None,
    matched: Matched | None = None,
) -> tuple[dict[str, dict[str, int]], int]:
    """For each facet, how many trials matching the query carry each value; and how many match.

    A facet's own filter is left out of its counts (the alternatives to what is chosen stay
    visible), every other filter holds. With a target filter, the modality facet counts the trials
    with a therapy pairing a chosen target with each modality (and the target facet likewise with a
    modality filter): the count of a value is what choosing it would find.

    The trials the filters find (`match_trials`; `matched` when the caller has them) are counted
    in the facet index (`index`: kept by the caller across requests, else read now): each facet is
    one gather and one bincount over its entries. The second value is `count_trials` of the query.
    """
    if matched is None:
        matched = match_trials(conn, query, index=index)
    elif matched.filters != _filters_of(query):
        raise ValueError("the matched trials are those of other filters")
    selections: dict[frozenset[str], Trials] = {}
    counts: dict[str, dict[str, int]] = {}
    for name in names:
        excluded = {name}
        partner = _PARTNERS.get(name)
        chosen_partners: tuple[str, ...] = () if partner is None else getattr(query, partner)
        if partner is not None and chosen_partners:
            excluded |= {partner, PAIR_KIND}
        key = frozenset(excluded & matched.meets.keys())
        selected = selections.get(key)
        if selected is None:
            selected = selections[key] = matched.selected(key)
        if chosen_partners:
            found = _paired_counts(matched.index, selected, name, {v.lower() for v in chosen_partners})
        else:
            found = matched.index.columns[name].counts(selected)
        counts[name] = _ranked(found)
    return counts, matched.total


def _paired_counts(index: FacetIndex, selected: Trials, name: str, partners: set[str]) -> dict[str, int]:
    # Pair values are "target|modality": the chosen partners fix one side, the facet reads the other;
    # a trial counts once for each value, however many of its therapies make it.
    pairs = index.columns[PAIR_KIND]
    sides: dict[str, int] = {}
    side_of = np.full(len(pairs.values), -1, dtype=np.int64)
    for number, value in enumerate(pairs.values):
        target, _, modality = value.partition("|")
        partner_side, side = (target, modality) if name == "modality" else (modality, target)
        if partner_side.lower() in partners:
            side_of[number] = sides.setdefault(side, len(sides))
    if not sides:
        return {}
    entry_sides = side_of[pairs.value]
    keep = (entry_sides >= 0) & selected[pairs.trial]
    distinct = np.unique(pairs.trial[keep].astype(np.int64) * len(sides) + entry_sides[keep])
    tally = np.bincount(distinct % len(sides), minlength=len(sides))
    names = list(sides)
    return {names[number]: int(tally[number]) for number in np.flatnonzero(tally)}


def _ranked(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
