"""Results that depend only on the mirrored data, kept until the data change.

Disease pages, facets and charts aggregate thousands of trials but the mirror changes a few
times a day; each entry remembers the data stamp it was computed at and is recomputed when
the stamp moves.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class DataCache:
    """A small LRU of (key -> value computed at a data stamp); thread-safe.

    A missing entry is computed once: requests asking for it meanwhile wait for that result instead
    of computing it again (the web threads share one interpreter, so a second computation of the
    same facets would only slow every request down).
    """

    def __init__(self, max_entries: int = 512) -> None:
        self._entries: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()
        self._kept: dict[Hashable, tuple[Hashable, Any]] = {}  # never evicted, replaced when the data change
        self._lock = threading.Lock()
        self._computing: dict[tuple[Hashable, Hashable], threading.Event] = {}
        self._max = max_entries

    def get_or_compute(
        self, key: Hashable, stamp: Hashable, compute: Callable[[], T], *, keep: bool = False
    ) -> T:
        """The cached value when it was computed at this stamp, else compute and keep it.

        `keep`: never evicted by the LRU (what every request of a kind starts from, dear to rebuild).
        """
        while True:
            with self._lock:
                entry = self._kept.get(key) if keep else self._entries.get(key)
                if entry is not None and entry[0] == stamp:
                    if not keep:
                        self._entries.move_to_end(key)
                    return entry[1]  # type: ignore[no-any-return]
                running = self._computing.get((key, stamp))
                if running is None:
                    done = self._computing[(key, stamp)] = threading.Event()
                    break
            # Another request computes it: wait, then read it (or compute it if that one failed).
            running.wait()
        try:
            value = compute()
            with self._lock:
                if keep:
                    self._kept[key] = (stamp, value)
                else:
                    self._entries[key] = (stamp, value)
                    self._entries.move_to_end(key)
                    while len(self._entries) > self._max:
                        self._entries.popitem(last=False)
        finally:
            with self._lock:
                del self._computing[(key, stamp)]
            done.set()
        return value

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._kept.clear()
