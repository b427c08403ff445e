"""An eligibility amendment says which eligibility facts it added and removed."""

from __future__ import annotations

from hemewatch.history import EventType
from hemewatch.history.protocol import FACTS_FIELD

from .studies import diff, edited, section, study

BASE = "NCT05326516"
ECOG_LINE = "* Eastern Cooperative Oncology Group performance status score 0-2 (if aged ≥18 years);"


def test_a_new_exclusion_and_a_dropped_limit_are_named() -> None:
    old = study(BASE)
    new = edited(old)
    eligibility = section(new, "eligibilityModule")
    criteria = eligibility["eligibilityCriteria"]
    assert ECOG_LINE in criteria
    eligibility["eligibilityCriteria"] = (
        criteria.replace(ECOG_LINE, "*") + "\n* Prior CD19-directed CAR T-cell therapy"
    )
    (event,) = [event for event in diff(old, new) if event.type is EventType.PROTOCOL_AMENDED]
    assert event.summary.endswith("Now excludes prior CD19 CAR-T; no longer requires ECOG at most 2")
    assert isinstance(event.before, list) and isinstance(event.after, list)
    removed, added = event.before[-1], event.after[-1]
    assert isinstance(removed, dict) and isinstance(added, dict)
    assert removed["field"] == added["field"] == FACTS_FIELD
    assert isinstance(removed["value"], list) and isinstance(added["value"], list)
    assert [(f["kind"], f["value"], f["high"]) for f in removed["value"]] == [("performance", "ECOG", 2.0)]
    assert [(f["kind"], f["value"], f["polarity"]) for f in added["value"]] == [
        ("prior_therapy", "CD19 CAR-T", "excluded")
    ]
    assert added["value"][0]["evidence"] == "Prior CD19-directed CAR T-cell therapy"


def test_a_reworded_criterion_with_the_same_facts_names_none() -> None:
    old = study(BASE)
    new = edited(old)
    eligibility = section(new, "eligibilityModule")
    eligibility["eligibilityCriteria"] = eligibility["eligibilityCriteria"].replace(
        "* Adequate liver, kidney, and cardiac function", "* Adequate hepatic and renal function"
    )
    (event,) = [event for event in diff(old, new) if event.type is EventType.PROTOCOL_AMENDED]
    assert "Now " not in event.summary and "No longer" not in event.summary
    assert isinstance(event.before, list)
    assert all(isinstance(item, dict) and item.get("field") != FACTS_FIELD for item in event.before)
