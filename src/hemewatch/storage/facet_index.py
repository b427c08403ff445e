"""Every current trial's facet values as integer arrays, kept per data stamp: what a search page counts with.

A search page counts nine facets over the trials its filters find, each facet without its own
filter (`catalog.facets_and_total`). In SQL that is the matching set re-read once per facet; read
into Python it is ~7 µs a row through the driver (13,000 rows for a common word, and a page asks
for them several times). Here each facet is two parallel arrays, one entry per trial and value it
carries (the trial's position, the value's id): the trials carrying some values are one gather,
and a facet's counts over any set of trials one gather and one `bincount`, whatever the set's
size. Memory grows with the entries (a trial carries ~15 facet values), not with trials × values.

The arrays hold positions, not NCT ids: position i is the i-th trial by NCT id. Sets of trials are
boolean arrays over those positions.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.engine import Connection

from hemewatch.storage.codec import split_pipes
from hemewatch.storage.tables import trial_tags, trials
from hemewatch.storage.text_index import row_id

Trials = npt.NDArray[np.bool_]  # one flag per trial position
Numbers = npt.NDArray[np.int64]  # NCT numbers
_Ids = npt.NDArray[np.int32]
_Positions = npt.NDArray[np.intp]
Ranks = npt.NDArray[np.int64]  # per trial position, its place in an order
T = TypeVar("T")

# How a facet's values are compared with a filter's: what the SQL conditions compare. Tags by their
# stored folded (lower-case) value; phases and countries lower-cased; statuses upper-cased.
TAG_FOLD: Final = str.lower
RECORD_FOLDS: Mapping[str, Callable[[str], str]] = {
    "phase": str.lower,
    "status": str.upper,
    "country": str.lower,
}


@dataclass(frozen=True)
class FacetColumn:
    """One facet: its values, and an entry (trial position, value id) for each value a trial carries, once."""

    values: tuple[str, ...]  # value id → the value as stored
    fold: Callable[[str], str]  # a filter's value as it is compared
    folded: Mapping[str, tuple[int, ...]]  # the value as filters compare it → its value ids
    trial: _Ids
    value: _Ids

    def carriers(self, wanted: Iterable[str], size: int) -> Trials:
        """The trials (of `size`) carrying any of these values, in any case the filters allow."""
        found = np.zeros(size, dtype=np.bool_)
        ids = [number for key in wanted for number in self.folded.get(self.fold(key), ())]
        if ids:
            chosen = np.zeros(len(self.values), dtype=np.bool_)
            chosen[ids] = True
            found[self.trial[chosen[self.value]]] = True
        return found

    def counts(self, selected: Trials) -> dict[str, int]:
        """How many of the selected trials carry each value (values none carries left out)."""
        tally = np.bincount(self.value[selected[self.trial]], minlength=len(self.values))
        return {self.values[number]: int(tally[number]) for number in np.flatnonzero(tally)}


@dataclass(frozen=True)
class FacetIndex:
    """The facet columns of every trial's current version, and which trials are in the watch scope."""

    nct_ids: tuple[str, ...]  # position → NCT id, in NCT id order
    positions: Mapping[str, int]
    numbers: Numbers  # the NCT numbers ("NCT" and eight digits), ascending
    numbered: _Positions  # the position of each of `numbers`
    in_scope: Trials
    columns: Mapping[str, FacetColumn]
    # What is worked out from the index and the same data (the orders of the trials), kept with it.
    _remembered: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def size(self) -> int:
        """How many trials the index holds."""
        return len(self.nct_ids)

    def none(self) -> Trials:
        """No trial."""
        return np.zeros(self.size, dtype=np.bool_)

    def every(self) -> Trials:
        """Every trial."""
        return np.ones(self.size, dtype=np.bool_)

    def of_ids(self, nct_ids: Iterable[str]) -> Trials:
        """These trials (ids the index does not hold are left out)."""
        found = self.none()
        where = [self.positions[n] for n in nct_ids if n in self.positions]
        found[where] = True
        return found

    def of_numbers(self, numbers: Numbers) -> Trials:
        """The trials of these NCT numbers (the full-text index's row ids); numbers of no trial left out."""
        found = self.none()
        if self.size and len(numbers):
            at = np.minimum(np.searchsorted(self.numbers, numbers), self.size - 1)
            known = self.numbers[at] == numbers
            found[self.numbered[at[known]]] = True
        return found

    def ids_at(self, positions: Iterable[int]) -> list[str]:
        """The NCT ids at these positions, in that order."""
        return [self.nct_ids[position] for position in positions]

    def ranks(self, ordered: Sequence[str]) -> Ranks:
        """Each trial's place among these NCT ids (in their order); trials not among them come last."""
        found = np.full(self.size, len(ordered), dtype=np.int64)
        where = [self.positions.get(nct_id, -1) for nct_id in ordered]
        places = np.arange(len(ordered), dtype=np.int64)
        known = np.array(where, dtype=np.int64) >= 0
        found[np.array(where, dtype=np.int64)[known]] = places[known]
        return found

    def remembered(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()`, kept as long as the index (two threads may both compute it: same result)."""
        if key not in self._remembered:
            self._remembered[key] = compute()
        value: T = self._remembered[key]
        return value

    def carrying(self, facet: str, values: Iterable[str]) -> Trials:
        """The trials carrying any of these values of a facet (a KeyError: a facet the index lacks)."""
        return self.columns[facet].carriers(values, self.size)


class _Builder:
    """Collects one facet's entries; each distinct value is named and folded once."""

    def __init__(self, fold: Callable[[str], str]) -> None:
        self.fold = fold
        self.ids: dict[str, int] = {}
        self.known: dict[tuple[str, str | None], int] = {}
        self.folded: dict[str, list[int]] = {}
        self.positions: list[int] = []
        self.numbers: list[int] = []

    def add(self, position: int, value: str, folded: str | None = None) -> None:
        number = self.known.get((value, folded))
        if number is None:
            number = self.ids.setdefault(value, len(self.ids))
            key = folded if folded is not None else self.fold(value)
            bucket = self.folded.setdefault(key, [])
            if number not in bucket:
                bucket.append(number)
            self.known[(value, folded)] = number
        self.positions.append(position)
        self.numbers.append(number)

    def build(self) -> FacetColumn:
        width = max(1, len(self.ids))
        # Each (trial, value) once, in trial order.
        entries = np.unique(
            np.array(self.positions, dtype=np.int64) * width + np.array(self.numbers, dtype=np.int64)
        )
        values = tuple(sorted(self.ids, key=self.ids.__getitem__))
        return FacetColumn(
            values,
            self.fold,
            {key: tuple(numbers) for key, numbers in self.folded.items()},
            (entries // width).astype(np.int32),
            (entries % width).astype(np.int32),
        )


def load_facet_index(conn: Connection, tag_kinds: Sequence[str]) -> FacetIndex:
    """The index of every trial: these tag kinds, and the phase, status and country of its record.

    Rows are read in batches (`_BATCH`): building it holds the index and one batch, not every row.
    """
    nct_ids: list[str] = []
    in_scope: list[bool] = []
    by_version: dict[int, int] = {}
    records = {facet: _Builder(fold) for facet, fold in RECORD_FOLDS.items()}
    listed = select(
        trials.c.nct_id,
        trials.c.current_version_id,
        trials.c.in_scope,
        trials.c.phases,
        trials.c.overall_status,
        trials.c.countries,
    ).order_by(trials.c.nct_id)
    for batch in conn.execute(listed).partitions(_BATCH):
        for nct_id, version_id, scoped, phases, status, countries in batch:
            position = len(nct_ids)
            nct_ids.append(nct_id)
            in_scope.append(bool(scoped))
            if version_id is not None:
                by_version[version_id] = position
            for phase in split_pipes(phases):
                records["phase"].add(position, phase)
            if status:
                records["status"].add(position, status)
            for country in split_pipes(countries):
                records["country"].add(position, country)
    builders = {kind: _Builder(TAG_FOLD) for kind in tag_kinds}
    tagged = select(
        trial_tags.c.version_id, trial_tags.c.kind, trial_tags.c.value, trial_tags.c.value_folded
    ).where(
        trial_tags.c.kind.in_(list(tag_kinds)),
        trial_tags.c.version_id.in_(select(trials.c.current_version_id)),
    )
    for tag_batch in conn.execute(tagged).partitions(_BATCH):
        for version_id, kind, value, folded in tag_batch:
            found = by_version.get(version_id)
            if found is not None:
                builders[kind].add(found, value, folded)
    columns = {name: builder.build() for name, builder in (*builders.items(), *records.items())}
    positions = {nct_id: position for position, nct_id in enumerate(nct_ids)}
    # Sorted apart from the positions: the database's collation decided the NCT id order.
    numbers = np.array([row_id(nct_id) for nct_id in nct_ids], dtype=np.int64)
    numbered = np.argsort(numbers, kind="stable")
    return FacetIndex(
        tuple(nct_ids), positions, numbers[numbered], numbered, np.array(in_scope, dtype=np.bool_), columns
    )


_BATCH: Final = 10_000
