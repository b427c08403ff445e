"""Delivery periods: one per event, per UTC day, per ISO week (due when the week is over)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hemewatch.alerts.periods import describe_period, idempotency_key, period_for

NOW = datetime(2026, 11, 21, 6, 30, tzinfo=UTC)  # a Saturday


def test_immediate_is_one_period_per_event_due_now() -> None:
    period = period_for("immediate", event_id=42, detected_at=NOW, now=NOW)
    assert (period.key, period.due_at) == ("event-42", NOW)


def test_daily_is_the_utc_day_of_detection() -> None:
    paris_evening = datetime(2026, 11, 21, 0, 30, tzinfo=timezone(timedelta(hours=2)))  # 20 Nov in UTC
    assert period_for("daily", event_id=1, detected_at=paris_evening, now=NOW).key == "2026-11-20"
    assert period_for("daily", event_id=1, detected_at=NOW, now=NOW).due_at == NOW


def test_weekly_is_the_iso_week_due_on_the_next_monday() -> None:
    period = period_for("weekly", event_id=1, detected_at=NOW, now=NOW)
    assert period.key == "2026-W47"
    assert period.due_at == datetime(2026, 11, 23, tzinfo=UTC)
    sunday = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)
    assert period_for("weekly", event_id=1, detected_at=sunday, now=sunday).key == "2026-W47"
    new_year = datetime(2027, 1, 1, tzinfo=UTC)  # ISO week 53 of 2026
    assert period_for("weekly", event_id=1, detected_at=new_year, now=new_year).key == "2026-W53"


def test_a_late_weekly_event_is_due_at_once() -> None:
    late = NOW + timedelta(days=10)
    assert period_for("weekly", event_id=1, detected_at=NOW, now=late).due_at == late


def test_keys_and_words() -> None:
    assert idempotency_key("abc", "2026-11-21", 1) == "hw-abc-2026-11-21"
    assert idempotency_key("abc", "2026-11-21", 2) == "hw-abc-2026-11-21-2"
    assert describe_period("daily", "2026-11-21") == "21 November 2026"
    assert describe_period("weekly", "2026-W07") == "week 7 of 2026"
