"""One retry policy: exponential, capped, jitter optional; the delivery queue and the scheduler use it too."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from hemewatch.alerts.queue import backoff_delay
from hemewatch.registry.backoff import RetryPolicy


def test_without_jitter_the_wait_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(base=30.0, cap=200.0, jitter=False)
    assert [policy.delay(n) for n in range(5)] == [30.0, 60.0, 120.0, 200.0, 200.0]
    assert policy.delay(-3) == 30.0
    assert policy.delay(10**6) == 200.0  # no overflow however many failures
    assert policy.delay(2, 7.0) == 7.0  # a server's Retry-After still wins
    assert policy.delay(2, 999.0) == 200.0


def test_with_jitter_the_wait_lies_between_half_and_all_of_the_step() -> None:
    policy = RetryPolicy(base=4.0, cap=100.0)
    rng = random.Random(3)
    waits = [policy.delay(3, None, rng) for _ in range(200)]
    assert all(16.0 <= wait <= 32.0 for wait in waits)
    assert len(set(waits)) > 100  # spread out, not one fixed value
    assert 16.0 <= policy.delay(3) <= 32.0  # a generator of its own when none is given


def test_negative_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(base=-1.0)


def test_the_delivery_queue_backs_off_by_the_policy() -> None:
    day = RetryPolicy(base=90.0, cap=86400.0, jitter=False)
    for attempt in range(1, 15):
        assert backoff_delay(attempt, first=90.0) == timedelta(seconds=day.delay(attempt - 1))
    assert backoff_delay(14, first=90.0) == timedelta(days=1)
