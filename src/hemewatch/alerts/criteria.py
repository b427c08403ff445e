"""A tracker's criteria and a trial's facts as plain values, and the reference rule between them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from hemewatch.alerts.spec import LIST_FILTERS, SINGULAR, TAG_DIMENSIONS
from hemewatch.classification.lexicon import default_lexicon
from hemewatch.history import SEVERITY_RANK, ChangeEvent, EventType
from hemewatch.storage.tags import PAIR_KIND, pair_value
from hemewatch.storage.text_search import resolve_text

# The (target, modality) pairs of a trial's studied therapies, as "cd19|car-t": a tracker with both
# targets and modalities asks for one therapy with both, through this dimension.
PAIRS: Final = "pairs"
# The dimensions a trial has values in; a tracker filters on any of them (values are alternatives).
DIMENSIONS: Final = (*LIST_FILTERS, PAIRS)
# The trial dimension holding the tags of each kind a free text can name.
DIMENSION_OF_KIND: Final = {
    **{SINGULAR[dimension]: dimension for dimension in TAG_DIMENSIONS},
    PAIR_KIND: PAIRS,
}
_NOTHING: frozenset[str] = frozenset()
# (dimension, accepted values) alternatives: a trial meets one with any of them.
TagRequirement = tuple[tuple[str, frozenset[str]], ...]


def _folded(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.casefold() for v in values if v)


def trigrams(text: str) -> frozenset[str]:
    """Every run of three characters: a part of a text has all of its trigrams in the text."""
    return frozenset(text[i : i + 3] for i in range(len(text) - 2))


@dataclass(frozen=True, slots=True)
class TrialFacts:
    """What trackers filter on for one trial: its current tags and record fields, case-folded."""

    nct_id: str
    in_scope: bool
    sponsor: str  # case-folded lead sponsor ("" when unknown)
    haystack: str  # case-folded title, sponsor, NCT id, conditions and therapy names, for free text
    values: Mapping[str, frozenset[str]]
    sponsor_grams: frozenset[str]
    haystack_grams: frozenset[str]

    @classmethod
    def build(
        cls,
        *,
        nct_id: str,
        title: str | None,
        sponsor: str | None,
        in_scope: bool,
        tags: Mapping[str, Iterable[str]],
        phases: Iterable[str] = (),
        status: str | None = None,
        countries: Iterable[str] = (),
        conditions: str | None = None,
        therapy_names: Iterable[str] = (),
    ) -> TrialFacts:
        """Facts from a trial's fields; tags maps a tag dimension (diseases, targets, pairs…) to its values.

        `conditions` are the record's conditions and keywords, one per line; `therapy_names` the
        names of its therapies as written.
        """
        values = {dimension: _folded(tags.get(dimension, ())) for dimension in (*TAG_DIMENSIONS, PAIRS)}
        values["phases"] = _folded(phases)
        values["statuses"] = _folded([status] if status else [])
        values["countries"] = _folded(countries)
        values["nct_ids"] = _folded([nct_id])
        folded_sponsor = (sponsor or "").casefold()
        words = [title or "", folded_sponsor, nct_id, conditions or "", *therapy_names]
        haystack = "\n".join(word.casefold() for word in words)
        return cls(
            nct_id=nct_id,
            in_scope=in_scope,
            sponsor=folded_sponsor,
            haystack=haystack,
            values=values,
            sponsor_grams=trigrams(folded_sponsor),
            haystack_grams=trigrams(haystack),
        )


@dataclass(frozen=True, slots=True)
class Criteria:
    """A tracker's criteria, ready to test: only the dimensions it constrains appear in filters."""

    tracker_id: int
    created_at: datetime
    filters: tuple[tuple[str, frozenset[str]], ...]  # (dimension, accepted values), constrained ones only
    sponsor: str | None
    text: str | None
    event_types: frozenset[str] | None  # None: every alertable type
    max_rank: int  # the least serious severity rank accepted
    # What the lexicon reads in the free text (all must hold): a trial also meets the text that way.
    text_tags: tuple[TagRequirement, ...] = ()

    def accepts_trial(self, trial: TrialFacts) -> bool:
        """True when the trial passes every filter."""
        values = trial.values
        for dimension, wanted in self.filters:
            if wanted.isdisjoint(values.get(dimension, _NOTHING)):
                return False
        if self.sponsor is not None and self.sponsor not in trial.sponsor:
            return False
        return self.text is None or self.text in trial.haystack or self.meets_text_tags(trial)

    def meets_text_tags(self, trial: TrialFacts) -> bool:
        """True when the free text names lexicon entries and the trial carries them."""
        return bool(self.text_tags) and all(
            any(
                not wanted.isdisjoint(trial.values.get(dimension, _NOTHING))
                for dimension, wanted in requirement
            )
            for requirement in self.text_tags
        )

    def accepts_event(self, event: ChangeEvent) -> bool:
        """True for an alertable event of a wanted type and severity, detected after the tracker existed."""
        return (
            event.alertable
            and event.detected_at > self.created_at
            and SEVERITY_RANK[event.severity.value] <= self.max_rank
            and (self.event_types is None or event.type.value in self.event_types)
        )

    def matches(self, trial: TrialFacts, event: ChangeEvent) -> bool:
        """The reference rule the index must agree with: event and trial accepted, trial in scope."""
        return event_in_scope(trial, event) and self.accepts_event(event) and self.accepts_trial(trial)


def event_in_scope(trial: TrialFacts, event: ChangeEvent) -> bool:
    """Trials outside the watch scope alert nobody, except for the event that says they left it."""
    return trial.in_scope or event.type is EventType.LEFT_SCOPE


def criteria_from_stored(tracker_id: int, created_at: datetime, criteria: Mapping[str, Any]) -> Criteria:
    """Criteria from the stored criteria column of a tracker.

    Targets and modalities given together become one pairs filter (one therapy with both); a free
    text is also read through the bundled lexicon (drug names, brands, codes, diseases, targets).
    """
    filters = {d: _folded(criteria.get(d) or ()) for d in LIST_FILTERS}
    targets, modalities = criteria.get("targets") or (), criteria.get("modalities") or ()
    if targets and modalities:
        filters[PAIRS] = _folded(pair_value(t, m) for t in targets for m in modalities)
        filters["targets"] = filters["modalities"] = _NOTHING
    types = criteria.get("event_types") or ()
    sponsor = criteria.get("sponsor")
    text = criteria.get("text")
    return Criteria(
        tracker_id=tracker_id,
        created_at=created_at,
        filters=tuple((d, values) for d, values in filters.items() if values),
        sponsor=sponsor.casefold() if sponsor else None,
        text=text.casefold() if text else None,
        event_types=frozenset(types) if types else None,
        max_rank=SEVERITY_RANK[criteria.get("min_severity") or "minor"],
        text_tags=text_requirements(text) if text else (),
    )


def text_requirements(text: str) -> tuple[TagRequirement, ...]:
    """The tag requirements the lexicon reads in a tracker's free text, as trial dimensions."""
    return tuple(
        tuple((DIMENSION_OF_KIND[kind], _folded(values)) for kind, values in requirement)
        for requirement in resolve_text(text, default_lexicon())
    )
