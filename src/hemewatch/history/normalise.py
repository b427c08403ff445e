"""Canonical forms: what two versions must share to count as the same value."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from hemewatch.history.events import JsonValue

_SORT_OPTIONS = orjson.OPT_SORT_KEYS
_NON_WORD = re.compile(r"[\W_]+")
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")
_BULLET = re.compile(r"^\s*(?:[*\-•·+]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+", re.IGNORECASE)
_SECTION_HEADER = re.compile(r"^(?:key\s+)?(inclusion|exclusion)\s+criteria\s*:?$", re.IGNORECASE)


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


def fold(text: object) -> str:
    """Case- and whitespace-insensitive form of a name (facility, city, label)."""
    return " ".join(str(text or "").split()).casefold()


def loose(text: object) -> str:
    """Form that ignores case, punctuation, Markdown escapes and spacing: equal means same wording."""
    unescaped = _MARKDOWN_ESCAPE.sub(r"\1", str(text or ""))
    return _NON_WORD.sub(" ", unescaped.casefold()).strip()


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


def criteria_lines(text: str) -> Iterator[tuple[str, str, str]]:
    """Each eligibility criterion as (section, display text, loose form), headers consumed."""
    section = "criteria"
    for raw in text.splitlines():
        display = " ".join(_MARKDOWN_ESCAPE.sub(r"\1", raw).split())
        if not display:
            continue
        header = _SECTION_HEADER.match(display)
        if header:
            # A criterion moved from exclusion to inclusion is an amendment, so lines keep their section.
            section = header.group(1).lower()
            continue
        display = _BULLET.sub("", display)
        form = loose(display)
        if form:
            yield section, display, form
