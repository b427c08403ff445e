"""Which studies a GET /studies request selects, and in what order."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tests.fakeapi.essie import EssieError, Node, evaluate, parse_essie, scope_of
from tests.fakeapi.fields import Field, FieldIndex, iter_values


class BadRequest(Exception):
    """A request the API answers with HTTP 400 and this text."""


_CONDITION = (
    "Condition", "BriefTitle", "OfficialTitle", "Acronym", "Keyword",
    "ConditionMeshTerm", "ConditionAncestorTerm", "ConditionBrowseLeafName",
)  # fmt: skip
_INTERVENTION = (
    "InterventionName", "InterventionOtherName", "ArmGroupInterventionName", "ArmGroupLabel",
    "InterventionMeshTerm", "InterventionAncestorTerm", "InterventionBrowseLeafName",
)  # fmt: skip
_IDS = ("NCTId", "NCTIdAlias", "OrgStudyId", "SecondaryId", "Acronym")
_SPONSORS = ("LeadSponsorName", "CollaboratorName")
_BASIC = (
    *_CONDITION, *_INTERVENTION, *_IDS, *_SPONSORS, "BriefSummary", "OverallStatus", "Phase", "StudyType",
)  # fmt: skip

# The fields each query.* parameter searches, after the search areas the API documents.
QUERY_AREAS: Mapping[str, tuple[str, ...]] = {
    "query.cond": _CONDITION,
    "query.term": _BASIC,
    "query.intr": _INTERVENTION,
    "query.titles": ("BriefTitle", "OfficialTitle", "Acronym"),
    "query.outc": ("PrimaryOutcomeMeasure", "SecondaryOutcomeMeasure", "OtherOutcomeMeasure"),
    "query.spons": _SPONSORS,
    "query.lead": ("LeadSponsorName",),
    "query.id": _IDS,
    "query.locn": ("LocationFacility", "LocationCity", "LocationState", "LocationZip", "LocationCountry"),
    "query.patient": _BASIC,
}
ADVANCED_AREA = _BASIC

STATUSES = frozenset(
    {
        "ACTIVE_NOT_RECRUITING", "COMPLETED", "ENROLLING_BY_INVITATION", "NOT_YET_RECRUITING",
        "RECRUITING", "SUSPENDED", "TERMINATED", "WITHDRAWN", "AVAILABLE", "NO_LONGER_AVAILABLE",
        "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING", "WITHHELD", "UNKNOWN",
    }
)  # fmt: skip
_NCT_ID = re.compile(r"[Nn][Cc][Tt]0*([1-9]\d{0,7})")
_LIST_SEPARATOR = re.compile(r"[,|]")

Predicate = Callable[["StudyView"], bool]


class StudyView:
    """A study plus a per-request cache of field values, so each field is walked once."""

    def __init__(self, study: Mapping[str, Any]) -> None:
        self.study = study
        self._values: dict[tuple[str, ...], list[Any]] = {}

    def values(self, field: Field) -> list[Any]:
        """Every value ``field`` has in this study."""
        if field.path not in self._values:
            self._values[field.path] = list(iter_values(self.study, field.path))
        return self._values[field.path]


def canonical_nct_id(value: str) -> str | None:
    """NCT plus eight digits for anything the API's id pattern accepts (e.g. nct123), else None."""
    match = _NCT_ID.fullmatch(value.strip())
    return f"NCT{int(match[1]):08d}" if match else None


def split_list(value: str) -> list[str]:
    """The API's comma- or pipe-separated list parameters."""
    return [item.strip() for item in _LIST_SEPARATOR.split(value) if item.strip()]


def build_predicates(params: Mapping[str, str], fields: FieldIndex) -> list[Predicate]:
    """One test per query/filter parameter; a study is selected when it passes all of them."""
    predicates: list[Predicate] = []
    for name, value in params.items():
        # postFilter.* acts exactly like filter.* when no aggregation is computed (API spec).
        area = name.replace("postFilter.", "filter.", 1)
        if name in QUERY_AREAS:
            predicates.append(_essie_predicate(name, value, scope_of(QUERY_AREAS[name], fields), fields))
        elif area == "filter.advanced":
            predicates.append(_essie_predicate(name, value, scope_of(ADVANCED_AREA, fields), fields))
        elif area == "filter.overallStatus":
            predicates.append(_status_predicate(name, value, fields))
        elif area == "filter.ids":
            predicates.append(_ids_predicate(name, value, fields))
    return predicates


def _essie_predicate(name: str, expression: str, scope: tuple[Field, ...], fields: FieldIndex) -> Predicate:
    if not expression.strip():
        return lambda view: True
    try:
        node: Node = parse_essie(expression, fields)
    except EssieError as exc:
        raise BadRequest(f"Parameter '{name}' has invalid query syntax: {exc}") from None

    def matches(view: StudyView) -> bool:
        try:
            return evaluate(node, view.values, scope)
        except EssieError as exc:
            raise BadRequest(f"Parameter '{name}' has an invalid query: {exc}") from None

    return matches


def _status_predicate(name: str, value: str, fields: FieldIndex) -> Predicate:
    wanted = {status.upper() for status in split_list(value)}
    unknown = sorted(wanted - STATUSES)
    if unknown or not wanted:
        raise BadRequest(f"Parameter '{name}' has invalid value(s): {', '.join(unknown) or repr(value)}")
    field = fields.require("OverallStatus")
    return lambda view: any(status in wanted for status in view.values(field))


def _ids_predicate(name: str, value: str, fields: FieldIndex) -> Predicate:
    wanted: set[str] = set()
    for item in split_list(value):
        nct_id = canonical_nct_id(item)
        if nct_id is None:
            raise BadRequest(f"Parameter '{name}' contains invalid NCT ID: '{item}'")
        wanted.add(nct_id)
    id_fields = (fields.require("NCTId"), fields.require("NCTIdAlias"))
    return lambda view: any(value in wanted for field in id_fields for value in view.values(field))


def select_studies(studies: Sequence[Mapping[str, Any]], predicates: list[Predicate]) -> list[StudyView]:
    """The studies passing every predicate, in dataset order."""
    views = (StudyView(study) for study in studies)
    return [view for view in views if all(predicate(view) for predicate in predicates)]


def sort_studies(views: list[StudyView], sort: str | None, fields: FieldIndex) -> list[StudyView]:
    """Apply ``sort`` (up to two ``Field[:asc|desc]``); studies missing the field always go last."""
    if sort is None:
        return views
    items = split_list(sort)
    if not items or len(items) > 2:
        raise BadRequest("Parameter 'sort' takes one or two comma- or pipe-separated items")
    ordered = list(views)
    # Sorting by the secondary key first, then stably by the primary one, gives both orders at once.
    for item in reversed(items):
        name, _, direction = item.partition(":")
        if direction not in ("", "asc", "desc"):
            raise BadRequest(f"Parameter 'sort' has an invalid direction: '{item}'")
        if name == "@relevance":
            continue
        field = fields.resolve(name)
        if field is None or not field.sortable:
            raise BadRequest(f"Parameter 'sort' contains a field that cannot be sorted on: '{name}'")
        descending = direction == "desc" or (not direction and field.source_type == "DATE")
        present = [view for view in ordered if view.values(field)]
        missing = [view for view in ordered if not view.values(field)]
        present.sort(key=functools.partial(_first_value_key, field=field), reverse=descending)
        ordered = present + missing
    return ordered


def _first_value_key(view: StudyView, *, field: Field) -> tuple[int, float, str]:
    value = view.values(field)[0]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))
