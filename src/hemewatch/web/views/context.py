"""What every view needs for one request: a connection, the data cache and the lexicon."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import cached_property
from typing import Any, TypeVar

from hemewatch.classification.lexicon import Lexicon
from hemewatch.storage.catalog import load_facet_index
from hemewatch.storage.database import Connection
from hemewatch.storage.facet_index import FacetIndex
from hemewatch.storage.runs import data_stamp
from hemewatch.web.cache import DataCache

T = TypeVar("T")


class ViewContext:
    """One request's read access to the mirror, with results cached until the data change."""

    def __init__(self, conn: Connection, cache: DataCache, lexicon: Lexicon) -> None:
        self.conn = conn
        self.cache = cache
        self.lexicon = lexicon

    @cached_property
    def stamp(self) -> tuple[Any, ...]:
        """The data stamp, read once per request."""
        return data_stamp(self.conn)

    def cached(self, key: Hashable, compute: Callable[[], T], *, keep: bool = False) -> T:
        """`compute()`, reused until the mirrored data change (`keep`: whatever else the cache holds)."""
        return self.cache.get_or_compute(key, self.stamp, compute, keep=keep)


def facet_index(ctx: ViewContext) -> FacetIndex:
    """Every trial's facet values, what searches count and filter with (kept until the data change)."""
    return ctx.cached(("facet-index",), lambda: load_facet_index(ctx.conn), keep=True)
