"""The values a tracker may filter on, read from the classification lexicons (ids and labels)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

# Tracker dimension -> lexicon `kind`. Agents are left free: trials name drugs the lexicon lacks.
_LEXICON_KINDS = {
    "diseases": "diseases",
    "modalities": "modalities",
    "targets": "targets",
    "settings": "settings",
    "populations": "populations",
}
# The C loader reads the lexicons several times faster; both are safe loaders.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def known_values() -> MappingProxyType[str, MappingProxyType[str, str]]:
    """For each checked dimension, every accepted value case-folded -> its canonical spelling."""
    found: dict[str, dict[str, str]] = {dimension: {} for dimension in _LEXICON_KINDS}
    dimension_of = {kind: dimension for dimension, kind in _LEXICON_KINDS.items()}
    root = resources.files("hemewatch.classification").joinpath("lexicons")
    for item in sorted(root.iterdir(), key=lambda entry: entry.name):
        if not item.name.endswith(".yaml"):
            continue
        document: Any = yaml.load(item.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506
        kind = document.get("kind") if isinstance(document, dict) else None
        dimension = dimension_of.get(kind) if isinstance(kind, str) else None
        if dimension is None:
            continue
        for entry in document.get("entries") or []:
            for name in (entry.get("id"), entry.get("label")):
                if isinstance(name, str) and name:
                    found[dimension].setdefault(name.casefold(), name)
    return MappingProxyType({dimension: MappingProxyType(values) for dimension, values in found.items()})
