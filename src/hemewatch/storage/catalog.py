"""Find trials by their tags and record fields: the query behind `hemewatch trials`, search and the API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import chain
from typing import Any, Literal

import orjson
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    case,
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
from hemewatch.storage.tables import change_events, chunks, classifications, trial_tags, trials
from hemewatch.storage.tags import PAIR_KIND, pair_value
from hemewatch.storage.text_index import matching_ids, matching_trials
from hemewatch.storage.text_search import Requirement, resolve_text

# Keeps IN (...) lists well under SQLite's bound-parameter limit.

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


def _matches_text(text: str, dialect: str, indexed_ids: list[str] | None = None) -> ColumnElement[bool]:
    # The record's own words through the full-text index (title, conditions, interventions as
    # written, agent names, sponsor, NCT id), or what the lexicon reads in the text (agent names,
    # brands, codes, diseases, markers, targets) matched against the tags: "Revuforj" finds
    # revumenib trials. `indexed_ids`: the index's answer, already read (`matching_ids`).
    alternatives: list[ColumnElement[bool]] = []
    if NCT_ID_PATTERN.match(text.strip().upper()):
        alternatives.append(trials.c.nct_id == text.strip().upper())
    if indexed_ids is not None:
        alternatives.append(_among(dialect, indexed_ids))
    else:
        indexed = matching_trials(dialect, text)
        if indexed is not None:
            alternatives.append(trials.c.nct_id.in_(indexed))
    requirements = resolve_text(text, default_lexicon())
    if requirements:
        alternatives.append(and_(*(_meets(requirement) for requirement in requirements)))
    return or_(false(), *alternatives)


def _meets(requirement: Requirement) -> ColumnElement[bool]:
    return or_(*(_has_tag(kind, values) for kind, values in requirement))


def trial_conditions(
    query: TrialQuery, dialect: str = "", *, indexed_ids: list[str] | None = None
) -> list[ColumnElement[bool]]:
    """The WHERE conditions over `trials` for these filters (the dialect matters only for text).

    `indexed_ids`: the trials the full-text index finds for the query's text, when already read.
    """
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
        conditions.append(_matches_text(query.text, dialect, indexed_ids))
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
    if matched is None:
        conditions = and_(true(), *trial_conditions(query, conn.dialect.name))
    else:
        if matched.filters != _filters_of(query):
            raise ValueError("the matched trials are those of other filters")
        if not matched.total:
            return []
        conditions = _among(conn.dialect.name, matched.nct_ids())
    column = _SORT_COLUMNS.get(query.sort)
    sort_expr = column if column is not None else _last_change()
    ordered = sort_expr.desc() if query.descending else sort_expr.asc()
    statement = (
        select(trials.c.nct_id)
        .select_from(_source(query))
        .where(conditions)
        .order_by(ordered.nulls_last(), trials.c.nct_id)
    )
    if query.limit is not None:
        statement = statement.limit(query.limit)
    if query.offset:
        statement = statement.offset(query.offset)
    page = list(conn.execute(statement).scalars())
    rows: dict[str, TrialRow] = {}
    for chunk in chunks(page):
        rows.update((row.nct_id, _row(row)) for row in conn.execute(_details(chunk)))
    return [rows[nct_id] for nct_id in page]


def _details(nct_ids: Sequence[str]) -> Select[Any]:
    joined = trials.outerjoin(classifications, classifications.c.version_id == trials.c.current_version_id)
    return (
        select(trials, classifications.c.labels, _last_change().label("last_change"))
        .select_from(joined)
        .where(trials.c.nct_id.in_(list(nct_ids)))
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


RECORD_FACETS = ("phase", "status", "country")
FACETS = (*TAG_FILTERS, *RECORD_FACETS)
_PARTNERS = {"modality": "target", "target": "modality"}


def facet_counts(conn: Connection, query: TrialQuery, kind: str) -> dict[str, int]:
    """For one facet, how many matching trials carry each value (see `facets`)."""
    return facets(conn, query, (kind,))[kind]


@dataclass(frozen=True)
class FacetTable:
    """The facet values of each trial's current version, as small integers: what facets are counted from.

    `values[i]` is the (facet, value) of value id i; `trials[version id]` the value ids of that
    version, each once. Tag kinds, the pair tags, phases, status and countries are all facets here.
    """

    values: tuple[tuple[str, str], ...]
    trials: dict[int, tuple[int, ...]]


def load_facet_table(conn: Connection, versions: Select[Any] | None = None) -> FacetTable:
    """The facet table of these versions (a select of version ids), or of every trial's current version."""
    chosen = versions if versions is not None else select(trials.c.current_version_id)
    ids: dict[tuple[str, str], int] = {}
    found: dict[int, set[int]] = {}

    def add(version_id: int, facet: str, value: str) -> None:
        key = (facet, value)
        number = ids.get(key)
        if number is None:
            number = ids[key] = len(ids)
        found.setdefault(version_id, set()).add(number)

    tag_rows = conn.execute(
        select(trial_tags.c.version_id, trial_tags.c.kind, trial_tags.c.value).where(
            trial_tags.c.kind.in_((*TAG_FILTERS, PAIR_KIND)), trial_tags.c.version_id.in_(chosen)
        )
    )
    for version_id, kind, value in tag_rows:
        add(version_id, kind, value)
    record_rows = conn.execute(
        select(
            trials.c.current_version_id, trials.c.phases, trials.c.overall_status, trials.c.countries
        ).where(trials.c.current_version_id.in_(chosen))
    )
    for version_id, phases, status, countries in record_rows:
        found.setdefault(version_id, set())
        for phase in split_pipes(phases):
            add(version_id, "phase", phase)
        if status:
            add(version_id, "status", status)
        for country in split_pipes(countries):
            add(version_id, "country", country)
    values = tuple(sorted(ids, key=ids.__getitem__))
    return FacetTable(values, {version_id: tuple(numbers) for version_id, numbers in found.items()})


