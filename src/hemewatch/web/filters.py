"""The trial filters shared by search, disease pages, the JSON API and tracker forms.

Tag, phase and status values are read through hemewatch.vocabulary: any accepted spelling becomes the
canonical value, and an unknown value fails validation (a 422 naming the valid values).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlencode

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from hemewatch import vocabulary
from hemewatch.errors import InvalidFilterValue
from hemewatch.registry.vocabulary import OverallStatus, Phase
from hemewatch.storage.catalog import SortKey, TrialQuery
from hemewatch.vocabulary import FILTER_DIMENSIONS, kind_label

Status = OverallStatus
LIST_FIELDS: Final = (*FILTER_DIMENSIONS, "country")
TEXT_FIELDS: Final = ("sponsor", "q")
MAX_VALUES: Final = 50


_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same rule in the JSON schema, so API clients (and schema-driven tests) know it.
PRINTABLE: Final = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def refuse_control(value: str) -> str:
    """The value, or a validation error when it holds a control character (PostgreSQL refuses NUL)."""
    if _CONTROL.search(value):
        raise PydanticCustomError("control_character", "control characters are not allowed")
    return value


def _values(raw: Any) -> Any:
    # Forms send empty fields ("?disease="); commas stay, as in "Korea, Republic of".
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    for item in items:
        if isinstance(item, str):
            refuse_control(item)
    out = [" ".join(item.split()) if isinstance(item, str) else item for item in items]
    return list(dict.fromkeys(item for item in out if item != ""))


def _parsed(dimension: str, values: list[str]) -> list[str]:
    try:
        return list(vocabulary.parse_all(dimension, values))
    except InvalidFilterValue as exc:
        # A custom error keeps the message as written (no "Value error, " prefix) in the 422 envelope.
        raise PydanticCustomError("invalid_filter_value", "{message}", {"message": exc.message}) from exc


def _canonical(dimension: str) -> Callable[[list[str]], list[str]]:
    """After the list is checked: each value in its canonical spelling, or a validation error."""
    return lambda values: _parsed(dimension, values)


def _codes(dimension: str) -> Callable[[Any], Any]:
    """Before the enumeration is checked: "phase 2" -> "PHASE2"; anything not a string is left to it."""

    def parse(raw: Any) -> Any:
        items = _values(raw)
        if isinstance(items, list) and all(isinstance(item, str) for item in items):
            return _parsed(dimension, items)
        return items

    return parse


@dataclass(frozen=True)
class _Enumerated:
    """Lists a dimension's canonical values in the JSON schema (read when /openapi.json is built)."""

    dimension: str

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("items", {})["enum"] = list(vocabulary.values(self.dimension))
        return json_schema


def _text(raw: Any) -> Any:
    if isinstance(raw, str):
        return " ".join(refuse_control(raw).split()) or None
    return raw


_Item = Annotated[str, Field(max_length=160, pattern=PRINTABLE)]
_Listed = (BeforeValidator(_values), Field(max_length=MAX_VALUES))
Values = Annotated[list[_Item], *_Listed]
Diseases = Annotated[list[_Item], *_Listed, AfterValidator(_canonical("disease")), _Enumerated("disease")]
Modalities = Annotated[list[_Item], *_Listed, AfterValidator(_canonical("modality")), _Enumerated("modality")]
Targets = Annotated[list[_Item], *_Listed, AfterValidator(_canonical("target")), _Enumerated("target")]
Settings = Annotated[list[_Item], *_Listed, AfterValidator(_canonical("setting")), _Enumerated("setting")]
Populations = Annotated[
    list[_Item], *_Listed, AfterValidator(_canonical("population")), _Enumerated("population")
]
Agents = Annotated[list[_Item], *_Listed, AfterValidator(_canonical("agent")), _Enumerated("agent")]
Phases = Annotated[list[Phase], BeforeValidator(_codes("phase")), Field(max_length=MAX_VALUES)]
Statuses = Annotated[list[Status], BeforeValidator(_codes("status")), Field(max_length=MAX_VALUES)]
Text = Annotated[Annotated[str, Field(max_length=200, pattern=PRINTABLE)] | None, BeforeValidator(_text)]
_REFUSED: Final = " Unknown values are refused."


