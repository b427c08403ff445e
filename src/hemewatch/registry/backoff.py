"""How long to wait before retrying a ClinicalTrials.gov request."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, capped; a server's Retry-After wins over the schedule."""

    max_retries: int = 5
    base: float = 1.0
    cap: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.base < 0 or self.cap < 0:
            raise ValueError(f"retry settings must not be negative: {self}")

    @property
    def max_attempts(self) -> int:
        """The first try plus every retry."""
        return self.max_retries + 1

    def delay(self, retry_number: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry ``retry_number`` (0 for the first retry)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap)
        ceiling = min(self.cap, self.base * 2.0**retry_number)
        # "Equal jitter": never less than half the step, so a retry storm still backs off,
        # but spread out so several monitors behind one address do not retry in lockstep.
        return ceiling / 2 + rng.uniform(0.0, ceiling / 2)


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
