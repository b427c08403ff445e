"""One vocabulary for every filter: tag dimensions from the lexicons, phases and statuses from the registry.

Each dimension has canonical values (what trial tags and registry records store), a label per value
and a parser that accepts the ways people write a value: any case, with or without spaces, hyphens or
underscores between words, display labels, British spellings, and for agents every brand, code name,
synonym and misspelling the lexicon knows. An unknown value raises InvalidFilterValue, which lists the
valid values (or, for long lists, the closest ones and where to see them all).

Tables backed by the lexicon are built on first use, so importing this module never loads it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from hemewatch.errors import InvalidFilterValue
from hemewatch.history.events import EVENT_LABELS
from hemewatch.registry.vocabulary import OVERALL_STATUSES, PHASES

if TYPE_CHECKING:
    from hemewatch.classification.lexicon import Lexicon

TAG_DIMENSIONS: Final = (
    "disease",
    "modality",
    "drug_class",
    "target",
    "setting",
    "population",
    "role",
    "agent",
)
REGISTRY_DIMENSIONS: Final = ("phase", "status")
DIMENSIONS: Final = (*TAG_DIMENSIONS, *REGISTRY_DIMENSIONS)
# What search, the API, the command line and trackers filter on today; drug class and role are known
# dimensions that no filter takes yet.
FILTER_DIMENSIONS: Final = (
    "disease",
    "modality",
    "target",
    "setting",
    "population",
    "agent",
    "phase",
    "status",
)

KIND_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "disease": "Disease",
        "modality": "Modality",
        "drug_class": "Drug class",
        "target": "Target",
        "setting": "Setting",
        "population": "Population",
        "role": "Role",
        "agent": "Agent",
        "phase": "Phase",
        "status": "Status",
        "country": "Country",
        "sponsor": "Sponsor",
        "q": "Text",
    }
)
_NOUNS: Final = {
    "disease": ("disease", "diseases"),
    "modality": ("modality", "modalities"),
    "drug_class": ("drug class", "drug classes"),
    "target": ("target", "targets"),
    "setting": ("setting", "settings"),
    "population": ("population", "populations"),
    "role": ("role", "roles"),
    "agent": ("agent", "agents"),
    "phase": ("phase", "phases"),
    "status": ("status", "statuses"),
}
STATUS_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "NOT_YET_RECRUITING": "Not yet recruiting",
        "RECRUITING": "Recruiting",
        "ENROLLING_BY_INVITATION": "Enrolling by invitation",
        "ACTIVE_NOT_RECRUITING": "Active, not recruiting",
        "SUSPENDED": "Suspended",
        "TERMINATED": "Terminated",
        "COMPLETED": "Completed",
        "WITHDRAWN": "Withdrawn",
        "UNKNOWN": "Unknown",
        "AVAILABLE": "Available",
        "NO_LONGER_AVAILABLE": "No longer available",
        "TEMPORARILY_NOT_AVAILABLE": "Temporarily not available",
        "APPROVED_FOR_MARKETING": "Approved for marketing",
        "WITHHELD": "Withheld",
    }
)
PHASE_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "EARLY_PHASE1": "Early phase 1",
        "PHASE1": "Phase 1",
        "PHASE2": "Phase 2",
        "PHASE3": "Phase 3",
        "PHASE4": "Phase 4",
        "NA": "Not applicable",
    }
)
_POPULATION_ORDER: Final = ("pediatric", "AYA", "adult", "older adult")
# Lists up to this long are spelled out in a refusal; longer ones get the closest values instead.
_LISTED: Final = 20
# Letters, digits and "+" make a value; case, spaces, hyphens, slashes and underscores do not.
# (Patterns are compiled on first use, through re's cache: importing this module stays cheap.)
_SEPARATORS: Final = r"[^\w+]|_"
# "1/2", "phase 1/2", "PHASE1|PHASE2": two phases in one value.
_TWO_PHASES: Final = (
    r"(?:phase\s*)?(?:[1-4]|i{1,3}|iv)\s*(?:/|\||,|&|\+|-|and|or)\s*(?:phase\s*)?(?:[1-4]|i{1,3}|iv)"
)
# Dimensions whose values the lexicon also names by terms (matched as the classifier matches them).
_TERM_DIMENSIONS: Final = frozenset({"disease", "modality", "target", "setting", "population", "agent"})


@dataclass(frozen=True, slots=True)
class _Table:
    """One dimension: canonical values in display order, their labels, and every accepted spelling."""

    values: tuple[str, ...]
    labels: Mapping[str, str]
    spellings: Mapping[str, str]  # spelling key -> canonical value
    hint: str = ""  # how else values may be written, for the refusal message


def _key(text: str) -> str:
    return re.sub(_SEPARATORS, "", text.casefold())


def _build(
    values: Sequence[str],
    *,
    labels: Mapping[str, str] | None = None,
    aliases: Iterable[tuple[str, str]] = (),
    variants: Callable[[str], Iterable[str]] | None = None,
    hint: str = "",
) -> _Table:
    """A table whose values win over labels and aliases; an alias naming several values names none."""
    shown = {value: (labels or {}).get(value) or value for value in values}
    spread = variants or (lambda text: (text,))
    spellings: dict[str, str] = {}
    for value in values:
        for written in spread(value):
            if _key(written):
                spellings.setdefault(_key(written), value)
    candidates: dict[str, set[str]] = {}
    for written, value in (*((shown[v], v) for v in values), *aliases):
        for variant in spread(written):
            candidates.setdefault(_key(variant), set()).add(value)
    for key, found in candidates.items():
        if key and key not in spellings and len(found) == 1:
            spellings[key] = found.pop()
    return _Table(tuple(values), MappingProxyType(shown), MappingProxyType(spellings), hint)


def _lexicon() -> Lexicon:
    from hemewatch.classification.lexicon import default_lexicon  # loaded once per process, on first use

    return default_lexicon()


def _spelling_variants(text: str) -> Iterable[str]:
    from hemewatch.classification.terms import spelling_variants

    return spelling_variants(text)


def _labelled(values: Sequence[str], entries: Mapping[str, Any]) -> _Table:
    # Guideline labels that name one value ("other cell therapy" names several: none) are spellings of it.
    aliases = [(entry.label, key) for key, entry in entries.items() if getattr(entry, "label", None)]
    return _build(values, aliases=aliases, variants=_spelling_variants)


def _settings(lexicon: Lexicon) -> _Table:
    # Setting tags carry the label ("relapsed/refractory"), which several lexicon entries share.
    labels = list(dict.fromkeys(entry.label for entry in lexicon.settings.values() if entry.label))
    aliases = [(entry.id, entry.label) for entry in lexicon.settings.values() if entry.label]
    return _build(labels, aliases=aliases, variants=_spelling_variants)


def _populations(lexicon: Lexicon) -> _Table:
    known = set(lexicon.populations)
    ordered = [p for p in _POPULATION_ORDER if p in known] + sorted(known - set(_POPULATION_ORDER))
    return _build(ordered, variants=_spelling_variants)


def _drug_classes(lexicon: Lexicon) -> _Table:
    declared: Any = getattr(lexicon, "drug_classes", None)
    if isinstance(declared, Mapping):
        labels = {key: getattr(entry, "label", None) or key for key, entry in declared.items()}
        return _build(list(declared), labels=labels, variants=_spelling_variants)
    if declared is not None:
        return _build(list(declared), variants=_spelling_variants)
    # Before the lexicon declares its drug classes: the ones its agents, stems and modalities name.
    named = {
        entry.drug_class
        for kind in ("agents", "stems", "modalities")
        for entry in getattr(lexicon, kind).values()
        if getattr(entry, "drug_class", None)
    }
    return _build(sorted(named, key=str.casefold), variants=_spelling_variants)


def _roles() -> _Table:
    from hemewatch.classification.model import ROLES

    return _build(ROLES)


def _phases() -> _Table:
    aliases = [("0", "EARLY_PHASE1"), ("phase 0", "EARLY_PHASE1"), ("early phase I", "EARLY_PHASE1")]
    for number, roman in enumerate(("I", "II", "III", "IV"), start=1):
        aliases += [(str(number), f"PHASE{number}"), (f"phase {roman}", f"PHASE{number}")]
    hint = " (also written 2, phase 2, Phase II, early phase 1, phase 0, not applicable)"
    return _build(PHASES, labels=PHASE_LABELS, aliases=aliases, hint=hint)


def _statuses() -> _Table:
    hint = " (also written in words, e.g. recruiting, not yet recruiting, active, not recruiting)"
    return _build(OVERALL_STATUSES, labels=STATUS_LABELS, hint=hint)


_LEXICON_TABLES: Final[dict[str, Callable[[Lexicon], _Table]]] = {
    "disease": lambda lexicon: _labelled(tuple(lexicon.diseases), lexicon.diseases),
    "modality": lambda lexicon: _labelled(tuple(lexicon.modalities), lexicon.modalities),
    "target": lambda lexicon: _labelled(tuple(lexicon.targets), lexicon.targets),
    "setting": _settings,
    "population": _populations,
    "drug_class": _drug_classes,
    "agent": lambda lexicon: _build(
        tuple(lexicon.agents),
        variants=_spelling_variants,
        hint=" (brand names, code names, synonyms and common misspellings are accepted too)",
    ),
}


@cache
def _table(dimension: str) -> _Table:
    if dimension == "phase":
        return _phases()
    if dimension == "status":
        return _statuses()
    if dimension == "role":
        return _roles()
    build = _LEXICON_TABLES.get(dimension)
    if build is None:
        raise ValueError(f"no vocabulary dimension {dimension!r}; dimensions: {', '.join(DIMENSIONS)}")
    return build(_lexicon())


def values(dimension: str) -> tuple[str, ...]:
    """The canonical values of a dimension, in display order."""
    return _table(dimension).values


def label(dimension: str, value: str) -> str:
    """How a canonical value reads on a page; a value outside the vocabulary reads as itself."""
    if dimension == "status":
        return status_label(value)
    if dimension == "phase":
        return phase_label([value])
    return _table(dimension).labels.get(value, value)


def parse(dimension: str, raw: str) -> str:
    """The canonical value `raw` names, in any case and spelling; raise InvalidFilterValue if none."""
    text = " ".join(raw.split())
    table = _table(dimension)
    found = table.spellings.get(_key(text))
    if found is None and dimension in _TERM_DIMENSIONS:
        found = _named_in_lexicon(dimension, text, table)
    if found is None:
        raise _refusal(dimension, text, table)
    return found


def parse_all(dimension: str, raws: Iterable[str]) -> tuple[str, ...]:
    """Parse several values: blanks skipped, duplicates dropped, order kept."""
    return tuple(dict.fromkeys(parse(dimension, raw) for raw in raws if raw.strip()))


def _named_in_lexicon(dimension: str, text: str, table: _Table) -> str | None:
    """A value by any term the classifier recognises for it ("Blincyto", "acute myeloid leukemia")."""
    lexicon = _lexicon()
    matches = lexicon.matcher.find(text)
    if len(matches) == 1 and (matches[0].start, matches[0].end) == (0, len(text)):
        named = {hit.entry for hit in matches[0].hits if hit.kind == dimension}
        if dimension == "setting":  # setting tags carry the entry's label
            named = {label for entry in named if (label := lexicon.settings[entry].label)}
        known = named & set(table.values)
        if len(known) == 1:
            return known.pop()
    # Agent tags are lexicon names only: a drug no lexicon names is a therapy with an unresolved
    # agent, found by its written name through the text search (`q`), not by this filter.
    return None


def _closest(text: str, table: _Table, cutoff: float = 0.6) -> list[str]:
    key = _key(text)
    if not key or len(key) > 80:
        return []
    keys = difflib.get_close_matches(key, list(table.spellings), n=8, cutoff=cutoff)
    return list(dict.fromkeys(table.spellings[k] for k in keys))[:3]


def _refusal(dimension: str, text: str, table: _Table) -> InvalidFilterValue:
    singular, plural = _NOUNS[dimension]
    shown = text if len(text) <= 80 else text[:79] + "…"
    if dimension == "phase" and re.fullmatch(_TWO_PHASES, text.casefold()):
        message = (
            f"phase {shown!r} names two phases: a phase 1/2 trial is listed under both, so ask for "
            "one of them (repeat the filter to accept either)"
        )
        return InvalidFilterValue(message, dimension=dimension, value=text)
    close = _closest(text, table)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    count = len(table.values)
    if count == 0:
        tail = f"no {plural} are defined yet"
    elif count <= _LISTED:
        tail = f"valid {plural} are {', '.join(table.values)}{table.hint}"
    else:
        tail = (
            f"{count} {plural} are known, e.g. {', '.join(table.values[:5])}, and "
            f"`hemewatch values {dimension}` lists them all{table.hint}"
        )
    return InvalidFilterValue(f"unknown {singular} {shown!r}{hint}: {tail}", dimension=dimension, value=text)


def status_label(code: str | None) -> str:
    """'ACTIVE_NOT_RECRUITING' -> 'Active, not recruiting'."""
    if not code:
        return "—"
    return STATUS_LABELS.get(code, code.replace("_", " ").capitalize())


def phase_label(phases: Sequence[str] | str | None) -> str:
    """['PHASE1', 'PHASE2'] -> 'Phase 1/2'; nothing -> '—'."""
    codes = [p for p in (phases.split("|") if isinstance(phases, str) else phases or []) if p]
    if not codes:
        return "—"
    numbered = [c.removeprefix("PHASE") for c in codes if c.startswith("PHASE")]
    if len(numbered) == len(codes) and len(codes) > 1:
        return "Phase " + "/".join(numbered)
    return ", ".join(PHASE_LABELS.get(c, c) for c in codes)


def event_label(event_type: str) -> str:
    """'site_status_changed' -> 'Site status changed' (the wording of history's event types)."""
    return EVENT_LABELS.get(event_type, event_type.replace("_", " ").capitalize())


def kind_label(kind: str) -> str:
    """'modality' -> 'Modality', 'drug_class' -> 'Drug class'."""
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())
