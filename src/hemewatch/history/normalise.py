"""Canonical forms: what two versions must share to count as the same value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from hemewatch.history.events import JsonValue
from hemewatch.text import criteria_lines, fold, loose

__all__ = [
    "canonical",
    "criteria_lines",
    "fold",
    "get_path",
    "is_empty",
    "loose",
    "module",
    "sort_token",
]

_SORT_OPTIONS = orjson.OPT_SORT_KEYS


def is_empty(value: object) -> bool:
    """True for what the API means by "nothing": absent, null, "", [] or {}."""
    return value is None or value == "" or value == [] or value == {}


def canonical(value: Any, ignored_keys: frozenset[str] = frozenset()) -> JsonValue:
    """Value with empty members dropped, text whitespace collapsed and every list as a sorted set.

    Anything empty becomes None, so an omitted array and an empty one compare equal.
    """
    form = _canonical(value, ignored_keys)
    return None if is_empty(form) else form


def _canonical(value: Any, ignored_keys: frozenset[str]) -> JsonValue:
    if isinstance(value, dict):
        out: dict[str, JsonValue] = {}
        for key, member in value.items():
            if key in ignored_keys:
                continue
            form = _canonical(member, ignored_keys)
            if not is_empty(form):
                out[key] = form
        return out
    if isinstance(value, list):
        # The registry gives no meaning to the order of its lists (sites, conditions, MeSH terms,
        # outcomes...) and re-orders some between releases, so lists compare as sets.
        forms = {sort_token(form): form for form in (_canonical(item, ignored_keys) for item in value)}
        return [forms[token] for token in sorted(forms) if not is_empty(forms[token])]
    if isinstance(value, str):
        return " ".join(value.split())
    if value is None or isinstance(value, bool | int | float):
        return value
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def sort_token(value: JsonValue) -> bytes:
    """Order-independent serialisation, used to sort and to compare canonical values."""
    return orjson.dumps(value, option=_SORT_OPTIONS)


def get_path(record: Mapping[str, Any], dotted: str) -> Any:
    """Value at a dotted path of a study record, or None when any step is missing."""
    node: Any = record
    for step in dotted.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(step)
    return node


def module(record: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A protocolSection module, or an empty mapping when the record omits it."""
    section = record.get("protocolSection")
    found = section.get(name) if isinstance(section, Mapping) else None
    return found if isinstance(found, Mapping) else {}