def facets(
    conn: Connection, query: TrialQuery, names: Sequence[str] = FACETS, *, table: FacetTable | None = None
) -> dict[str, dict[str, int]]:
    """For each facet, how many trials matching the query carry each value (see `facets_and_total`)."""
    return facets_and_total(conn, query, names, table=table)[0]


@dataclass(frozen=True)
class Matched:
    """The trials meeting a query's filters that are not facets, each with the facet filters it meets.

    One read of the text index and of every filter, shared by a search page's facets, count and
    listing (`match_trials`). `rows` holds (NCT id, current version id, mask): bit i of the mask is
    set when the trial meets the i-th facet filter of the query; `everything` is the mask of a trial
    meeting them all.
    """

    filters: TrialQuery
    everything: int
    rows: tuple[tuple[str, int | None, int], ...]

    @property
    def total(self) -> int:
        """How many trials meet every filter (`count_trials` of the query)."""
        return sum(1 for _, _, mask in self.rows if mask == self.everything)

    def nct_ids(self) -> list[str]:
        """The NCT ids of the trials meeting every filter."""
        return [nct_id for nct_id, _, mask in self.rows if mask == self.everything]


def _filters_of(query: TrialQuery) -> TrialQuery:
    # What the trials found depend on: not the order, not the page.
    return replace(query, sort="last_update", descending=True, limit=None, offset=0)


def match_trials(conn: Connection, query: TrialQuery) -> Matched:
    """The trials meeting the query's filters that are not facets, each with the facet filters it meets.

    One query: the text is read from the index once, whatever the page then asks of the result.
    """
    conditions = _facet_conditions(query)
    bits = {key: 1 << index for index, key in enumerate(conditions)}
    mask: Any = literal(0)
    for key, condition in conditions.items():
        mask = mask + case((condition, literal(bits[key])), else_=literal(0))
    # The index is read on its own, first: its ids then stand in the query as one value.
    indexed = matching_ids(conn, query.text) if query.text else None
    rest = and_(true(), *trial_conditions(_without_facets(query), conn.dialect.name, indexed_ids=indexed))
    found = conn.execute(
        select(trials.c.nct_id, trials.c.current_version_id, mask).select_from(_source(query)).where(rest)
    )
    rows = tuple(
        (nct_id, None if version_id is None else int(version_id), int(row_mask))
        for nct_id, version_id, row_mask in found
    )
    return Matched(_filters_of(query), sum(bits.values()), rows)


