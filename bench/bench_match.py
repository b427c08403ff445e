"""Matching change events to trackers: the index against the tracker-by-tracker loop it replaces.

Run: python bench/bench_match.py [--trackers 100000] [--events 10000] [--seed 1]

The workload is synthetic but shaped like a busy instance: a mirror of 8,000 trials tagged with
the real lexicon vocabulary (diseases, modalities, targets, settings, populations) with skewed
frequencies (AML and B-ALL dominate, most trials recruit in the United States), and events on
2,500 of those trials (a large sync: the registry changes ~100 acute leukemia trials a day);
titles and sponsors are those of the real records in ../shared/data/ctgov.
Trackers mix what people follow: a handful of NCT ids (30 %), two or three tags with an optional
country, status or phase (45 %), one tag plus a phase or status (14 %), a disease alone (5 %),
a sponsor or a drug or target name in the title (5 %), everything (1 %); 40 % of them narrow
event types or severity.

Figures: index build and match time, pairs found, and the brute-force loop measured on a sample
of trackers and scaled. Target: index match under 10 s for 100,000 trackers and 10,000 events.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from hemewatch import vocabulary as vocab_module
from hemewatch.alerts.criteria import Criteria, TrialFacts, criteria_from_stored
from hemewatch.alerts.matching import TrackerIndex, match_events
from hemewatch.history import ChangeEvent, EventType, Severity
from hemewatch.storage.events import StoredEvent

COUNTRIES = [
    "United States", "China", "France", "Germany", "Italy", "Spain", "United Kingdom", "Japan",
    "Canada", "Australia", "Netherlands", "Belgium", "Israel", "Korea, Republic of", "Switzerland",
    "Austria", "Denmark", "Sweden", "Poland", "Brazil", "Egypt", "India", "Czechia", "Norway",
]  # fmt: skip
STATUSES = ["RECRUITING", "ACTIVE_NOT_RECRUITING", "COMPLETED", "NOT_YET_RECRUITING", "TERMINATED"]
PHASES = ["PHASE1", "PHASE2", "PHASE3", "EARLY_PHASE1", "PHASE4", "NA"]
AGENTS = [f"agent-{i}" for i in range(150)]
TERMS = [
    "CAR-T", "CAR T", "blinatumomab", "venetoclax", "inotuzumab", "gemtuzumab", "azacitidine",
    "decitabine", "ponatinib", "dasatinib", "imatinib", "midostaurin", "gilteritinib", "quizartinib",
    "ivosidenib", "enasidenib", "revumenib", "ziftomenib", "CPX-351", "magrolimab", "nivolumab",
    "pembrolizumab", "CD19", "CD22", "CD123", "CD33", "CD7", "MRD", "haploidentical", "vaccine",
]  # fmt: skip
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ctgov"
ALERT_TYPES = [t for t in EventType if t not in (EventType.RECORD_REFRESHED, EventType.OTHER_CHANGED)]
NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


def skewed(rnd: random.Random, values: list[str], k: int) -> list[str]:
    """k distinct values, the first ones far more often (Zipf-like)."""
    weights = [1 / (i + 1) ** 1.1 for i in range(len(values))]
    return list(dict.fromkeys(rnd.choices(values, weights=weights, k=k)))


def vocabulary() -> dict[str, list[str]]:
    lead = {"diseases": ["AML", "B-ALL", "ALL", "T-ALL", "Ph+ ALL", "MDS", "APL", "MPAL"]}
    out: dict[str, list[str]] = {}
    singular = {
        "diseases": "disease",
        "modalities": "modality",
        "targets": "target",
        "settings": "setting",
        "populations": "population",
    }
    for dimension, name in singular.items():
        canonical = list(vocab_module.values(name))
        first = [v for v in lead.get(dimension, []) if v in canonical]
        out[dimension] = first + [v for v in canonical if v not in first]
    out["agents"] = AGENTS
    return out


def real_titles_and_sponsors() -> list[tuple[str, str]]:
    """The brief titles and lead sponsors of the real records in the shared data."""
    found = []
    for name in ("studies.jsonl", "other_studies.jsonl"):
        for line in (SHARED / name).read_bytes().splitlines():
            protocol = orjson.loads(line)["protocolSection"]
            title = protocol["identificationModule"].get("briefTitle") or ""
            sponsor = protocol.get("sponsorCollaboratorsModule", {}).get("leadSponsor", {}).get("name") or ""
            found.append((title, sponsor))
    return found


def make_trials(
    rnd: random.Random, vocab: dict[str, list[str]], real: list[tuple[str, str]], count: int
) -> dict[str, TrialFacts]:
    trials = {}
    for i in range(count):
        nct_id = f"NCT{10_000_000 + i:08d}"
        tags = {
            "diseases": skewed(rnd, vocab["diseases"], rnd.randint(1, 2)),
            "modalities": skewed(rnd, vocab["modalities"], rnd.randint(1, 3)),
            "targets": skewed(rnd, vocab["targets"], rnd.randint(0, 2)),
            "settings": skewed(rnd, vocab["settings"], rnd.randint(0, 2)),
            "populations": skewed(rnd, vocab["populations"], rnd.randint(1, 2)),
            "agents": skewed(rnd, vocab["agents"], rnd.randint(1, 3)),
        }
        # Each target belongs to one of the trial's modalities, as a therapy pairs them.
        tags["pairs"] = [f"{t}|{rnd.choice(tags['modalities'])}".casefold() for t in tags["targets"]]
        title, sponsor = real[i % len(real)]
        trials[nct_id] = TrialFacts.build(
            nct_id=nct_id,
            title=title,
            sponsor=sponsor,
            in_scope=rnd.random() > 0.02,
            tags=tags,
            phases=skewed(rnd, PHASES, rnd.randint(1, 2)),
            status=skewed(rnd, STATUSES, 1)[0],
            countries=skewed(rnd, COUNTRIES, rnd.randint(1, 5)),
        )
    return trials


def make_events(rnd: random.Random, trials: list[str], count: int) -> list[StoredEvent]:
    changed = rnd.sample(trials, min(2500, len(trials)))
    events = []
    for i in range(count):
        severity = rnd.choices(
            [Severity.CRITICAL, Severity.NOTABLE, Severity.MINOR, Severity.ADMINISTRATIVE], [10, 35, 45, 10]
        )[0]
        event = ChangeEvent(
            nct_id=rnd.choice(changed),
            type=rnd.choice(ALERT_TYPES),
            severity=severity,
            path="protocolSection",
            before=None,
            after=None,
            summary="changed",
            old_version_id=None,
            new_version_id=None,
            registry_date=None,
            detected_at=NOW,
        )
        events.append(StoredEvent(i + 1, event, 1))
    return events


def tracker_criteria(
    rnd: random.Random, vocab: dict[str, list[str]], nct_ids: list[str], sponsors: list[str]
) -> dict[str, Any]:
    criteria: dict[str, Any] = {}
    kind = rnd.random()
    tag_dimensions = ["diseases", "modalities", "targets", "settings", "populations", "agents"]
    if kind < 0.30:
        criteria["nct_ids"] = rnd.sample(nct_ids, rnd.randint(1, 5))
    elif kind < 0.75:
        for dimension in rnd.sample(tag_dimensions, rnd.randint(2, 3)):
            criteria[dimension] = skewed(rnd, vocab[dimension], rnd.randint(1, 2))
        extra = rnd.random()
        if extra < 0.3:
            criteria["countries"] = skewed(rnd, COUNTRIES, rnd.randint(1, 2))
        elif extra < 0.5:
            criteria["statuses"] = ["RECRUITING"]
        elif extra < 0.6:
            criteria["phases"] = skewed(rnd, PHASES, 1)
    elif kind < 0.89:
        dimension = rnd.choice(tag_dimensions)
        criteria[dimension] = skewed(rnd, vocab[dimension], 1)
        if rnd.random() < 0.5:
            criteria["phases"] = skewed(rnd, PHASES, 1)
        else:
            criteria["statuses"] = skewed(rnd, STATUSES, 1)
    elif kind < 0.94:
        criteria["diseases"] = skewed(rnd, vocab["diseases"], 1)
    elif kind < 0.99:
        if rnd.random() < 0.5:
            criteria["sponsor"] = rnd.choice(sponsors).split(",")[0]
        else:
            criteria["text"] = rnd.choice(TERMS)
    if rnd.random() < 0.4:
        if rnd.random() < 0.5:
            criteria["event_types"] = [t.value for t in rnd.sample(ALERT_TYPES, rnd.randint(1, 4))]
        else:
            criteria["min_severity"] = rnd.choice(["critical", "notable"])
    return criteria


def make_trackers(
    rnd: random.Random, vocab: dict[str, list[str]], nct_ids: list[str], sponsors: list[str], count: int
) -> list[Criteria]:
    created = NOW - timedelta(days=30)
    return [
        criteria_from_stored(i + 1, created, tracker_criteria(rnd, vocab, nct_ids, sponsors))
        for i in range(count)
    ]


def brute_force(
    criteria: list[Criteria], trials: dict[str, TrialFacts], events: list[StoredEvent]
) -> list[tuple[int, int]]:
    return [
        (item.tracker_id, stored.id)
        for item in criteria
        for stored in events
        if item.matches(trials[stored.event.nct_id], stored.event)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trackers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=8_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    vocab = vocabulary()
    real = real_titles_and_sponsors()
    trials = make_trials(rnd, vocab, real, args.trials)
    nct_ids = list(trials)
    events = make_events(rnd, nct_ids, args.events)
    sponsors = sorted({sponsor for _, sponsor in real if sponsor})
    trackers = make_trackers(rnd, vocab, nct_ids, sponsors, args.trackers)
    changed = {e.event.nct_id for e in events}
    print(
        f"{len(trackers):,} trackers, {len(events):,} events on {len(changed):,} trials "
        f"(mirror of {len(trials):,}), one core"
    )

    start = time.perf_counter()
    TrackerIndex(trackers, (trials[n] for n in changed), since=NOW)
    build = time.perf_counter() - start
    start = time.perf_counter()
    found = match_events(trackers, trials, events)
    total = time.perf_counter() - start
    pairs = [(tracker, event) for event, ids in found.items() for tracker in ids]
    matched = len({tracker for tracker, _ in pairs})
    print(f"index build          {build:8.2f} s")
    print(f"match (incl. build)  {total:8.2f} s   {len(pairs):,} pairs, {matched:,} trackers with events")

    sample = trackers[: max(1, len(trackers) // 100)]
    start = time.perf_counter()
    expected = brute_force(sample, trials, events)
    loop = (time.perf_counter() - start) * len(trackers) / len(sample)
    got = sorted(p for p in pairs if p[0] <= sample[-1].tracker_id)
    assert got == sorted(expected), "the index and the reference loop disagree"
    print(f"tracker-by-tracker   {loop:8.2f} s   (scaled from {len(sample):,} trackers; same pairs)")
    print(f"speed-up             {loop / total:8.1f} x")


if __name__ == "__main__":
    main()
