"""How long to wait before trying again: one retry policy for the registry client, the delivery queue
and the scheduler (it lives here, the lowest layer that all three may import)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# 2.0 ** 1024 overflows a float; every cap is reached long before.
_MAX_EXPONENT = 1000


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff, capped, with optional jitter; a server's Retry-After wins over the schedule.

    Retry n (0 for the first retry) waits `base * 2**n` seconds, at most `cap`. With jitter the
    wait is drawn between half that and all of it.
    """

    max_retries: int = 5
    base: float = 1.0
    cap: float = 60.0
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.base < 0 or self.cap < 0:
            raise ValueError(f"retry settings must not be negative: {self}")

    @property
    def max_attempts(self) -> int:
        """The first try plus every retry."""
        return self.max_retries + 1

    def ceiling(self, retry_number: int) -> float:
        """The wait before retry ``retry_number`` without jitter: `base` doubled each time, at most `cap`."""
        return float(min(self.cap, self.base * 2.0 ** min(max(retry_number, 0), _MAX_EXPONENT)))

    def delay(
        self, retry_number: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait before retry ``retry_number`` (0 for the first retry)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap)
        ceiling = self.ceiling(retry_number)
        if not self.jitter:
            return ceiling
        # "Equal jitter": never less than half the step, so a retry storm still backs off,
        # but spread out so several monitors behind one address do not retry in lockstep.
        return ceiling / 2 + (rng or random.Random()).uniform(0.0, ceiling / 2)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or HTTP-date), or None if unusable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are always GMT; parsedate returns a naive datetime for "-0000".
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)
