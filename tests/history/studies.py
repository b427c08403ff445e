"""Real ClinicalTrials.gov records for the history tests, and edits that make a second version of one."""

from __future__ import annotations

import copy
import functools
import itertools
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from hemewatch.history import ChangeEvent, diff_versions
from tests.realdata import real_data

CTGOV = real_data() / "ctgov"
VERSIONS = CTGOV / "versions"
DETECTED_AT = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)

Study = dict[str, Any]


@functools.cache
def _corpus() -> tuple[str, ...]:
    lines: list[str] = []
    for name in ("studies.jsonl", "other_studies.jsonl"):
        lines += (CTGOV / name).read_text("utf-8").splitlines()
    return tuple(line for line in lines if line.strip())


def corpus_size() -> int:
    """How many real records studies.jsonl and other_studies.jsonl hold."""
    return len(_corpus())


def corpus_study(index: int) -> Study:
    """A fresh copy of the index-th real record (callers may edit it)."""
    study: Study = json.loads(_corpus()[index])
    return study


@functools.cache
def _index_by_nct() -> dict[str, int]:
    return {
        json.loads(line)["protocolSection"]["identificationModule"]["nctId"]: i
        for i, line in enumerate(_corpus())
    }


def study(nct_id: str) -> Study:
    """A fresh copy of a real record by NCT id."""
    return corpus_study(_index_by_nct()[nct_id])


def find_study(predicate: Any) -> Study:
    """The first real record for which predicate(record) is true."""
    for index in range(corpus_size()):
        record = corpus_study(index)
        if predicate(record):
            return record
    raise LookupError("no record in the corpus matches")


def version_file(name: str) -> Study:
    """A captured version from data/ctgov/versions (or its ctrdata_reboxed folder)."""
    loaded: Study = json.loads((VERSIONS / name).read_text("utf-8"))
    return loaded


def version_pairs() -> Iterator[tuple[str, str]]:
    """Consecutive captures of the same study, as (older file, newer file) relative to versions/."""
    for folder in (VERSIONS, VERSIONS / "ctrdata_reboxed"):
        files = sorted(folder.glob("NCT*.json"))
        for older, newer in itertools.pairwise(files):
            if older.name.split("__")[0] == newer.name.split("__")[0]:
                yield str(older.relative_to(VERSIONS)), str(newer.relative_to(VERSIONS))


def diff(old: Study, new: Study, *, administrative: bool = False) -> list[ChangeEvent]:
    """diff_versions with fixed version ids and detection time."""
    return diff_versions(
        old,
        new,
        old_version_id=1,
        new_version_id=2,
        detected_at=DETECTED_AT,
        include_administrative=administrative,
    )


def edited(record: Study) -> Study:
    """A deep copy to edit into the next version."""
    return copy.deepcopy(record)


def section(record: Study, module: str) -> dict[str, Any]:
    """A protocolSection module, created when absent."""
    found: dict[str, Any] = record["protocolSection"].setdefault(module, {})
    return found


def shuffled(value: Any, rnd: random.Random) -> Any:
    """The same record with every list shuffled and every object's keys in a new order."""
    if isinstance(value, dict):
        keys = list(value)
        rnd.shuffle(keys)
        return {key: shuffled(value[key], rnd) for key in keys}
    if isinstance(value, list):
        items = [shuffled(item, rnd) for item in value]
        rnd.shuffle(items)
        return items
    return value


def with_empty_arrays(record: Study) -> Study:
    """The same record with optional arrays present but empty, where the API would omit them."""
    out = edited(record)
    empty_when_absent = (
        ("identificationModule", "secondaryIdInfos"),
        ("conditionsModule", "keywords"),
        ("sponsorCollaboratorsModule", "collaborators"),
        ("armsInterventionsModule", "armGroups"),
        ("contactsLocationsModule", "overallOfficials"),
        ("referencesModule", "references"),
    )
    for module, key in empty_when_absent:
        section(out, module).setdefault(key, [])
    for intervention in section(out, "armsInterventionsModule").get("interventions") or []:
        intervention.setdefault("otherNames", [])
    for site in section(out, "contactsLocationsModule").get("locations") or []:
        site.setdefault("contacts", [])
    return out


