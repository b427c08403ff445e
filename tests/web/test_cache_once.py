"""The data cache computes a missing entry once, however many requests ask for it at the same time."""

from __future__ import annotations

import threading
import time

import pytest

from hemewatch.web.cache import DataCache


def test_concurrent_requests_for_a_missing_entry_compute_it_once() -> None:
    cache = DataCache()
    calls: list[int] = []
    started = threading.Barrier(8)
    results: list[int] = []

    def compute() -> int:
        calls.append(1)
        time.sleep(0.2)
        return 42

    def ask() -> None:
        started.wait()
        results.append(cache.get_or_compute("facets", (1, 2), compute))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 8
    assert len(calls) == 1
    # A new data stamp computes again.
    assert cache.get_or_compute("facets", (1, 3), lambda: 43) == 43


def test_a_failed_computation_lets_the_waiting_request_compute() -> None:
    cache = DataCache()
    entered = threading.Event()
    release = threading.Event()

    def failing() -> int:
        entered.set()
        release.wait()
        raise RuntimeError("database went away")

    errors: list[BaseException] = []

    def first() -> None:
        try:
            cache.get_or_compute("count", 1, failing)
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    entered.wait()
    waiter_result: list[int] = []
    waiter = threading.Thread(
        target=lambda: waiter_result.append(cache.get_or_compute("count", 1, lambda: 7))
    )
    waiter.start()
    time.sleep(0.05)
    assert not waiter_result  # waiting for the first computation
    release.set()
    thread.join()
    waiter.join()
    assert len(errors) == 1 and waiter_result == [7]
    assert cache.get_or_compute("count", 1, lambda: pytest.fail("computed again")) == 7


def test_a_kept_entry_outlives_the_lru_and_is_replaced_when_the_data_change() -> None:
    cache = DataCache(max_entries=3)
    built: list[tuple[int, ...]] = []

    def build(stamp: tuple[int, ...]) -> str:
        built.append(stamp)
        return f"index {stamp}"

    def index(stamp: tuple[int, ...]) -> str:
        return cache.get_or_compute("facet-index", stamp, lambda: build(stamp), keep=True)

    assert index((1,)) == "index (1,)"
    for number in range(10):  # far more entries than the LRU holds
        cache.get_or_compute(("list", number), (1,), lambda: "listed")
    assert index((1,)) == "index (1,)"
    assert built == [(1,)]
    assert cache.get_or_compute(("list", 0), (1,), lambda: "again") == "again"  # evicted, computed anew
    assert index((2,)) == "index (2,)"
    assert built == [(1,), (2,)]
