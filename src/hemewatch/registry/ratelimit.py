"""Client-side throttle for ClinicalTrials.gov requests."""

from __future__ import annotations

from collections.abc import Callable


class RateLimiter:
    """Spaces calls at least ``60 / requests_per_minute`` seconds apart; 0 turns it off."""

    def __init__(
        self,
        requests_per_minute: float,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        if requests_per_minute < 0:
            raise ValueError(f"requests_per_minute must be 0 (off) or positive, not {requests_per_minute}")
        # An even interval rather than a bursty bucket: the registry publishes no limit, and the
        # ~50/minute reported by others is safest read as "never more than one every 1.2 s".
        self._interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next_slot: float | None = None

    @property
    def interval(self) -> float:
        """Seconds kept between two calls (0 when throttling is off)."""
        return self._interval

    def wait(self) -> None:
        """Block until the next call is allowed, then reserve the slot after it."""
        if not self._interval:
            return
        now = self._clock()
        if self._next_slot is not None and now < self._next_slot:
            self._sleep(self._next_slot - now)
            # Re-read the clock: an overslept call must still be followed by a full interval.
            now = max(self._clock(), self._next_slot)
        self._next_slot = now + self._interval
