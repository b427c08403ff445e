"""Throughput of diff_versions on realistic version pairs built from the real records.

Run: python bench/bench_diff.py [--rounds N]

Pairs, for each of the 1,446 records of data/ctgov/studies.jsonl + other_studies.jsonl:
  * update  - the record against a copy edited as a sponsor update would edit it (new update and
              verification dates, plus one or two real changes: status, a site, enrollment, a date,
              eligibility, an arm), so every differ gets exercised;
  * refresh - the record against a registry refresh (new versionHolder, MeSH lists re-ordered);
  * same    - the record against an identical copy (a version diffed with itself).
Also the 26 real capture pairs of data/ctgov/versions. One process, one core; figures are printed.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import random
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hemewatch.history import diff_versions

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ctgov"
Study = dict[str, Any]
Pair = tuple[Study, Study]


def load_records() -> list[Study]:
    records = []
    for name in ("studies.jsonl", "other_studies.jsonl"):
        with (DATA / name).open(encoding="utf-8") as lines:
            records += [json.loads(line) for line in lines if line.strip()]
    return records


def sponsor_update(record: Study, rnd: random.Random) -> Study:
    new = copy.deepcopy(record)
    protocol = new["protocolSection"]
    status = protocol["statusModule"]
    status["lastUpdatePostDateStruct"] = {"date": "2026-11-20", "type": "ACTUAL"}
    status["lastUpdateSubmitDate"] = "2026-11-18"
    status["statusVerifiedDate"] = "2026-11"
    for edit in rnd.sample(EDITS, rnd.randint(1, 2)):
        edit(protocol, rnd)
    return new


def _status(protocol: Study, rnd: random.Random) -> None:
    protocol["statusModule"]["overallStatus"] = rnd.choice(
        ["ACTIVE_NOT_RECRUITING", "SUSPENDED", "COMPLETED"]
    )


def _site(protocol: Study, rnd: random.Random) -> None:
    sites = protocol.setdefault("contactsLocationsModule", {}).setdefault("locations", [])
    if sites and rnd.random() < 0.6:
        rnd.choice(sites)["status"] = "RECRUITING"
    else:
        sites.append(
            {"facility": "Hôpital Saint-Louis", "status": "RECRUITING", "city": "Paris", "country": "France"}
        )


def _enrollment(protocol: Study, rnd: random.Random) -> None:
    info = protocol["designModule"].setdefault("enrollmentInfo", {"count": 40, "type": "ESTIMATED"})
    info.update(
        count=int(info.get("count") or 0) + rnd.randint(1, 50), type=rnd.choice(["ESTIMATED", "ACTUAL"])
    )


def _date(protocol: Study, rnd: random.Random) -> None:
    protocol["statusModule"]["primaryCompletionDateStruct"] = {
        "date": f"20{rnd.randint(27, 33)}-06",
        "type": "ESTIMATED",
    }


def _eligibility(protocol: Study, rnd: random.Random) -> None:
    eligibility = protocol["eligibilityModule"]
    eligibility["eligibilityCriteria"] = (
        eligibility.get("eligibilityCriteria", "") + "\n* No prior CD19-directed therapy"
    )


def _arm(protocol: Study, rnd: random.Random) -> None:
    arms = protocol.setdefault("armsInterventionsModule", {}).setdefault("armGroups", [])
    arms.append({"label": "Cohort C: blinatumomab consolidation", "type": "EXPERIMENTAL"})


EDITS = (_status, _site, _enrollment, _date, _eligibility, _arm)


def registry_refresh(record: Study, rnd: random.Random) -> Study:
    new = copy.deepcopy(record)
    derived = new.setdefault("derivedSection", {})
    derived.setdefault("miscInfoModule", {})["versionHolder"] = "2026-11-20"
    for browse in ("conditionBrowseModule", "interventionBrowseModule"):
        for values in derived.get(browse, {}).values():
            if isinstance(values, list):
                rnd.shuffle(values)
    return new


def real_pairs() -> list[Pair]:
    pairs = []
    for folder in (DATA / "versions", DATA / "versions" / "ctrdata_reboxed"):
        files = sorted(folder.glob("NCT*.json"))
        for older, newer in itertools.pairwise(files):
            if older.name.split("__")[0] == newer.name.split("__")[0]:
                pairs.append((json.loads(older.read_text("utf-8")), json.loads(newer.read_text("utf-8"))))
    return pairs


def measure(pairs: list[Pair], rounds: int, administrative: bool) -> tuple[float, int]:
    """Best-of-rounds pairs per second, and the number of events of one pass."""
    detected_at = datetime(2026, 11, 20, tzinfo=UTC)
    rates, events = [], 0
    for _ in range(rounds):
        events = 0
        start = time.perf_counter()
        for old, new in pairs:
            events += len(
                diff_versions(
                    old, new, old_version_id=1, new_version_id=2, detected_at=detected_at,
                    include_administrative=administrative,
                )
            )  # fmt: skip
        rates.append(len(pairs) / (time.perf_counter() - start))
    return max(rates), events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed passes per set (best is reported)")
    rounds = parser.parse_args().rounds
    rnd = random.Random(20261120)
    records = load_records()
    sets = {
        "update": [(record, sponsor_update(record, rnd)) for record in records],
        "refresh": [(record, registry_refresh(record, rnd)) for record in records],
        "same": [(record, copy.deepcopy(record)) for record in records],
        "real captures": real_pairs(),
    }
    sets["all of the above"] = [pair for pairs in sets.values() for pair in pairs]
    sizes = [len(json.dumps(record)) for record in records]
    median, largest = statistics.median(sizes) / 1024, max(sizes) / 1024
    print(f"{len(records)} records, median {median:.1f} KB, largest {largest:.0f} KB, one core")
    print(f"{'pairs':<18}{'count':>7}{'pairs/s':>11}{'events':>9}{'pairs/s (+admin)':>19}{'events':>9}")
    for name, pairs in sets.items():
        rate, events = measure(pairs, rounds, administrative=False)
        rate_admin, events_admin = measure(pairs, rounds, administrative=True)
        print(f"{name:<18}{len(pairs):>7}{rate:>11,.0f}{events:>9}{rate_admin:>19,.0f}{events_admin:>9}")


if __name__ == "__main__":
    main()