def sites(record: Study) -> list[dict[str, Any]]:
    """The record's site list, created when absent."""
    found: list[dict[str, Any]] = section(record, "contactsLocationsModule").setdefault("locations", [])
    return found


def _set_status(record: Study, rnd: random.Random) -> None:
    section(record, "statusModule")["overallStatus"] = rnd.choice(
        ["SUSPENDED", "COMPLETED", "ACTIVE_NOT_RECRUITING"]
    )


def _add_site(record: Study, rnd: random.Random) -> None:
    sites(record).append(
        {"facility": f"Hôpital Saint-Louis {rnd.randint(1, 99)}", "status": "RECRUITING", "city": "Paris",
         "zip": "75010", "country": "France"}
    )  # fmt: skip


def _drop_site(record: Study, rnd: random.Random) -> None:
    listed = sites(record)
    if listed:
        listed.pop(rnd.randrange(len(listed)))


def _change_site_status(record: Study, rnd: random.Random) -> None:
    listed = sites(record)
    if listed:
        rnd.choice(listed)["status"] = rnd.choice(["RECRUITING", "WITHDRAWN", "COMPLETED"])


def _revise_enrollment(record: Study, rnd: random.Random) -> None:
    enrollment = section(record, "designModule").setdefault(
        "enrollmentInfo", {"count": 40, "type": "ESTIMATED"}
    )
    enrollment["count"] = int(enrollment.get("count") or 0) + rnd.randint(1, 200)


def _move_completion(record: Study, rnd: random.Random) -> None:
    year = rnd.randint(2026, 2035)
    section(record, "statusModule")["completionDateStruct"] = {
        "date": f"{year}-0{rnd.randint(1, 9)}",
        "type": "ESTIMATED",
    }


def _add_arm(record: Study, rnd: random.Random) -> None:
    arms = section(record, "armsInterventionsModule").setdefault("armGroups", [])
    arms.append({"label": f"Cohort {rnd.randint(1, 9)}: blinatumomab", "type": "EXPERIMENTAL"})


def _edit_eligibility(record: Study, rnd: random.Random) -> None:
    eligibility = section(record, "eligibilityModule")
    criterion = rnd.choice(["* CD19-positive disease", "* No prior CAR-T therapy", "* Ph-positive ALL"])
    eligibility["eligibilityCriteria"] = f"{eligibility.get('eligibilityCriteria', '')}\n{criterion}"


def _add_keyword(record: Study, rnd: random.Random) -> None:
    section(record, "conditionsModule").setdefault("keywords", []).append(
        rnd.choice(["MRD", "KMT2A", "FLT3"])
    )


def _change_phase(record: Study, rnd: random.Random) -> None:
    section(record, "designModule")["phases"] = rnd.choice(
        [["PHASE2", "PHASE3"], ["PHASE1"], ["EARLY_PHASE1"]]
    )


def _rename_sponsor(record: Study, rnd: random.Random) -> None:
    section(record, "sponsorCollaboratorsModule")["leadSponsor"] = {"name": "Amgen", "class": "INDUSTRY"}


def _retitle(record: Study, rnd: random.Random) -> None:
    section(record, "identificationModule")["briefTitle"] = (
        f"Blinatumomab in MRD-positive B-ALL ({rnd.randint(1, 9)})"
    )


MUTATIONS = (
    _set_status, _add_site, _drop_site, _change_site_status, _revise_enrollment, _move_completion,
    _add_arm, _edit_eligibility, _add_keyword, _change_phase, _rename_sponsor, _retitle,
)  # fmt: skip