class TrialFilters(BaseModel):
    """Filters over the trials in scope; values within one filter are alternatives, filters combine."""

    model_config = ConfigDict(frozen=True)

    disease: Diseases = Field(
        default=[], description="Disease tag, e.g. B-ALL, T-ALL, Ph+ ALL, AML." + _REFUSED
    )
    modality: Modalities = Field(default=[], description="Modality, e.g. CAR-T, T-cell engager." + _REFUSED)
    target: Targets = Field(default=[], description="Target antigen, e.g. CD19, CD22, CD123." + _REFUSED)
    setting: Settings = Field(
        default=[], description="Setting, e.g. relapsed/refractory, newly diagnosed." + _REFUSED
    )
    population: Populations = Field(
        default=[], description="Population: pediatric, AYA, adult, older adult." + _REFUSED
    )
    agent: Agents = Field(
        default=[],
        description="Agent by generic, brand or code name, e.g. blinatumomab, Blincyto." + _REFUSED,
    )
    phase: Phases = Field(
        default=[], description="Phase: PHASE2, 2 or phase 2; a phase 1/2 trial matches both." + _REFUSED
    )
    status: Statuses = Field(
        default=[], description="Overall recruitment status: RECRUITING or recruiting…" + _REFUSED
    )
    country: Values = Field(default=[], description="Country with at least one site.")
    sponsor: Text = Field(default=None, description="Lead sponsor contains this text.")
    q: Text = Field(
        default=None,
        description="Drug (any name the lexicon knows), disease, marker or target; or part of the title,"
        " sponsor, NCT id, conditions or an intervention name.",
    )
    sort: SortKey = Field(default="last_update", description="Sort key.")
    order: Literal["asc", "desc"] = Field(default="desc", description="Sort order.")

    def to_query(self, *, limit: int | None, offset: int = 0) -> TrialQuery:
        """The catalog query for these filters."""
        return TrialQuery(
            disease=tuple(self.disease),
            modality=tuple(self.modality),
            target=tuple(self.target),
            setting=tuple(self.setting),
            population=tuple(self.population),
            agent=tuple(self.agent),
            phase=tuple(self.phase),
            status=tuple(self.status),
            country=tuple(self.country),
            sponsor=self.sponsor,
            text=self.q,
            sort=self.sort,
            descending=self.order == "desc",
            limit=limit,
            offset=offset,
        )

    @property
    def is_empty(self) -> bool:
        """True when nothing filters (sorting aside)."""
        return not any(getattr(self, name) for name in (*LIST_FIELDS, *TEXT_FIELDS))

    def items(self, *, with_sort: bool = True) -> list[tuple[str, str]]:
        """The filters as query-string pairs, defaults left out."""
        pairs: list[tuple[str, str]] = []
        for name in LIST_FIELDS:
            pairs.extend((name, value) for value in getattr(self, name))
        for name in TEXT_FIELDS:
            if getattr(self, name):
                pairs.append((name, getattr(self, name)))
        if with_sort and self.sort != "last_update":
            pairs.append(("sort", self.sort))
        if with_sort and self.order != "desc":
            pairs.append(("order", self.order))
        return pairs

    def key(self, *, with_sort: bool = True) -> tuple[tuple[str, str], ...]:
        """A hashable form of the filters (for caches)."""
        return tuple(self.items(with_sort=with_sort))

    def query_string(self, *, with_sort: bool = True, **extra: str | int) -> str:
        """The filters (and extra parameters) as a URL query string, without the '?'."""
        pairs: list[tuple[str, str | int]] = [*self.items(with_sort=with_sort), *extra.items()]
        return urlencode(pairs)

    def sorted_by(self, key: str) -> str:
        """Query string for sorting by `key`; the current key flips its order."""
        order = ("asc" if self.order == "desc" else "desc") if key == self.sort else _default_order(key)
        return urlencode([*self.items(with_sort=False), ("sort", key), ("order", order)])

    def without(self, name: str, value: str) -> TrialFilters:
        """These filters with one value removed."""
        if name in TEXT_FIELDS:
            return self.model_copy(update={name: None})
        return self.model_copy(update={name: [v for v in getattr(self, name) if v != value]})

    def chips(self) -> Iterator[tuple[str, str, str]]:
        """(label, shown value, query string without it) for each active filter value."""
        for name, value in self.items(with_sort=False):
            shown = vocabulary.label(name, value) if name in vocabulary.DIMENSIONS else value
            yield kind_label(name), shown, self.without(name, value).query_string()

    def merged(self, other: TrialFilters) -> TrialFilters:
        """These filters with `other`'s non-empty filters replacing them."""
        update = {name: getattr(other, name) for name in (*LIST_FIELDS, *TEXT_FIELDS) if getattr(other, name)}
        return self.model_copy(update=update)


def _default_order(key: str) -> str:
    return "asc" if key in ("nct_id", "title", "status", "phase") else "desc"
