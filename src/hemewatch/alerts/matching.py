"""Match change events to trackers through an inverted index over their criteria.

Trackers are numbered; a set of trackers is a bitmap (a Python int, so union and intersection run
in C over 64 trackers a machine word). For each dimension (disease, target, phase, country, NCT id…)
the index holds the trackers that accept each value and those that do not filter on it. A trial's
trackers are the intersection, over dimensions, of "no filter here" united with the trackers of
each of the trial's values. A tracker with both targets and modalities filters on the "pairs"
dimension (one therapy with both), a dimension like the others. The sponsor and free-text
filters are checked on their candidates only, found through the rarest three-letter run of each
filter; a free text the lexicon reads as tags (a drug's brand or code) is also filed under the
values of one of those tags. Event type, severity and the tracker's creation time are bitmaps
too, intersected per event. Nothing loops over trackers × events.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from hemewatch.alerts.criteria import (
    DIMENSIONS,
    Criteria,
    TrialFacts,
    event_in_scope,
    trigrams,
)
from hemewatch.history import SEVERITY_RANK, EventType
from hemewatch.storage.events import StoredEvent

_ONE = re.compile("1")


def positions(bits: int) -> list[int]:
    """The positions of the set bits of a bitmap."""
    text = format(bits, "b")
    top = len(text) - 1
    return [top - found.start() for found in _ONE.finditer(text)]


class _Bits:
    """A bitmap being built, one bit per tracker."""

    def __init__(self, size: int) -> None:
        self.data = bytearray(size // 8 + 1)

    def add(self, position: int) -> None:
        self.data[position >> 3] |= 1 << (position & 7)

    def value(self) -> int:
        return int.from_bytes(self.data, "little")


class TrackerIndex:
    """Trackers indexed by what they accept, for one batch of trials and events."""

    def __init__(
        self, criteria: Sequence[Criteria], trials: Iterable[TrialFacts], *, since: datetime
    ) -> None:
        """Index the criteria; `since` is the earliest detection time of the batch's events."""
        # Trackers narrowed by event type, severity or creation time come first: the bitmaps
        # read once per event then stay short, which makes reading their bits cheaper.
        self._criteria = sorted(criteria, key=lambda item: _wants_everything(item, since))
        self.tracker_ids = [item.tracker_id for item in self._criteria]
        size = len(self._criteria)
        batch = list(trials)
        present: dict[str, set[str]] = {dimension: set() for dimension in DIMENSIONS}
        gram_counts: Counter[str] = Counter()
        for trial in batch:
            for dimension, values in trial.values.items():
                present[dimension].update(values)
            gram_counts.update(trial.sponsor_grams)
            gram_counts.update(trial.haystack_grams)

        constrained = {dimension: _Bits(size) for dimension in DIMENSIONS}
        postings: dict[str, defaultdict[str, _Bits]] = {
            dimension: defaultdict(lambda: _Bits(size)) for dimension in DIMENSIONS
        }
        typed: defaultdict[str, _Bits] = defaultdict(lambda: _Bits(size))
        any_type, residual, young = _Bits(size), _Bits(size), _Bits(size)
        by_max_rank = [_Bits(size) for _ in SEVERITY_RANK]
        self._young: list[int] = []
        self._residual_always: list[int] = []
        self._residual_by_gram: defaultdict[str, list[int]] = defaultdict(list)
        self._residual_by_value: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
        for position, item in enumerate(self._criteria):
            for dimension, values in item.filters:
                constrained[dimension].add(position)
                for value in values & present[dimension]:
                    postings[dimension][value].add(position)
            if item.event_types is None:
                any_type.add(position)
            else:
                for kind in item.event_types:
                    typed[kind].add(position)
            by_max_rank[item.max_rank].add(position)
            if item.created_at >= since:
                young.add(position)
                self._young.append(position)
            if item.sponsor is not None or item.text is not None:
                residual.add(position)
                self._file_residual(position, item, gram_counts)

        everyone = (1 << size) - 1
        self._everyone = everyone
        self._wild = {d: everyone & ~bits.value() for d, bits in constrained.items()}
        self._postings = {d: {v: bits.value() for v, bits in p.items()} for d, p in postings.items()}
        self._residual = residual.value()
        anyone = any_type.value()
        self._type_ok = {kind.value: anyone | (typed[kind.value].value()) for kind in EventType}
        rank_ok, accumulated = [], 0
        for bits in reversed(by_max_rank):
            accumulated |= bits.value()
            rank_ok.append(accumulated)
        self._rank_ok = list(reversed(rank_ok))  # rank_ok[r]: trackers whose threshold admits rank r
        self._old = everyone & ~young.value()
        # Trackers that want every alertable event: their part of a trial's answer is shared by its events.
        self.universal = anyone & self._rank_ok[SEVERITY_RANK["minor"]] & self._old
        self._accept: dict[tuple[str, int], int] = {}

    def _file_residual(self, position: int, item: Criteria, gram_counts: Counter[str]) -> None:
        if item.text is None or not item.text_tags or item.sponsor is not None:
            # Every accepted trial contains the sponsor (and a text the lexicon does not read).
            grams = (trigrams(item.sponsor) if item.sponsor else frozenset()) | (
                trigrams(item.text) if item.text and not item.text_tags else frozenset()
            )
            self._file_by_gram(position, grams, gram_counts)
            return
        # A text the lexicon reads is met by containing it, or by carrying the tags it names: any
        # value of its first requirement.
        self._file_by_gram(position, trigrams(item.text), gram_counts)
        for dimension, values in item.text_tags[0]:
            for value in values:
                self._residual_by_value[(dimension, value)].append(position)

    def _file_by_gram(self, position: int, grams: frozenset[str], gram_counts: Counter[str]) -> None:
        if not grams:
            self._residual_always.append(position)  # filters shorter than three letters
            return
        rarest = min(grams, key=gram_counts.__getitem__)
        if gram_counts[rarest]:
            self._residual_by_gram[rarest].append(position)

    def accepted(self, trial: TrialFacts) -> int:
        """The bitmap of trackers whose filters all accept the trial."""
        bits = self._everyone
        for dimension, values in trial.values.items():
            allowed = self._wild[dimension]
            postings = self._postings[dimension]
            for value in values:
                filed = postings.get(value)
                if filed is not None:
                    allowed |= filed
            bits &= allowed
            if not bits:
                return 0
        if self._residual and bits & self._residual:
            bits = (bits & ~self._residual) | self._check_residual(trial, bits)
        return bits

    def _check_residual(self, trial: TrialFacts, bits: int) -> int:
        candidates = set(self._residual_always)
        for gram in trial.sponsor_grams | trial.haystack_grams:
            candidates.update(self._residual_by_gram.get(gram, ()))
        if self._residual_by_value:
            for dimension, values in trial.values.items():
                for value in values:
                    candidates.update(self._residual_by_value.get((dimension, value), ()))
        accepted = bits.to_bytes(len(self._criteria) // 8 + 1, "little")
        passed = _Bits(len(self._criteria))
        for position in candidates:
            if accepted[position >> 3] >> (position & 7) & 1 and self._criteria[position].accepts_trial(
                trial
            ):
                passed.add(position)
        return passed.value()

    def accepting(self, kind: str, rank: int) -> int:
        """The bitmap of trackers, older than the batch, that want events of this type and severity."""
        key = (kind, rank)
        bits = self._accept.get(key)
        if bits is None:
            bits = self._accept[key] = self._type_ok[kind] & self._rank_ok[rank] & self._old
        return bits

    def young_accepting(self, bits: int, stored: StoredEvent) -> list[int]:
        """Trackers created during the batch that accept the trial and want this event."""
        return [
            position
            for position in self._young
            if bits >> position & 1 and self._criteria[position].accepts_event(stored.event)
        ]


def _wants_everything(item: Criteria, since: datetime) -> bool:
    return item.event_types is None and item.max_rank == SEVERITY_RANK["minor"] and item.created_at < since


def match_events(
    criteria: Sequence[Criteria], trials: Mapping[str, TrialFacts], events: Sequence[StoredEvent]
) -> dict[int, list[int]]:
    """For each event that at least one tracker wants: the ids of those trackers."""
    by_trial: dict[str, list[StoredEvent]] = defaultdict(list)
    for stored in events:
        trial = trials.get(stored.event.nct_id)
        if trial is not None and stored.event.alertable and event_in_scope(trial, stored.event):
            by_trial[trial.nct_id].append(stored)
    if not by_trial or not criteria:
        return {}
    since = min(s.event.detected_at for group in by_trial.values() for s in group)
    index = TrackerIndex(criteria, (trials[nct_id] for nct_id in by_trial), since=since)
    ids = index.tracker_ids
    found: dict[int, list[int]] = {}
    for nct_id, stored_events in by_trial.items():
        accepted = index.accepted(trials[nct_id])
        if not accepted:
            continue
        everything = accepted & index.universal
        shared = [ids[p] for p in positions(everything)] if everything else []
        selective = accepted & ~index.universal
        for stored in stored_events:
            event = stored.event
            wanted = selective & index.accepting(event.type.value, SEVERITY_RANK[event.severity.value])
            own = [ids[p] for p in positions(wanted)] if wanted else []
            own.extend(ids[p] for p in index.young_accepting(selective, stored))
            if shared or own:
                found[stored.id] = shared + own
    return found
