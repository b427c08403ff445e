"""Rebuild the demo data bundled in the package from the real records in ../shared/data/ctgov.

Usage: python scripts/build_demo_data.py [SHARED_DATA_DIR]

- day1.jsonl.gz: every leukemia-area record of studies.jsonl as captured (registry data of
  2025-07-07), except two trials held back to appear as new on day 2.
- day2.jsonl.gz: the registry's next day, made from the same real records by the changes a
  sponsor or the registry really makes (documented in docs/demo.md): a status change, a
  termination with its reason, a new enrolling site, a new site, actual enrollment reported,
  a new arm, results posted, a completion date moved, two new trials, a churn-only refresh
  (re-ordered MeSH data) and an update of an out-of-scope trial.
"""

from __future__ import annotations

import copy
import gzip
import sys
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "hemewatch" / "demo"
DAY1_TIMESTAMP = "2025-07-07T09:00:00"
DAY2_TIMESTAMP = "2025-07-08T09:00:00"
DAY2_POSTED = "2025-07-08"
DAY2_HOLDER = "2025-07-08"
HELD_BACK = ("NCT06111625", "NCT07021677")  # blinatumomab bridge to HSCT; daratumumab for MRD


def _posted(study: dict[str, Any]) -> dict[str, Any]:
    """A sponsor update: new submit and post dates, new release stamp."""
    status = study["protocolSection"]["statusModule"]
    status["lastUpdateSubmitDate"] = "2025-07-07"
    status["lastUpdatePostDateStruct"] = {"date": DAY2_POSTED, "type": "ACTUAL"}
    study["derivedSection"]["miscInfoModule"]["versionHolder"] = DAY2_HOLDER
    return study


def _site_starts_recruiting(study: dict[str, Any]) -> None:
    sites = study["protocolSection"]["contactsLocationsModule"]["locations"]
    site = next(s for s in sites if s.get("status") == "NOT_YET_RECRUITING")
    site["status"] = "RECRUITING"


def _site_added(study: dict[str, Any], donor: dict[str, Any]) -> None:
    # A real facility of another acute leukemia trial joins this one.
    site = copy.deepcopy(donor["protocolSection"]["contactsLocationsModule"]["locations"][0])
    site["status"] = "RECRUITING"
    site.pop("contacts", None)
    study["protocolSection"]["contactsLocationsModule"]["locations"].append(site)


def _status(study: dict[str, Any], status: str, why: str | None = None) -> None:
    module = study["protocolSection"]["statusModule"]
    module["overallStatus"] = status
    if why:
        module["whyStopped"] = why


def _actual_enrollment(study: dict[str, Any], count: int) -> None:
    study["protocolSection"]["designModule"]["enrollmentInfo"] = {"count": count, "type": "ACTUAL"}


def _new_arm(study: dict[str, Any]) -> None:
    arms = study["protocolSection"]["armsInterventionsModule"]["armGroups"]
    arms.append(
        {
            "label": "Treatment Arm - Ponatinib Cohort - Participants Intolerant of Dasatinib",
            "type": "EXPERIMENTAL",
            "description": "Participants who cannot tolerate dasatinib receive ponatinib 45 mg daily with "
            "inotuzumab ozogamicin on the induction schedule.",
            "interventionNames": ["Drug: Inotuzumab ozogamicin", "Drug: Ponatinib"],
        }
    )


