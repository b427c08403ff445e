"""Tracker validation: canonical spellings, and one message naming every problem."""

from __future__ import annotations

import pytest

from hemewatch.alerts import InvalidTracker, TrackerSpec
from hemewatch.alerts.spec import validate_spec


def test_values_are_trimmed_and_spelled_as_in_the_lexicon() -> None:
    spec = validate_spec(
        TrackerSpec(
            name="  AML   CAR-T ",
            email=" reader@example.org ",
            diseases=("aml", "AML", "b-all"),
            targets=("cd123",),
            populations=("Pediatric",),
            phases=("2", "phase 1", "EARLY_PHASE1"),
            statuses=("active, not recruiting", "recruiting"),
            nct_ids=(" nct04530565 ",),
            event_types=("STATUS_CHANGED", "results_posted"),
            countries=("France", "france"),
        )
    )
    assert spec.name == "AML CAR-T" and spec.email == "reader@example.org"
    assert spec.diseases == ("AML", "B-ALL")
    assert spec.targets == ("CD123",)
    assert spec.populations == ("pediatric",)
    assert spec.phases == ("PHASE2", "PHASE1", "EARLY_PHASE1")
    assert spec.statuses == ("ACTIVE_NOT_RECRUITING", "RECRUITING")
    assert spec.nct_ids == ("NCT04530565",)
    assert spec.event_types == ("status_changed", "results_posted")
    assert spec.countries == ("France",)
    assert spec.has_filters


def test_no_filters_follows_everything_daily() -> None:
    spec = validate_spec(TrackerSpec(name="All", email="a@example.org"))
    assert not spec.has_filters
    assert spec.cadence == "daily" and spec.min_severity == "minor" and spec.event_types == ()
    query = spec.to_trial_query()
    assert query.disease == () and query.in_scope_only


def test_every_problem_is_named_in_one_message() -> None:
    with pytest.raises(InvalidTracker) as caught:
        validate_spec(
            TrackerSpec(
                name="",
                email="not an address",
                diseases=("AMLL",),
                phases=("PHASE9",),
                nct_ids=("NCT123",),
                event_types=("status_change",),
                min_severity="urgent",
                cadence="hourly",
                webhook_url="ftp://example.org/hook",
                apprise_urls=("nosuchservice://token",),
            )
        )
    message = caught.value.message
    for expected in (
        "name must be 1 to 120",
        "'not an address' is not an e-mail address",
        "unknown disease 'AMLL' (did you mean",
        "unknown phase 'PHASE9'",
        "'NCT123' is not an NCT id",
        "unknown event type 'status_change'",
        "minimum severity 'urgent'",
        "cadence 'hourly'",
        "webhook 'ftp://example.org/hook' is not an http:// or https:// URL",
        "Apprise URL 'nosuchservice://token' is not recognised",
    ):
        assert expected in message
    assert caught.value.exit_code == 2


def test_agents_are_read_by_any_name_and_countries_are_free_text() -> None:
    spec = validate_spec(
        TrackerSpec(
            name="n",
            email="a@example.org",
            agents=("Blincyto", "AMG 103", "venetoclax"),
            countries=("Narnia",),
        )
    )
    assert spec.agents == ("blinatumomab", "venetoclax") and spec.countries == ("Narnia",)
    with pytest.raises(InvalidTracker, match=r"unknown agent 'a new drug'.*hemewatch values agent"):
        validate_spec(TrackerSpec(name="n", email="a@example.org", agents=("a new drug",)))


def test_header_injection_is_refused() -> None:
    with pytest.raises(InvalidTracker):
        validate_spec(TrackerSpec(name="x\r\nBcc: victim@example.org", email="a@example.org"))
    with pytest.raises(InvalidTracker):
        validate_spec(TrackerSpec(name="x", email="a@example.org,victim@example.org"))
