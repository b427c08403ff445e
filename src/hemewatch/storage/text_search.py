"""Read a free-text search through the lexicon: drug names, brands, codes, diseases, markers, targets.

"SNDX-5613", "sndx5613", "Revuforj" and "revumenib" all name one agent; "KMT2A" names the disease
tag KMT2A-rearranged. A text is read as lexicon terms only when terms cover all of it (a few
joining words aside): "blinatumomab and inotuzumab" asks for both agents, "CD22 CAR-T" for one
therapy pairing the target with the modality, "blinatumomab in children" for nothing the lexicon
knows (it stays a plain text search). Pure: the catalog turns the result into tag conditions.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from hemewatch.classification.lexicon import Lexicon
from hemewatch.classification.matching import Hit
from hemewatch.classification.terms import canonical, term_units
from hemewatch.storage.tags import PAIR_KIND, pair_value

# One requirement: (tag kind, accepted values) alternatives; a trial meets it with any of them.
Requirement = tuple[tuple[str, tuple[str, ...]], ...]

# Words that only join the names of a search ("blinatumomab + inotuzumab").
_JOINERS: Final = frozenset({"and", "with", "plus", "+"})
SuggestionKind = Literal["agent", "target", "disease"]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A lexicon name close to a search that found nothing."""

    kind: SuggestionKind
    value: str


def resolve_text(text: str, lexicon: Lexicon) -> tuple[Requirement, ...]:
    """The tag requirements a search text names (all must hold), or () when it is not lexicon terms."""
    key = (lexicon.version, text)
    found = _RESOLVED.get(key)
    if found is None:
        found = _resolve(text, lexicon)
        if len(_RESOLVED) >= _MEMO_SIZE:
            _RESOLVED.clear()
        _RESOLVED[key] = found
    return found


def _resolve(text: str, lexicon: Lexicon) -> tuple[Requirement, ...]:
    groups: list[list[Hit]] = []
    position = 0
    for match in lexicon.matcher.find(text):
        if not _fill_gap(text[position : match.start], lexicon, groups):
            return ()
        # A term that is also an entry id of another kind stands for both ("FLT3": target and marker).
        named = _id_index(lexicon).get(canonical(text[match.start : match.end]), ())
        groups.append(list(dict.fromkeys([*match.hits, *named])))
        position = match.end
    if not _fill_gap(text[position:], lexicon, groups):
        return ()
    return _requirements(groups, lexicon)


def _fill_gap(gap: str, lexicon: Lexicon, groups: list[list[Hit]]) -> bool:
    """Read text between matched terms as entry ids ("KMT2A", "b-all"); False when a word is unknown."""
    words = [word for word in gap.split() if canonical(word) not in _JOINERS]
    if not any(term_units(word) for word in words):
        return True
    index = _id_index(lexicon)
    whole = index.get(canonical(" ".join(words)))
    if whole is not None:
        groups.append(list(whole))
        return True
    for word in words:
        if not term_units(word):
            continue
        hits = index.get(canonical(word))
        if hits is None:
            return False
        groups.append(list(hits))
    return True


_ID_INDEXES: dict[str, Mapping[str, tuple[Hit, ...]]] = {}


def _id_index(lexicon: Lexicon) -> Mapping[str, tuple[Hit, ...]]:
    """Entry ids by canonical key: marker and disease ids are not always terms of their own."""
    found = _ID_INDEXES.get(lexicon.version)
    if found is None:
        index: dict[str, list[Hit]] = {}
        kinds: dict[str, Mapping[str, object]] = {
            "agent": lexicon.agents,
            "disease": lexicon.diseases,
            "marker": lexicon.markers,
            "target": lexicon.targets,
            "modality": lexicon.modalities,
        }
        for kind, entries in kinds.items():
            for entry_id in entries:
                index.setdefault(canonical(entry_id), []).append(Hit(kind, entry_id))
        found = _ID_INDEXES[lexicon.version] = {key: tuple(hits) for key, hits in index.items()}
    return found


def _requirements(groups: list[list[Hit]], lexicon: Lexicon) -> tuple[Requirement, ...]:
    requirements: list[Requirement] = []
    lone_targets: list[str] = []
    lone_modalities: list[str] = []
    for hits in groups:
        tags = _tags_of(hits, lexicon)
        kinds = {kind for kind, _ in tags}
        if kinds == {"target"}:
            lone_targets.extend(value for _, value in tags)
        elif kinds == {"modality"}:
            lone_modalities.extend(value for _, value in tags)
        elif tags:
            requirements.append(_alternatives(tags))
    if lone_targets and lone_modalities:
        # A target and a modality named together are one therapy's, as in the filters.
        pairs = [pair_value(t, m) for t in lone_targets for m in lone_modalities]
        requirements.append(((PAIR_KIND, tuple(dict.fromkeys(pairs))),))
    else:
        for kind, values in (("target", lone_targets), ("modality", lone_modalities)):
            if values:
                requirements.append(((kind, tuple(dict.fromkeys(values))),))
    return tuple(requirements)


