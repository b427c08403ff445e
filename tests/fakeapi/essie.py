"""A small subset of Essie, the registry's query language: words, "phrases", AND/OR/NOT, (), AREA[], RANGE[].

Enough to make query.* and filter.advanced behave sensibly on the fake server; matching is
case-insensitive on whole words, without Essie's stemming or synonym expansion.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tests.fakeapi.fields import Field, FieldIndex


class EssieError(ValueError):
    """The expression is not valid (or uses Essie features the fake does not implement)."""


@dataclass(frozen=True)
class Text:
    """A word or a quoted phrase, matched as whole words."""

    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Range:
    """RANGE[low,high]; MIN and MAX leave a side open."""

    low: str | None
    high: str | None


@dataclass(frozen=True)
class Area:
    """AREA[Field] applied to the term that follows it."""

    field: Field
    node: Node


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class And:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    nodes: tuple[Node, ...]


Node = Text | Range | Area | Not | And | Or

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<open>\() | (?P<close>\)) |
        "(?P<phrase>[^"]*)" |
        (?P<operator>[A-Z]+)\[(?P<argument>[^\]]*)\] |
        (?P<word>[^\s()"]+)
    )""",
    re.VERBOSE,
)
_BOOLEANS = frozenset({"AND", "OR", "NOT"})


def _text(words: list[str]) -> Text:
    # Word edges are "not a letter or digit", so CAR-T, Ph+ and 11q23 match as written.
    body = r"[\W_]+".join(re.escape(word) for word in words)
    return Text(re.compile(rf"(?<![^\W_]){body}(?![^\W_])", re.IGNORECASE))


class _Parser:
    def __init__(self, expression: str, fields: FieldIndex) -> None:
        self._tokens = self._tokenize(expression)
        self._position = 0
        self._fields = fields

    @staticmethod
    def _tokenize(expression: str) -> list[tuple[str, str, str]]:
        tokens: list[tuple[str, str, str]] = []
        position = 0
        while expression[position:].strip():
            match = _TOKEN.match(expression, position)
            if match is None or match.end() == position:
                raise EssieError(f"cannot read the query from {expression[position:]!r}")
            kind = match.lastgroup or ""
            if kind == "argument":
                tokens.append(("operator", match["operator"], match["argument"]))
            else:
                tokens.append((kind, match[kind] or "", ""))
            position = match.end()
        return tokens

    def parse(self) -> Node:
        node = self._or()
        if self._peek() is not None:
            raise EssieError(f"unexpected {self._peek()!r} in the query")
        return node

    def _peek(self) -> str | None:
        if self._position >= len(self._tokens):
            return None
        kind, value, _ = self._tokens[self._position]
        return ")" if kind == "close" else value if kind == "word" else kind

    def _take(self) -> tuple[str, str, str]:
        token = self._tokens[self._position]
        self._position += 1
        return token

    def _or(self) -> Node:
        nodes = [self._and()]
        while self._peek() == "OR":
            self._take()
            nodes.append(self._and())
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))

    def _and(self) -> Node:
        nodes = [self._not()]
        while self._peek() not in (None, "OR", ")"):
            if self._peek() == "AND":
                self._take()
            nodes.append(self._not())
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def _not(self) -> Node:
        if self._peek() == "NOT":
            self._take()
            return Not(self._not())
        return self._primary()

    def _primary(self) -> Node:
        if self._peek() is None:
            raise EssieError("the query ends where a term was expected")
        kind, value, argument = self._take()
        if kind == "open":
            node = self._or()
            if self._peek() != ")":
                raise EssieError("a parenthesis is not closed")
            self._take()
            return node
        if kind == "phrase":
            return _text(value.split())
        if kind == "operator":
            return self._operator(value, argument)
        if kind == "word" and value not in _BOOLEANS:
            return _text([value])
        raise EssieError(f"unexpected {value or kind!r} in the query")

    def _operator(self, name: str, argument: str) -> Node:
        if name == "AREA":
            field = self._fields.resolve(argument)
            if field is None:
                raise EssieError(f"unknown search area or field AREA[{argument}]")
            return Area(field, self._primary())
        if name == "RANGE":
            low, comma, high = argument.partition(",")
            if not comma:
                raise EssieError(f"RANGE[{argument}] needs two bounds separated by a comma")
            return Range(_bound(low, "MIN"), _bound(high, "MAX"))
        raise EssieError(f"the fake API does not implement the Essie operator {name}[]")


def _bound(value: str, open_word: str) -> str | None:
    value = value.strip()
    return None if value.upper() == open_word else value


def parse_essie(expression: str, fields: FieldIndex) -> Node:
    """Parse ``expression`` into a tree; EssieError says what is wrong with it."""
    return _Parser(expression, fields).parse()


ValuesOf = Callable[[Field], list[Any]]


def evaluate(node: Node, values_of: ValuesOf, scope: tuple[Field, ...]) -> bool:
    """Whether a study (seen through ``values_of``) matches ``node``, searching ``scope`` by default."""
    if isinstance(node, Text):
        return any(node.pattern.search(str(value)) for field in scope for value in values_of(field))
    if isinstance(node, Range):
        if not scope or any(field.source_type not in {"DATE", "NUMERIC"} for field in scope):
            raise EssieError("RANGE[] needs an AREA[] naming a date or numeric field")
        return any(_in_range(value, node) for field in scope for value in values_of(field))
    if isinstance(node, Area):
        return evaluate(node.node, values_of, (node.field,))
    if isinstance(node, Not):
        return not evaluate(node.node, values_of, scope)
    if isinstance(node, And):
        return all(evaluate(child, values_of, scope) for child in node.nodes)
    return any(evaluate(child, values_of, scope) for child in node.nodes)


def _in_range(value: Any, bounds: Range) -> bool:
    return (bounds.low is None or _compare(value, bounds.low) >= 0) and (
        bounds.high is None or _compare(value, bounds.high) <= 0
    )


def _compare(value: Any, bound: str) -> int:
    """Numbers compare as numbers; dates (YYYY-MM-DD, or YYYY-MM) as the ISO strings they are."""
    try:
        left: Any = float(value)
        right: Any = float(bound)
    except (TypeError, ValueError):
        left, right = str(value), bound
    return int(left > right) - int(left < right)


def scope_of(names: Iterable[str], fields: FieldIndex) -> tuple[Field, ...]:
    """The fields a query parameter searches when no AREA[] is given."""
    return tuple(fields.require(name) for name in names)