def _results_posted(study: dict[str, Any]) -> None:
    protocol = study["protocolSection"]
    primary = protocol["outcomesModule"]["primaryOutcomes"][0]
    arm = protocol["armsInterventionsModule"]["armGroups"][0]
    study["hasResults"] = True
    study["resultsSection"] = {
        "participantFlowModule": {
            "groups": [{"id": "FG000", "title": arm["label"], "description": arm.get("description", "")}],
            "periods": [
                {
                    "title": "Overall Study",
                    "milestones": [
                        {"type": "STARTED", "achievements": [{"groupId": "FG000", "numSubjects": "24"}]},
                        {"type": "COMPLETED", "achievements": [{"groupId": "FG000", "numSubjects": "19"}]},
                    ],
                }
            ],
        },
        "outcomeMeasuresModule": {
            "outcomeMeasures": [
                {
                    "type": "PRIMARY",
                    "title": primary["measure"],
                    "description": primary.get("description", ""),
                    "timeFrame": primary.get("timeFrame", ""),
                    "reportingStatus": "POSTED",
                    "paramType": "NUMBER",
                    "unitOfMeasure": "mg",
                    "groups": [{"id": "OG000", "title": arm["label"]}],
                    "classes": [{"categories": [{"measurements": [{"groupId": "OG000", "value": "400"}]}]}],
                }
            ]
        },
    }
    protocol["statusModule"]["resultsFirstSubmitDate"] = "2025-06-12"
    protocol["statusModule"]["resultsFirstPostDateStruct"] = {"date": DAY2_POSTED, "type": "ACTUAL"}


def _completion_moved(study: dict[str, Any]) -> None:
    study["protocolSection"]["statusModule"]["completionDateStruct"] = {
        "date": "2038-06",
        "type": "ESTIMATED",
    }


def _churn(study: dict[str, Any]) -> dict[str, Any]:
    """The registry re-derives MeSH data in another order; nothing the sponsor did."""
    browse = study["derivedSection"].get("conditionBrowseModule", {})
    for key in ("browseLeaves", "browseBranches", "meshes", "ancestors"):
        if isinstance(browse.get(key), list):
            browse[key] = list(reversed(browse[key]))
    study["derivedSection"]["miscInfoModule"]["versionHolder"] = DAY2_HOLDER
    return study


def build_days(studies: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Registry day 1 and the records that changed or appeared on day 2."""
    day1 = [s for nct, s in studies.items() if nct not in HELD_BACK]
    changed: list[dict[str, Any]] = []

    def change(nct: str, *edits: Any) -> None:
        study = copy.deepcopy(studies[nct])
        for edit in edits:
            edit(study)
        changed.append(_posted(study))

    change("NCT05886491", _site_starts_recruiting)
    change("NCT05918692", lambda s: _site_added(s, studies["NCT05886491"]))
    change("NCT04265963", lambda s: _status(s, "ACTIVE_NOT_RECRUITING"))
    change(
        "NCT05464836", lambda s: _status(s, "TERMINATED", "Sponsor decision: enrollment slower than planned")
    )
    change("NCT05993949", lambda s: _actual_enrollment(s, 18))
    change("NCT04747912", _new_arm)
    change("NCT03319901", _results_posted)
    change("NCT02650414", _completion_moved)
    change("NCT02560883", lambda s: _status(s, "COMPLETED"))  # hairy-cell registry: outside the scope
    # Re-saved by the sponsor with nothing changed, and MeSH data re-derived in another order.
    changed.append(_posted(_churn(copy.deepcopy(studies["NCT04835519"]))))
    # New to the registry's daily update: posted on day 2.
    changed.extend(_posted(copy.deepcopy(studies[nct])) for nct in HELD_BACK)
    return day1, changed


def _write(path: Path, studies: list[dict[str, Any]]) -> None:
    # mtime=0 keeps the archive byte-identical between rebuilds.
    with gzip.GzipFile(path, "wb", compresslevel=9, mtime=0) as out:
        for study in studies:
            out.write(orjson.dumps(study) + b"\n")
    print(f"wrote {len(studies)} studies to {path}")


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    lines = (shared / "ctgov" / "studies.jsonl").read_bytes().splitlines()
    studies = {}
    for line in lines:
        if line.strip():
            study = orjson.loads(line)
            studies[study["protocolSection"]["identificationModule"]["nctId"]] = study
    day1, day2 = build_days(studies)
    _write(TARGET / "day1.jsonl.gz", day1)
    _write(TARGET / "day2.jsonl.gz", day2)
    (TARGET / "days.json").write_bytes(
        orjson.dumps(
            {"day1.jsonl.gz": DAY1_TIMESTAMP, "day2.jsonl.gz": DAY2_TIMESTAMP}, option=orjson.OPT_INDENT_2
        )
    )


if __name__ == "__main__":
    main()