def _tags_of(hits: list[Hit], lexicon: Lexicon) -> list[tuple[str, str]]:
    """The (tag kind, value) pairs one matched term stands for; catch-all diseases stand for nothing."""
    tags: list[tuple[str, str]] = []
    targets = [hit.entry for hit in hits if hit.kind == "target"]
    modalities = [hit.entry for hit in hits if hit.kind == "modality"]
    if targets and modalities:
        # A product named after its antigen ("CART19") is one therapy: a pair, not either part.
        tags.extend((PAIR_KIND, pair_value(t, m)) for t in targets for m in modalities)
    else:
        tags.extend(("target", t) for t in targets)
        tags.extend(("modality", m) for m in modalities)
    for hit in hits:
        if hit.kind == "agent":
            tags.append(("agent", hit.entry))
        elif hit.kind == "disease":
            entry = lexicon.diseases.get(hit.entry)
            if entry is not None and not entry.catch_all:
                tags.append(("disease", hit.entry))
        elif hit.kind == "marker" and (marker := lexicon.markers.get(hit.entry)) is not None:
            named = [marker.tag] if marker.tag else []
            tags.extend(("disease", d) for d in dict.fromkeys([*named, *(s for _, s in marker.subtypes)]))
    return tags


def _alternatives(tags: list[tuple[str, str]]) -> Requirement:
    by_kind: dict[str, list[str]] = {}
    for kind, value in tags:
        bucket = by_kind.setdefault(kind, [])
        if value not in bucket:
            bucket.append(value)
    return tuple((kind, tuple(values)) for kind, values in by_kind.items())


_CUTOFF: Final = 0.75


def suggest_names(text: str, lexicon: Lexicon, *, limit: int = 3) -> list[Suggestion]:
    """Agents, targets and diseases whose names are close to the text ("blinatumomb": blinatumomab)."""
    key = (lexicon.version, text, limit)
    found = _SUGGESTED.get(key)
    if found is None:
        found = _suggest(text, lexicon, limit)
        if len(_SUGGESTED) >= _MEMO_SIZE:
            _SUGGESTED.clear()
        _SUGGESTED[key] = found
    return list(found)


def _suggest(text: str, lexicon: Lexicon, limit: int) -> tuple[Suggestion, ...]:
    names = _names(lexicon)
    wanted = canonical(text)
    if not wanted:
        return ()
    tries = [wanted, *(canonical(word) for word in text.split() if len(word) >= 4)]
    found: list[Suggestion] = []
    for attempt in dict.fromkeys(tries):
        for key in difflib.get_close_matches(
            attempt, _near_in_length(attempt, lexicon), n=limit, cutoff=_CUTOFF
        ):
            if key == wanted:
                continue
            for suggestion in names[key]:
                if suggestion not in found:
                    found.append(suggestion)
        if found:
            break
    return tuple(found[:limit])


def _near_in_length(attempt: str, lexicon: Lexicon) -> list[str]:
    """The names whose length allows a close match (difflib's own first test, done per length, not per name).

    A ratio is 2 * matches / (both lengths), so it is at most 2 * shorter / (both lengths): names too
    long or too short for the cutoff are never close matches, and leaving them out changes nothing.
    """
    size = len(attempt)
    by_length = _names_by_length(lexicon)
    return [
        name
        for length, names in by_length.items()
        if 2.0 * min(size, length) / (size + length) >= _CUTOFF
        for name in names
    ]


_BY_LENGTH: dict[str, dict[int, tuple[str, ...]]] = {}


def _names_by_length(lexicon: Lexicon) -> dict[int, tuple[str, ...]]:
    found = _BY_LENGTH.get(lexicon.version)
    if found is None:
        grouped: dict[int, list[str]] = {}
        for name in _names(lexicon):
            grouped.setdefault(len(name), []).append(name)
        found = _BY_LENGTH[lexicon.version] = {length: tuple(names) for length, names in grouped.items()}
    return found


# What a text was read as, and the names close to it: pure functions of the text and the lexicon,
# asked for by every search (the listing, its count and its facets each read the text).
_MEMO_SIZE: Final = 2048
_RESOLVED: dict[tuple[str, str], tuple[Requirement, ...]] = {}
_SUGGESTED: dict[tuple[str, str, int], tuple[Suggestion, ...]] = {}


_NAME_INDEXES: dict[str, Mapping[str, tuple[Suggestion, ...]]] = {}


def _names(lexicon: Lexicon) -> Mapping[str, tuple[Suggestion, ...]]:
    found = _NAME_INDEXES.get(lexicon.version)
    if found is None:
        index: dict[str, list[Suggestion]] = {}
        for suggestion in _iter_names(lexicon):
            index.setdefault(canonical(suggestion.value), []).append(suggestion)
        found = _NAME_INDEXES[lexicon.version] = {key: tuple(items) for key, items in index.items()}
    return found


def _iter_names(lexicon: Lexicon) -> Iterator[Suggestion]:
    yield from (Suggestion("agent", name) for name in lexicon.agents)
    yield from (Suggestion("target", name) for name in lexicon.targets)
    yield from (
        Suggestion("disease", name) for name, entry in lexicon.diseases.items() if not entry.catch_all
    )
