"""The watch scope: registry queries plus a local check on conditions, MeSH terms and titles."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from hemewatch.errors import ScopeError

_FIELD_SEGMENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\[\])?$")


@dataclass(frozen=True)
class Scope:
    """What hemewatch watches: the registry queries and the local in-scope check."""

    name: str
    description: str
    queries: tuple[Mapping[str, str], ...]
    fields: tuple[str, ...]
    patterns: re.Pattern[str]
    acronym_fields: tuple[str, ...]
    acronyms: re.Pattern[str] | None
    generic_fields: tuple[str, ...] = ()
    generic_patterns: re.Pattern[str] | None = None
    generic_exclude: re.Pattern[str] | None = None
    generic_exclude_fields: tuple[str, ...] = ()

    def matches(self, study: Mapping[str, Any]) -> bool:
        """True when the study's conditions, MeSH terms or titles name a disease in scope."""
        return self.explain(study) is not None

    def explain(self, study: Mapping[str, Any]) -> tuple[str, str] | None:
        """Return (field path, matched text) of the first match, or None when out of scope."""
        texts = _FieldTexts(study)
        for path in self.fields:
            found = self.patterns.search(texts[path])
            if found:
                return path, found.group(0)
        if self.acronyms is not None:
            for path in self.acronym_fields:
                found = self.acronyms.search(texts[path])
                if found:
                    return path, found.group(0)
        return self._explain_generic(texts)

    def _explain_generic(self, texts: _FieldTexts) -> tuple[str, str] | None:
        if self.generic_patterns is None:
            return None
        if self.generic_exclude is not None:
            for path in self.generic_exclude_fields:
                if self.generic_exclude.search(texts[path]):
                    return None
        for path in self.generic_fields:
            found = self.generic_patterns.search(texts[path])
            if found:
                return path, found.group(0)
        return None


def iter_field_values(study: Mapping[str, Any], path: str) -> list[str]:
    """The string values at a dotted path where `name[]` walks every list element."""
    nodes: list[Any] = [study]
    for key, many in _segments(path):
        following: list[Any] = []
        for node in nodes:
            value = node.get(key) if isinstance(node, dict) else None
            if value is None:
                continue
            if many:
                if isinstance(value, list):
                    following.extend(value)
            else:
                following.append(value)
        nodes = following
        if not nodes:
            return []
    return [node for node in nodes if isinstance(node, str)]


@lru_cache(maxsize=256)
def _segments(path: str) -> tuple[tuple[str, bool], ...]:
    return tuple((seg[:-2], True) if seg.endswith("[]") else (seg, False) for seg in path.split("."))


class _FieldTexts(dict[str, str]):
    """Joined field values of one study, computed once per field."""

    def __init__(self, study: Mapping[str, Any]) -> None:
        super().__init__()
        self._study = study

    def __missing__(self, path: str) -> str:
        # One search over the joined values is much faster than one per value; NUL matches
        # no pattern (not even \s), so no match can span two values.
        text = self[path] = "\x00".join(iter_field_values(self._study, path))
        return text


def _compile(patterns: list[str], *, flags: int, source: str) -> re.Pattern[str]:
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns), flags)
    except re.error as exc:
        raise ScopeError(f"{source}: invalid pattern: {exc}") from exc


def _str_list(raw: Mapping[str, Any], key: str, source: str, *, required: bool = True) -> list[str]:
    value = raw.get(key, None if required else [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or (required and not value):
        raise ScopeError(f"{source}: `{key}` must be a non-empty list of strings")
    return value


def _check_fields(fields: list[str], source: str) -> None:
    for field in fields:
        if not all(_FIELD_SEGMENT.match(seg) for seg in field.split(".")):
            raise ScopeError(f"{source}: invalid field path {field!r}")


def parse_scope(raw: Mapping[str, Any], *, source: str) -> Scope:
    """Validate a decoded scope document and build the Scope."""
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ScopeError(f"{source}: `name` is required")
    queries = raw.get("queries")
    if not isinstance(queries, list) or not queries:
        raise ScopeError(f"{source}: at least one [[queries]] table is required")
    for query in queries:
        if (
            not isinstance(query, dict)
            or not query
            or not all(
                isinstance(k, str) and isinstance(v, str) and (k.startswith(("query.", "filter.")))
                for k, v in query.items()
            )
        ):
            raise ScopeError(
                f"{source}: each query maps query.* or filter.* parameters to strings: {query!r}"
            )
    local = raw.get("local")
    if not isinstance(local, dict):
        raise ScopeError(f"{source}: a [local] table is required")
    fields = _str_list(local, "fields", source)
    acronym_fields = _str_list(local, "acronym_fields", source, required=False)
    _check_fields(fields + acronym_fields, source)
    acronyms = _str_list(local, "acronyms", source, required=False)
    acronym_re = None
    if acronyms:
        alternatives = [re.escape(a) for a in sorted(acronyms, key=len, reverse=True)]
        acronym_re = _compile([rf"(?<![\w+-])(?:{'|'.join(alternatives)})(?![\w+-])"], flags=0, source=source)
    generic_fields = _str_list(local, "generic_fields", source, required=False)
    exclude_fields = _str_list(local, "generic_exclude_fields", source, required=False)
    _check_fields(generic_fields + exclude_fields, source)
    generic = _str_list(local, "generic_patterns", source, required=False)
    exclude = _str_list(local, "generic_exclude", source, required=False)
    return Scope(
        name=name,
        description=str(raw.get("description", "")),
        queries=tuple(dict(q) for q in queries),
        fields=tuple(fields),
        patterns=_compile(_str_list(local, "patterns", source), flags=re.IGNORECASE, source=source),
        acronym_fields=tuple(acronym_fields),
        acronyms=acronym_re,
        generic_fields=tuple(generic_fields),
        generic_patterns=_compile(generic, flags=re.IGNORECASE, source=source) if generic else None,
        generic_exclude=_compile(exclude, flags=re.IGNORECASE, source=source) if exclude else None,
        generic_exclude_fields=tuple(exclude_fields),
    )


def load_scope(path: Path | None = None) -> Scope:
    """Load a scope TOML file, or the bundled acute leukemia scope when path is None."""
    if path is None:
        text = resources.files("hemewatch.registry").joinpath("default_scope.toml").read_text("utf-8")
        source = "default scope"
    else:
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise ScopeError(f"Cannot read the scope file {path}: {exc.strerror}") from exc
        source = str(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScopeError(f"{source} is not valid TOML: {exc}") from exc
    return parse_scope(raw, source=source)