def _among(dialect: str, nct_ids: list[str]) -> ColumnElement[bool]:
    """`trials.nct_id` is one of these ids, passed as one value (an array, a JSON list), not one per id."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return trials.c.nct_id.in_(
            select(func.unnest(bindparam("ids", nct_ids, type_=ARRAY(String), unique=True)))
        )
    if dialect == "sqlite":
        listed = func.json_each(bindparam("ids", orjson.dumps(nct_ids).decode(), unique=True))
        return trials.c.nct_id.in_(select(listed.table_valued("value").c.value))
    return trials.c.nct_id.in_(nct_ids)


def facets_and_total(
    conn: Connection,
    query: TrialQuery,
    names: Sequence[str] = FACETS,
    *,
    table: FacetTable | None = None,
    matched: Matched | None = None,
) -> tuple[dict[str, dict[str, int]], int]:
    """For each facet, how many trials matching the query carry each value, counted in one pass.

    A facet's own filter is left out of its counts (the alternatives to what is chosen stay
    visible), every other filter holds. With a target filter, the modality facet counts the trials
    with a therapy pairing a chosen target with each modality (and the target facet likewise with a
    modality filter): the count of a value is what choosing it would find.

    One query reads the trials matching every filter that is not a facet, each with a bit mask of
    the facet filters it meets (the listing's own conditions); one scan of their values in the
    facet table (`table`: kept by the caller across requests, else read for these trials) counts
    every facet, each adding up the trials that meet all filters but its own. The trials meeting
    every filter are counted on the way: the second value is `count_trials` of the query. That one
    query is `match_trials`: `matched`, when the caller has it, is used instead.
    """
    if matched is None:
        matched = match_trials(conn, query)
    elif matched.filters != _filters_of(query):
        raise ValueError("the matched trials are those of other filters")
    bits = {key: 1 << index for index, key in enumerate(_facet_conditions(query))}
    everything = matched.everything
    if table is None:
        rest = and_(true(), *trial_conditions(_without_facets(query), conn.dialect.name))
        table = load_facet_table(
            conn, select(trials.c.current_version_id).select_from(_source(query)).where(rest)
        )
    required: dict[str, int] = {}
    partners: dict[str, tuple[str, ...]] = {}
    for name in names:
        excluded = {name}
        partner = _PARTNERS.get(name)
        if partner is not None and getattr(query, partner):
            excluded |= {partner, PAIR_KIND}
            partners[name] = tuple(v.lower() for v in getattr(query, partner))
        required[name] = everything & ~sum(bits.get(key, 0) for key in excluded)
    by_mask: dict[int, list[int]] = {}
    total_matched = 0
    for _, version_id, row_mask in matched.rows:
        if row_mask == everything:
            total_matched += 1
        if version_id is not None:
            by_mask.setdefault(row_mask, []).append(version_id)
    # Per mask, how many trials carry each value (C-speed counting), then split by facet.
    per_mask: dict[int, dict[str, Counter[str]]] = {}
    for row_mask, versions_of in by_mask.items():
        counted = Counter(chain.from_iterable(table.trials.get(v, ()) for v in versions_of))
        split: dict[str, Counter[str]] = {}
        for number, count in counted.items():
            facet, value = table.values[number]
            split.setdefault(facet, Counter())[value] += count
        per_mask[row_mask] = split
    counts: dict[str, dict[str, int]] = {}
    for name in names:
        total: Counter[str] = Counter()
        wanted = required[name]
        if name in partners:
            total = _paired_counts(table, by_mask, wanted, name, partners[name])
        else:
            for row_mask, split in per_mask.items():
                if row_mask & wanted == wanted:
                    total.update(split.get(name, {}))
        counts[name] = _ranked(dict(total))
    return counts, total_matched


def _paired_counts(
    table: FacetTable, by_mask: dict[int, list[int]], wanted: int, name: str, partners: tuple[str, ...]
) -> Counter[str]:
    # Pair values are "target|modality": the chosen partners fix one side, the facet reads the other;
    # a trial counts once for each value, however many of its therapies make it.
    total: Counter[str] = Counter()
    for row_mask, versions_of in by_mask.items():
        if row_mask & wanted != wanted:
            continue
        for version_id in versions_of:
            sides = set()
            for number in table.trials.get(version_id, ()):
                facet, value = table.values[number]
                if facet != PAIR_KIND:
                    continue
                target, _, modality = value.partition("|")
                partner_side, side = (target, modality) if name == "modality" else (modality, target)
                if partner_side.lower() in partners:
                    sides.add(side)
            total.update(sides)
    return total


def _facet_conditions(query: TrialQuery) -> dict[str, ColumnElement[bool]]:
    """The query's filters that are facets, by name ("pair": a target and a modality chosen together)."""
    found: dict[str, ColumnElement[bool]] = {}
    paired = _is_paired(query)
    for kind in TAG_FILTERS:
        values = getattr(query, kind)
        if values and not (paired and kind in ("target", "modality")):
            found[kind] = _has_tag(kind, values)
    if paired:
        found[PAIR_KIND] = _has_pair(query.target, query.modality)
    if query.phase:
        found["phase"] = _like_any(literal("|") + trials.c.phases + literal("|"), query.phase, wrap="|")
    if query.status:
        found["status"] = trials.c.overall_status.in_([s.upper() for s in query.status])
    if query.country:
        found["country"] = _like_any(trials.c.countries, query.country, wrap="|")
    return found


def _without_facets(query: TrialQuery) -> TrialQuery:
    cleared: dict[str, Any] = {name: () for name in FACETS}
    return replace(query, **cleared, limit=None, offset=0)


def _ranked(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
