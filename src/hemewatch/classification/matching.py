"""Find every lexicon term in a text in one pass.

All terms are merged into a character trie and compiled into a single regular expression, so the
standard `re` engine walks shared prefixes once (an Aho-Corasick-like search) instead of trying
thousands of alternatives at every position. The trie keeps the longest term at each position.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from hemewatch.classification.terms import canonical, fold_text

# Characters that only separate units in a term ("AMG 103" = "AMG-103", "Leukemia, Myeloid, Acute").
# Texts are searched with all of them turned into spaces (same length, so offsets hold), which keeps
# the compiled pattern small.
_SEPARATOR_CHARS: Final = "\t\n\r\f\v\xa0\u2009\u202f-‐‑‒–—_/,;:()[]"
_TO_SPACE: Final = str.maketrans({char: " " for char in _SEPARATOR_CHARS})
_REQUIRED_SEP: Final = "\x01"
_OPTIONAL_SEP: Final = "\x00"


@dataclass(frozen=True, slots=True)
class Hit:
    """What a matched term stands for: a lexicon kind and an entry id of that kind."""

    kind: str
    entry: str


@dataclass(frozen=True, slots=True)
class TermMatch:
    """One term found in a text, with its character span and what it stands for."""

    start: int
    end: int
    hits: tuple[Hit, ...]


def _is_letters(unit: str) -> bool:
    return unit[0].isalpha()


def _symbols(units: Sequence[str]) -> str:
    """Join units with separator markers: letters next to letters need a separator, others may omit it."""
    out = [units[0]]
    for previous, unit in zip(units, units[1:], strict=False):
        both_letters = _is_letters(previous) and _is_letters(unit)
        out.append(_REQUIRED_SEP if both_letters else _OPTIONAL_SEP)
        out.append(unit)
    return "".join(out)


def _char_class(char: str) -> str:
    if char.isdigit():
        return "digit"
    if char == "+":
        return "plus"
    return "letter"


def _end_guard(last: str) -> str:
    """A term must not stop inside a word: letters may not follow a final letter, digits a final digit."""
    kind = _char_class(last)
    if kind == "letter":
        return r"(?![^\W_])"
    if kind == "digit":
        return r"(?!\d)"
    return ""


class _Node:
    __slots__ = ("children", "end")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.end: str | None = None


def _trie_pattern(keys: Iterable[str]) -> str:
    root = _Node()
    for key in keys:
        symbols = _symbols(key.split(" "))
        node = root
        for char in symbols:
            node = node.children.setdefault(char, _Node())
        node.end = symbols[-1]
    branches = []
    for char in sorted(root.children):
        body = _atom(char) + _node_pattern(root.children[char])
        # Terms start at a unit boundary: not in the middle of a word or a number.
        branches.append(body if char == "+" else r"(?<![^\W_])" + body)
    return "(?:" + "|".join(branches) + ")" if branches else "(?!)"


def _atom(char: str) -> str:
    if char == _REQUIRED_SEP:
        return " +"
    if char == _OPTIONAL_SEP:
        return " *"
    return re.escape(char)


def _node_pattern(node: _Node) -> str:
    alternatives = [_atom(char) + _node_pattern(child) for char, child in sorted(node.children.items())]
    if node.end is not None:
        # Longer terms are tried first; the end of this term is the last resort.
        alternatives.append(_end_guard(node.end))
    if len(alternatives) == 1:
        return alternatives[0]
    return "(?:" + "|".join(alternatives) + ")"


class TermMatcher:
    """Finds lexicon terms in text; case-insensitive terms and case-sensitive abbreviations."""

    def __init__(
        self,
        folded_terms: Mapping[str, Sequence[Hit]],
        exact_terms: Mapping[str, Sequence[Hit]],
    ) -> None:
        self._folded = {key: tuple(hits) for key, hits in folded_terms.items()}
        self._exact = {key: tuple(hits) for key, hits in exact_terms.items()}
        self._folded_rx = _compile(self._folded.keys())
        self._exact_rx = _compile(self._exact.keys()) if self._exact else None

    @classmethod
    def build(cls, terms: Iterable[tuple[str, Hit, bool]]) -> TermMatcher:
        """Build a matcher from (term, hit, case_sensitive) triples; one term may carry several hits."""
        folded: dict[str, list[Hit]] = {}
        exact: dict[str, list[Hit]] = {}
        for term, hit, case_sensitive in terms:
            key = canonical(term, fold=not case_sensitive)
            if not key:
                continue
            bucket = exact if case_sensitive else folded
            hits = bucket.setdefault(key, [])
            if hit not in hits:
                hits.append(hit)
        return cls(folded, exact)

    def find(self, text: str) -> list[TermMatch]:
        """Return the non-overlapping terms in text, leftmost first, longest at each position."""
        spaced = text.translate(_TO_SPACE)
        found = [
            TermMatch(match.start(), match.end(), self._folded[canonical(match.group(), fold=False)])
            for match in self._folded_rx.finditer(fold_text(spaced))
        ]
        if self._exact_rx is not None and not _shouting(text):
            exact = [
                TermMatch(match.start(), match.end(), self._exact[canonical(match.group(), fold=False)])
                for match in self._exact_rx.finditer(spaced)
            ]
            if exact:
                found = _merge(found, exact)
        return found


def _compile(keys: Iterable[str]) -> re.Pattern[str]:
    return re.compile(_trie_pattern(keys))


def _shouting(text: str) -> bool:
    """Tell whether text is mostly upper case, where abbreviations such as "ALL" are ordinary words."""
    letters = [char for char in text if char.isalpha()]
    if len(letters) < 12:
        return False
    return sum(char.isupper() for char in letters) > 0.6 * len(letters)


def _merge(first: list[TermMatch], second: list[TermMatch]) -> list[TermMatch]:
    """Merge two match lists, dropping any match that overlaps a longer one."""
    combined = sorted(first + second, key=lambda match: (match.start, -(match.end - match.start)))
    kept: list[TermMatch] = []
    for match in combined:
        if kept and match.start < kept[-1].end:
            if match.end - match.start > kept[-1].end - kept[-1].start:
                kept[-1] = match
            continue
        kept.append(match)
    return kept
