"""The trial filters shared by search, disease pages, the JSON API and tracker forms."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from hemewatch.registry.vocabulary import OverallStatus, Phase
from hemewatch.storage.catalog import SortKey, TrialQuery
from hemewatch.web.labels import kind_label, phase_label, status_label

Status = OverallStatus
LIST_FIELDS: Final = (
    "disease",
    "modality",
    "target",
    "setting",
    "population",
    "agent",
    "phase",
    "status",
    "country",
)
TEXT_FIELDS: Final = ("sponsor", "q")
MAX_VALUES: Final = 50


def _values(raw: Any) -> Any:
    # Forms send empty fields ("?disease="); commas stay, as in "Korea, Republic of".
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    out = [" ".join(item.split()) if isinstance(item, str) else item for item in items]
    return list(dict.fromkeys(item for item in out if item != ""))


def _codes(raw: Any) -> Any:
    return [re.sub(r"[\s,-]+", "_", v.strip().upper()) if isinstance(v, str) else v for v in _values(raw)]


def _phases(raw: Any) -> Any:
    out = []
    for value in _codes(raw):
        if isinstance(value, str) and value.isdigit():
            value = f"PHASE{value}"
        out.append(value.replace("PHASE_", "PHASE") if isinstance(value, str) else value)
    return out


def _text(raw: Any) -> Any:
    if isinstance(raw, str):
        return " ".join(raw.split()) or None
    return raw


Values = Annotated[
    list[Annotated[str, Field(max_length=160)]], BeforeValidator(_values), Field(max_length=MAX_VALUES)
]
Phases = Annotated[list[Phase], BeforeValidator(_phases), Field(max_length=MAX_VALUES)]
Statuses = Annotated[list[Status], BeforeValidator(_codes), Field(max_length=MAX_VALUES)]
Text = Annotated[Annotated[str, Field(max_length=200)] | None, BeforeValidator(_text)]


class TrialFilters(BaseModel):
    """Filters over the trials in scope; values within one filter are alternatives, filters combine."""

    model_config = ConfigDict(frozen=True)

    disease: Values = Field(default=[], description="Disease tag, e.g. B-ALL, T-ALL, Ph+ ALL, AML.")
    modality: Values = Field(default=[], description="Modality, e.g. CAR-T, T-cell engager.")
    target: Values = Field(default=[], description="Target antigen, e.g. CD19, CD22, CD123.")
    setting: Values = Field(default=[], description="Setting, e.g. relapsed/refractory, newly diagnosed.")
    population: Values = Field(default=[], description="Population: pediatric, AYA, adult, older adult.")
    agent: Values = Field(default=[], description="Agent, e.g. blinatumomab.")
    phase: Phases = Field(default=[], description="Phase; a phase 1/2 trial matches both.")
    status: Statuses = Field(default=[], description="Overall recruitment status.")
    country: Values = Field(default=[], description="Country with at least one site.")
    sponsor: Text = Field(default=None, description="Lead sponsor contains this text.")
    q: Text = Field(default=None, description="Title, sponsor or NCT id contains this text.")
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
            shown = value
            if name == "phase":
                shown = phase_label([value])
            elif name == "status":
                shown = status_label(value)
            yield kind_label(name), shown, self.without(name, value).query_string()

    def merged(self, other: TrialFilters) -> TrialFilters:
        """These filters with `other`'s non-empty filters replacing them."""
        update = {name: getattr(other, name) for name in (*LIST_FIELDS, *TEXT_FIELDS) if getattr(other, name)}
        return self.model_copy(update=update)


def _default_order(key: str) -> str:
    return "asc" if key in ("nct_id", "title", "status", "phase") else "desc"
