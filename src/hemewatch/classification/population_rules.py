"""Age populations: pediatric, adolescent and young adult (AYA), adult and older adult."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from hemewatch.classification.mentions import Mention
from hemewatch.classification.model import Evidence
from hemewatch.classification.record import DEFINING_ROLES, StudyFacts

Found = dict[str, list[Evidence]]

_ELIGIBILITY: Final = "protocolSection.eligibilityModule"
_TEXT_ROLES: Final = DEFINING_ROLES | {"summary"}
# An upper age limit past childhood but within this range marks a study open to adolescents and
# young adults and built around them.
_AYA_UPPER: Final = (18.0, 40.0)
_ADULT_AGE: Final = 18.0
_OLDER_AGE: Final = 60.0


def classify_populations(facts: StudyFacts, mentions: Sequence[Mention]) -> Found:
    """Return the age populations a study enrols, from its age limits and its own words."""
    found: Found = {}
    low, high = facts.minimum_age, facts.maximum_age
    low_evidence = Evidence(f"{_ELIGIBILITY}.minimumAge", facts.minimum_age_text)
    high_evidence = Evidence(f"{_ELIGIBILITY}.maximumAge", facts.maximum_age_text)
    std_evidence = Evidence(f"{_ELIGIBILITY}.stdAges", ", ".join(facts.std_ages))
    if "CHILD" in facts.std_ages or (high is not None and high < _ADULT_AGE):
        found["pediatric"] = [high_evidence if high is not None and high < _ADULT_AGE else std_evidence]
    if high is not None and _AYA_UPPER[0] < high <= _AYA_UPPER[1] and (low is None or low < 30):
        found["AYA"] = [high_evidence]
    if (
        "ADULT" in facts.std_ages
        or "OLDER_ADULT" in facts.std_ages
        or (low is not None and low >= _ADULT_AGE)
    ):
        found["adult"] = [std_evidence if facts.std_ages else low_evidence]
    if low is not None and low >= _OLDER_AGE:
        found["older adult"] = [low_evidence]
    for mention in mentions:
        if mention.kind == "population" and mention.segment.role in _TEXT_ROLES:
            bucket = found.setdefault(mention.entry, [])
            if mention.evidence not in bucket:
                bucket.append(mention.evidence)
    return found


def pediatric_evidence(facts: StudyFacts, mentions: Sequence[Mention]) -> Evidence | None:
    """Evidence that a study is about children: an upper age limit under 18, or a title, condition or
    keyword naming children ("childhood leukemia", "in pediatric patients")."""
    if facts.maximum_age is not None and facts.maximum_age < _ADULT_AGE:
        return Evidence(f"{_ELIGIBILITY}.maximumAge", facts.maximum_age_text)
    for mention in mentions:
        if (
            mention.kind == "population"
            and mention.entry == "pediatric"
            and mention.segment.role in DEFINING_ROLES
        ):
            return mention.evidence
    return None
