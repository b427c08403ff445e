"""Find every lexicon term in a text in one pass.

All terms are merged into a character trie and compiled into a single regular expression, so the
standard `re` engine walks shared prefixes once (an Aho-Corasick-like search) instead of trying
thousands of alternatives at every position. The trie keeps the longest term at each position.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

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
_DROP_LETTERS: Final = str.maketrans("", "", string.ascii_letters)
_DROP_UPPER: Final = str.maketrans("", "", string.ascii_uppercase)
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


def _symbols(units: Sequence[str]) -> str:
    """Join units with separator markers: letters next to letters need a separator, others may omit it."""
    out = [units[0]]
    previous_letters = units[0][0].isalpha()
    for unit in units[1:]:
        letters = unit[0].isalpha()
        out.append(_REQUIRED_SEP if previous_letters and letters else _OPTIONAL_SEP)
        out.append(unit)
        previous_letters = letters
    return "".join(out)


def _end_guard(last: str) -> str:
    """A term must not stop inside a word: nothing alphanumeric may follow a final letter, and no digit
    a final digit (so "CAR22" matches in "SCRI-CAR22v2")."""
    if last.isdigit():
        return r"(?!\d)"
    if last == "+":
        return ""
    return r"\b"


# A trie node: its children by symbol, and under _END (a key no symbol equals) the last symbol of the
# term that ends there.
_Node = dict[str, Any]
_END: Final = ""


def _trie_pattern(keys: Iterable[str]) -> str:
    root: _Node = {}
    for key in keys:
        symbols = _symbols(key.split(" "))
        node = root
        for char in symbols:
            child = node.get(char)
            if child is None:
                child = node[char] = {}
            node = child
        node[_END] = symbols[-1]
    atoms: dict[str, str] = {_REQUIRED_SEP: " +", _OPTIONAL_SEP: " *"}
    branches = [_atom(char, atoms) + _node_pattern(child, atoms) for char, child in sorted(root.items())]
    return " (?:" + "|".join(branches) + ")" if branches else "(?!)"


def _atom(char: str, atoms: dict[str, str]) -> str:
    atom = atoms.get(char)
    if atom is None:
        atom = atoms[char] = re.escape(char)
    return atom


def _node_pattern(node: _Node, atoms: dict[str, str]) -> str:
    # A chain of single children (most of a term's characters) is joined without recursing on each.
    prefix: list[str] = []
    while len(node) == 1 and _END not in node:
        ((char, node),) = node.items()
        prefix.append(_atom(char, atoms))
    end = node.get(_END)
    alternatives = [
        _atom(char, atoms) + _node_pattern(child, atoms) for char, child in sorted(node.items()) if char
    ]
    if end is not None:
        # Longer terms are tried first; the end of this term is the last resort.
        alternatives.append(_end_guard(end))
    if len(alternatives) == 1:
        return "".join(prefix) + alternatives[0]
    return "".join(prefix) + "(?:" + "|".join(alternatives) + ")"


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
        self._pattern = _trie_pattern(set(self._folded) | set(self._exact))
        self._compiled: re.Pattern[str] | None = None
        self._cache: dict[str, tuple[tuple[Hit, ...], tuple[Hit, ...] | None]] = {}

    def __getstate__(self) -> dict[str, Any]:
        # Sent to an import's worker processes: the terms and the pattern's text, not the compiled
        # pattern (pickle would compile it again on arrival anyway) nor the cache of looked-up texts.
        return {**self.__dict__, "_compiled": None, "_cache": {}}

    @property
    def _rx(self) -> re.Pattern[str]:
        # Compiled when first searched (~0.3 s): a process that only reads the terms (the importer's
        # writer, for the full-text index) never pays for it.
        return self._compiled or self.compile()

    def compile(self) -> re.Pattern[str]:
        """The compiled pattern, compiled now if not yet (a worker does it while it waits for input)."""
        if self._compiled is None:
            self._compiled = re.compile(self._pattern)
        return self._compiled

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
        if not texts:
            return []
        # Texts are joined by a character no term can span, so the engine runs once per record.
        written = _spaced(" " + (_BARRIER + " ").join(texts))
        joined = fold_text(written)
        offsets = list(itertools.accumulate((len(text) + 2 for text in texts), initial=0))
        results: list[list[TermMatch]] = [[] for _ in texts]
        shouting: dict[int, bool] = {}
        index = 0
        following = offsets[1]
        found = results[0]
        cache = self._cache
        for match in self._rx.finditer(joined):
            start, end = match.span()
            start += 1
            if start >= following:
                while start >= offsets[index + 1]:
                    index += 1
                following = offsets[index + 1]
                found = results[index]
            text = written[start:end]
            entry = cache.get(text)
            if entry is None:
                entry = self._lookup(text)
            hits, exact = entry
            if exact is not None:
                # A text that is only an abbreviation counts where the text is not mostly upper case.
                if index not in shouting:
                    shouting[index] = _shouting(texts[index])
                if not shouting[index]:
                    hits = exact
            if hits:
                base = offsets[index] + 1
                found.append(TermMatch(start - base, end - base, hits))
        return results

    def _lookup(self, written: str) -> tuple[tuple[Hit, ...], tuple[Hit, ...] | None]:
        """The hits of a matched text as written, and None or the hits it has only as an abbreviation
        (which count where the text is not shouting). Both depend only on the text as written (its
        case kept), so they are cached by it."""
        key = canonical(written)
        hits = self._folded.get(key, ())
        exact: tuple[Hit, ...] | None = None
        if key in self._exact:
            # Abbreviation candidates depend on the case as written.
            case_hits = self._exact_hits(written)
            if hits:
                hits = hits + tuple(hit for hit in case_hits if hit not in hits)
            else:
                exact = case_hits
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        self._cache[written] = (hits, exact)
        return hits, exact

    def _exact_hits(self, written: str) -> tuple[Hit, ...]:
        variants = self._exact.get(canonical(written), {})
        return variants.get(canonical(written, fold=False), ())


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
    if text.isascii():  # the same counts, without a list of every letter: what dropping them leaves
        letters = len(text) - len(text.translate(_DROP_LETTERS))
        return letters >= 12 and len(text) - len(text.translate(_DROP_UPPER)) > 0.6 * letters
    letters = len(_LETTER.findall(text))
    return letters >= 12 and len(_UPPER.findall(text)) > 0.6 * letters
