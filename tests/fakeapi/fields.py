"""The v2 study field tree (a real GET /studies/metadata answer): piece names, JSON paths, projection."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

METADATA_FILE = Path(__file__).parent / "data" / "studies_metadata.json"


@dataclass(frozen=True)
class Field:
    """One node of the field tree: its piece name, where it sits in a study, and its kind."""

    piece: str
    path: tuple[str, ...]
    source_type: str  # DATE, NUMERIC, TEXT, MARKUP, BOOLEAN, STRUCT, ...

    @property
    def sortable(self) -> bool:
        """The API sorts only on date and numeric fields."""
        return self.source_type in {"DATE", "NUMERIC"}


class FieldIndex:
    """Looks fields up the ways the API accepts: piece name, alternative piece name, or dotted path."""

    def __init__(self, tree: Iterable[Mapping[str, Any]]) -> None:
        self._by_name: dict[str, Field] = {}
        for node in tree:
            self._add(node, ())

    def _add(self, node: Mapping[str, Any], parent: tuple[str, ...]) -> None:
        path = (*parent, node["name"])
        field = Field(piece=node["piece"], path=path, source_type=node.get("sourceType", "TEXT"))
        for name in (node["piece"], *node.get("altPieceNames", ()), ".".join(path)):
            self._by_name.setdefault(name.lower(), field)
        for child in node.get("children", ()):
            self._add(child, path)

    def resolve(self, name: str) -> Field | None:
        """The field called ``name`` (case-insensitive), or None."""
        return self._by_name.get(name.strip().lower())

    def require(self, name: str) -> Field:
        """The field called ``name``; a KeyError names it when it does not exist."""
        field = self.resolve(name)
        if field is None:
            raise KeyError(f"no field {name!r} in the study metadata")
        return field


@functools.cache
def field_index() -> FieldIndex:
    """The index built from the bundled metadata file (read once per process)."""
    return FieldIndex(json.loads(METADATA_FILE.read_text(encoding="utf-8")))


def iter_values(study: Mapping[str, Any], path: tuple[str, ...]) -> Iterator[Any]:
    """Every leaf value at ``path``, descending through lists on the way."""
    nodes: list[Any] = [study]
    for key in path:
        next_nodes: list[Any] = []
        for node in nodes:
            items = node if isinstance(node, list) else [node]
            next_nodes.extend(item[key] for item in items if isinstance(item, dict) and key in item)
        nodes = next_nodes
    for node in nodes:
        if isinstance(node, list):
            yield from node
        else:
            yield node


def project(study: Mapping[str, Any], paths: Iterable[tuple[str, ...]]) -> dict[str, Any]:
    """A partial study holding only ``paths`` (what ``fields=`` asks for), keeping the nesting."""
    out: dict[str, Any] = {}
    for path in paths:
        _copy_path(study, out, path)
    return out


def _copy_path(source: Mapping[str, Any], target: dict[str, Any], path: tuple[str, ...]) -> None:
    key, rest = path[0], path[1:]
    if key not in source:
        return
    value = source[key]
    if not rest:
        target[key] = value
    elif isinstance(value, dict):
        _copy_path(value, target.setdefault(key, {}), rest)
    elif isinstance(value, list):
        copies = target.setdefault(key, [{} for _ in value])
        for item, copy in zip(value, copies, strict=True):
            if isinstance(item, dict):
                _copy_path(item, copy, rest)
