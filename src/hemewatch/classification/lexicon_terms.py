"""Every name in the lexicons, expanded and checked, as (term, hit, case-sensitive) triples."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Final

from hemewatch.classification.lexicon_entries import TargetEntry
from hemewatch.classification.lexicon_schema import NAME_FIELDS, EntryReader
from hemewatch.classification.matching import Hit
from hemewatch.classification.terms import canonical, expand_template, spelling_variants

# The kind of term each lexicon kind contributes to the matcher (stems are not matched as terms).
HIT_KINDS: Final = {
    "diseases": "disease",
    "markers": "marker",
    "targets": "target",
    "modalities": "modality",
    "agents": "agent",
    "settings": "setting",
    "populations": "population",
    "cues": "cue",
}
_CD_NUMBER: Final = re.compile(r"^CD(\d+)$")


def iter_terms(
    readers: Mapping[str, Sequence[EntryReader]], targets: Mapping[str, TargetEntry]
) -> Iterator[tuple[str, Hit, bool]]:
    """Yield every term; two entries of one kind may not share a term."""
    owners: dict[tuple[str, str, bool], str] = {}
    for kind, hit_kind in HIT_KINDS.items():
        for reader in readers.get(kind, []):
            hit = Hit(hit_kind, reader.id)
            # An agent's id is its generic name, matched like its other names.
            for term, case_sensitive in _entry_names(reader, id_is_name=kind == "agents"):
                key = (hit_kind, canonical(term, fold=not case_sensitive), case_sensitive)
                if not key[1]:
                    raise reader.fail(f"term {term!r} has no letters or digits")
                owner = owners.setdefault(key, reader.id)
                if owner != reader.id:
                    raise reader.fail(f"term {term!r} already names {hit_kind} '{owner}'")
                yield term, hit, case_sensitive
            for construct in reader.strings("constructs"):
                yield construct, Hit("construct", reader.id), False
            if kind == "diseases":
                yield from ((term, hit, False) for term in _mesh_terms(reader))
    yield from _car_product_terms(targets)


def _mesh_terms(reader: EntryReader) -> Iterator[str]:
    """A disease's MeSH descriptor as records' condition MeSH terms read (classification/record.py):
    "D015470 Leukemia, Myeloid, Acute", and the id alone for a heading MeSH has since renamed."""
    mesh, heading = reader.text("mesh"), reader.text("mesh_heading")
    if mesh and heading:
        # Records write the older seven-character ids zero-padded too: D015470 as D000015470.
        for written in (mesh, f"D000{mesh[1:]}") if len(mesh) == 7 else (mesh,):
            yield f"{written} {heading}"
            yield written


def _car_product_terms(targets: Mapping[str, TargetEntry]) -> Iterator[tuple[str, Hit, bool]]:
    """CAR products are often named after their antigen's CD number: CAR7, CART19, SCRI-CAR22v2."""
    for target in targets.values():
        number = _CD_NUMBER.match(target.id)
        if number:
            for template in ("CAR{}", "CART{}", "CAR-T{}"):
                term = template.format(number.group(1))
                yield term, Hit("target", target.id), False
                yield term, Hit("modality", "CAR-T"), False


def _entry_names(reader: EntryReader, *, id_is_name: bool) -> Iterator[tuple[str, bool]]:
    names = [term for field in NAME_FIELDS for term in reader.strings(field)]
    if id_is_name:
        names.insert(0, reader.id)
    for raw_term in names:
        try:
            expanded = expand_template(raw_term)
        except ValueError as exc:
            raise reader.fail(str(exc)) from exc
        for term in expanded:
            for variant in spelling_variants(term):
                yield variant, False
    for abbreviation in reader.strings("abbreviations"):
        yield abbreviation, True


def ambiguous_abbreviations(readers: Mapping[str, Sequence[EntryReader]]) -> frozenset[tuple[str, str]]:
    """Return (term kind, abbreviation key) pairs for abbreviations that are also ordinary words."""
    found = set()
    for kind, hit_kind in HIT_KINDS.items():
        for reader in readers.get(kind, []):
            abbreviations = set(reader.strings("abbreviations"))
            for word in reader.strings("ambiguous"):
                if word not in abbreviations:
                    raise reader.fail(f"'ambiguous' names {word!r}, which is not one of its abbreviations")
                found.add((hit_kind, canonical(word, fold=False)))
    return frozenset(found)
