"""How lexicon terms and record text are cut into comparable units.

A term and a piece of text match when they have the same units: runs of letters, runs of digits and "+".
Everything else (spaces, hyphens, slashes, commas, brackets) only separates units, so "AMG 103", "AMG-103"
and "AMG103" are one term, and "Leukemia, Myeloid, Acute" reads like the MeSH heading it is.
"""

from __future__ import annotations

import itertools
import re
from typing import Final

_UNIT: Final = re.compile(r"[^\W\d_]+|\d+|\+")
_TEMPLATE_GROUP: Final = re.compile(r"\{([^{}]*)\}")

# Registry records mix American and British spelling; every term is expanded both ways so lexicon
# authors write each term once.
_SPELLING_PAIRS: Final = (
    ("leukemi", "leukaemi"),
    ("hemat", "haemat"),
    ("hemop", "haemop"),
    ("tumor", "tumour"),
    ("pediatric", "paediatric"),
    ("anemia", "anaemia"),
    ("labeled", "labelled"),
)


def term_units(text: str, *, fold: bool = True) -> list[str]:
    """Split text into its matching units, lower-cased unless fold is False."""
    if fold:
        text = text.lower()
    return _UNIT.findall(text)


def canonical(text: str, *, fold: bool = True) -> str:
    """Return the canonical key of a term or matched text: its units joined by single spaces."""
    return " ".join(term_units(text, fold=fold))


def expand_template(term: str) -> list[str]:
    """Expand "{a|b}" alternation groups into every combination, e.g. "acute {myeloid|myelogenous}"."""
    if "{" not in term and "}" not in term:
        return [term]
    pieces: list[list[str]] = []
    position = 0
    for group in _TEMPLATE_GROUP.finditer(term):
        pieces.append([term[position : group.start()]])
        pieces.append(group.group(1).split("|"))
        position = group.end()
    pieces.append([term[position:]])
    expanded = ["".join(combination) for combination in itertools.product(*pieces)]
    if any("{" in item or "}" in item for item in expanded):
        raise ValueError(f"unbalanced braces in term {term!r}")
    return [" ".join(item.split()) for item in expanded]


def spelling_variants(term: str) -> set[str]:
    """Return the term with every American/British spelling variant applied."""
    variants = {term}
    for american, british in _SPELLING_PAIRS:
        for current in list(variants):
            lowered = current.lower()
            if american in lowered:
                variants.add(_replace_folded(current, american, british))
            if british in lowered:
                variants.add(_replace_folded(current, british, american))
    return variants


def _replace_folded(text: str, old: str, new: str) -> str:
    """Replace old by new ignoring case; matching is case-insensitive so the result's case is irrelevant."""
    return re.sub(re.escape(old), new, text, flags=re.IGNORECASE)


def fold_text(text: str) -> str:
    """Lower-case text without changing its length, so match offsets stay valid in the original."""
    folded = text.lower()
    if len(folded) == len(text):
        return folded
    # A few characters (e.g. "İ") lower-case to two code points; keep those as they are.
    return "".join(char.lower() if len(char.lower()) == 1 else char for char in text)
