"""Lexicon terms found in a study's text, each with the context that changes its meaning.

A context cue ("excluding", "history of", "prior", "ahead of") acts on a term in the same clause when
few enough words stand between them; what it does depends on the cue's effect and the term's kind.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

from hemewatch.classification.lexicon import CueEntry, Lexicon
from hemewatch.classification.model import Evidence
from hemewatch.classification.record import Segment

# Clauses end at sentence punctuation, line breaks and list bullets; cues never act across them.
_CLAUSE_END: Final = re.compile(r"[.;!?](?:\s|$)|\n|•|\s\*\s|\s-\s")
_WORD: Final = re.compile(r"[^\W_]+")
_PRIOR_WORDS: Final = frozenset({"prior", "previous", "previously", "past"})
# No cue reaches further than this many characters (a few words); farther cues are not even counted.
_REACH: Final = 120
_NO_EFFECTS: Final[frozenset[str]] = frozenset()


class Mention(NamedTuple):
    """A lexicon entry named in one segment, with the effects of the cues around it."""

    kind: str
    entry: str
    segment: Segment
    start: int
    end: int
    effects: frozenset[str]

    @property
    def text(self) -> str:
        """The matched text as written in the record."""
        return self.segment.text[self.start : self.end]

    @property
    def evidence(self) -> Evidence:
        """The evidence this mention gives: field path and matched text."""
        return Evidence(self.segment.path, self.text)

    @property
    def plain(self) -> bool:
        """True when no cue changes the meaning of the mention."""
        return not self.effects


@dataclass(frozen=True, slots=True)
class _Cue:
    entry: CueEntry
    start: int
    end: int


def find_mentions(segments: Iterable[Segment], lexicon: Lexicon) -> list[Mention]:
    """Find every lexicon term in the segments, with the effects of the cues around it."""
    mentions: list[Mention] = []
    segments = list(segments)
    for segment, matches in zip(segments, lexicon.matcher.find_each([s.text for s in segments]), strict=True):
        cues = [
            _Cue(lexicon.cues[hit.entry], match.start, match.end)
            for match in matches
            for hit in match.hits
            if hit.kind == "cue"
        ]
        cue_ends = [cue.end for cue in cues]
        for match in matches:
            for hit in match.hits:
                if hit.kind == "cue":
                    continue
                effects = (
                    _effects(hit.kind, match.start, match.end, cues, cue_ends, segment.text)
                    if cues and hit.kind != "population"
                    else _NO_EFFECTS
                )
                mentions.append(Mention(hit.kind, hit.entry, segment, match.start, match.end, effects))
    return mentions


def _effects(
    kind: str, start: int, end: int, cues: Sequence[_Cue], cue_ends: Sequence[int], text: str
) -> frozenset[str]:
    term_kind = "target" if kind == "construct" else kind
    found: set[str] = set()
    first = bisect.bisect_left(cue_ends, start - _REACH)
    for position in range(first, len(cues)):
        cue = cues[position]
        if cue.start > end + _REACH:
            break
        entry = cue.entry
        if term_kind not in entry.applies_to:
            continue
        if entry.direction == "before" and cue.end <= start:
            gap = text[cue.end : start]
            if _count_words(gap) > entry.max_words or _CLAUSE_END.search(gap):
                continue
            if (
                entry.effect == "negated"
                and kind in ("disease", "marker", "setting")
                and _negates_prior(cues, position, text)
            ):
                continue
            found.add(entry.effect)
        elif entry.direction == "after" and cue.start >= end:
            gap = text[end : cue.start]
            if _count_words(gap) <= entry.max_words and not _CLAUSE_END.search(gap):
                found.add(entry.effect)
    return frozenset(found) if found else _NO_EFFECTS


def _negates_prior(cues: Sequence[_Cue], position: int, text: str) -> bool:
    """Tell whether a negation is about a prior therapy ("no prior therapy for AML"), not the term."""
    cue = cues[position]
    following = cues[position + 1] if position + 1 < len(cues) else None
    if (
        following is not None
        and following.entry.effect == "prior"
        and not text[cue.end : following.start].strip()
    ):
        return True
    words = _WORD.findall(text[cue.end : cue.end + 40].lower())
    return bool(words) and words[0] in _PRIOR_WORDS


def _count_words(text: str) -> int:
    return len(_WORD.findall(text))
