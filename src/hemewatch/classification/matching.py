"""Find every lexicon term in a text in one pass.

All terms are merged into a character trie and compiled into a single regular expression, so the
standard `re` engine walks shared prefixes once (an Aho-Corasick-like search) instead of trying
thousands of alternatives at every position. The trie keeps the longest term at each position.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

from hemewatch.classification.terms import canonical, fold_text

# Everything but letters, digits and "+" only separates units ("AMG 103" = "AMG-103", "Leukemia,
# Myeloid, Acute"). Texts are searched with all of it turned into spaces (same length, so offsets
# hold) and one leading space: every term then starts right after a space, which the pattern matches
# first, so the regex engine jumps from space to space instead of trying every character.
_BARRIER: Final = "\x01"
_ASCII_TO_SPACE: Final = str.maketrans(
    {chr(code): " " for code in range(128) if not (chr(code).isalnum() or chr(code) in "+\x01")}
)
_NON_ASCII: Final = re.compile(r"[^\x00-\x7f]")
_LETTER: Final = re.compile(r"[^\W\d_]")
_UPPER: Final = re.compile(r"[A-Z]")
_REQUIRED_SEP: Final = "\x02"
_OPTIONAL_SEP: Final = "\x00"


@dataclass(frozen=True, slots=True)
class Hit:
    """What a matched term stands for: a lexicon kind and an entry id of that kind."""

    kind: str
    entry: str


class TermMatch(NamedTuple):
    """One term found in a text, with its character span and what it stands for."""

    start: int
    end: int
    hits: tuple[Hit, ...]


def _is_letters(unit: str) -> bool:
    return unit[0].isalpha()


def _symbols(units: Sequence[str]) -> str:
    """Join units with separator markers: letters next to letters need a separator, others may omit it."""
    out = [units[0]]
    for previous, unit in itertools.pairwise(units):
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
    """A term must not stop inside a word: nothing alphanumeric may follow a final letter, and no digit
    a final digit (so "CAR22" matches in "SCRI-CAR22v2")."""
    kind = _char_class(last)
    if kind == "letter":
        return r"\b"
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
    branches = [_atom(char) + _node_pattern(child) for char, child in sorted(root.children.items())]
    return " (?:" + "|".join(branches) + ")" if branches else "(?!)"


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
    """Finds lexicon terms in text; case-insensitive terms and case-sensitive abbreviations.

    Both kinds share one compiled trie over lower-cased text; an abbreviation only counts when the
    original text has its exact case ("ALL" the disease, not "all" the word).
    """

    def __init__(
        self,
        folded_terms: Mapping[str, Sequence[Hit]],
        exact_terms: Mapping[str, Sequence[Hit]],
    ) -> None:
        self._folded = {key: tuple(hits) for key, hits in folded_terms.items()}
        self._exact: dict[str, dict[str, tuple[Hit, ...]]] = {}
        for key, hits in exact_terms.items():
            self._exact.setdefault(key.lower(), {})[key] = tuple(hits)
        self._rx = re.compile(_trie_pattern(set(self._folded) | set(self._exact)))
        self._cache: dict[str, tuple[Hit, ...]] = {}

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
        return self.find_each([text])[0]

    def find_each(self, texts: Sequence[str]) -> list[list[TermMatch]]:
        """Find the terms of several texts in one pass; offsets are relative to each text."""
        # Texts are joined by a character no term can span, so the engine runs once per record.
        written = _spaced(" " + (_BARRIER + " ").join(texts))
        joined = fold_text(written)
        offsets = list(itertools.accumulate((len(text) + 2 for text in texts), initial=0))
        results: list[list[TermMatch]] = [[] for _ in texts]
        shouting: dict[int, bool] = {}
        index = 0
        cache = self._cache
        for match in self._rx.finditer(joined):
            start, end = match.start() + 1, match.end()
            while start >= offsets[index + 1]:
                index += 1
            hits = cache.get(written[start:end]) or self._hits(written[start:end])
            if hits is _NEEDS_CASE:
                if index not in shouting:
                    shouting[index] = _shouting(texts[index])
                hits = () if shouting[index] else self._exact_hits(written[start:end])
            if hits:
                base = offsets[index] + 1
                results[index].append(TermMatch(start - base, end - base, hits))
        return results

    def _hits(self, written: str) -> tuple[Hit, ...]:
        cached = self._cache.get(written)
        if cached is not None:
            return cached
        key = canonical(written)
        hits = self._folded.get(key, ())
        if key in self._exact:
            # Abbreviation candidates depend on the case as written; do not cache them.
            if not hits:
                return _NEEDS_CASE
            return hits + tuple(hit for hit in self._exact_hits(written) if hit not in hits)
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        self._cache[written] = hits
        return hits

    def _exact_hits(self, written: str) -> tuple[Hit, ...]:
        variants = self._exact.get(canonical(written), {})
        return variants.get(canonical(written, fold=False), ())


# Sentinel: the matched text is only a candidate abbreviation, whose case must be checked.
_NEEDS_CASE: Final[tuple[Hit, ...]] = (Hit("", ""),)
_CACHE_LIMIT: Final = 100_000


def _spaced(text: str) -> str:
    """Turn every separator into a space; non-ASCII letters (é, α, γδ) stay, other symbols go."""
    if text.isascii():
        return text.translate(_ASCII_TO_SPACE)
    # str.translate is fast only on ASCII, so translate the ASCII runs and handle the rest one by one.
    pieces = []
    symbols = _NON_ASCII.findall(text)
    for part, symbol in zip(_NON_ASCII.split(text), [*symbols, ""], strict=True):
        pieces.append(part.translate(_ASCII_TO_SPACE))
        if symbol:
            pieces.append(symbol if symbol.isalnum() else " ")
    return "".join(pieces)


def _shouting(text: str) -> bool:
    """Tell whether text is mostly upper case, where abbreviations such as "ALL" are ordinary words."""
    text = text[:300]
    letters = len(_LETTER.findall(text))
    return letters >= 12 and len(_UPPER.findall(text)) > 0.6 * letters
