"""Soak: many registry days with churn, kill -9s, short lists and thousands of trackers.

Run: python bench/soak.py [--days 12] [--studies 600] [--trackers 2000] [--kill-rate 0.4]
                          [--fault-rate 0.15] [--database sqlite|postgresql] [--seed 1] [--keep]

A local fake ClinicalTrials.gov API (tests/fakeapi) serves a set of real acute leukemia records
(those of ../shared/data/ctgov, replicated with fresh NCT ids; synthetic copies of one record when
the shared data is absent). Day 0 is the baseline full sync, always killed with SIGKILL once
(when --kill-rate > 0) and rerun. Each later day mutates a random subset of the studies,
deterministically from the seed (overall status, a site added or its recruitment status changed,
enrollment, a date moved, a new study entering the scope, now and then a record no longer
served), bumps their lastUpdatePostDate to the day, serves the set as a new data release (a new
dataTimestamp and versionHolder) and runs `hemewatch sync` as a real subprocess. On kill days the
first attempt is killed with SIGKILL once it has stored at least one page (the database is polled,
with a deadline); on fault days an attempt gets a page without nextPageToken on every read of its
query, so it must fail loudly (exit 1) and the next attempt heals. Attempts are rerun until one
completes.

The same days are replayed on a second database with no kills and no faults (the reference),
interleaved day by day so that both detect on the same UTC day. The invariants are printed
(OK / VIOLATED with counts) and the script exits 1 if any is violated; timings are only printed.

The defaults (12 days, 600 studies, 2,000 trackers) take about 2 minutes on a 2-core machine
(SQLite ~100 s, PostgreSQL ~110 s). Pages are 25 studies; an attempt that is killed or given a
short list uses pages of a third of the day's read, so that the list always spans several pages.
Nothing is sent (no `alerts send`), so notifications are never sealed and each tracker has one
notification per period. Daily periods are the real UTC day of detection: a soak that runs
across midnight UTC may report delivery differences that are only the date.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "ctgov"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the fake registry lives in tests/fakeapi

from hemewatch import vocabulary  # noqa: E402
from hemewatch.alerts import TrackerSpec, create_tracker  # noqa: E402
from hemewatch.registry.scope import load_scope  # noqa: E402
from hemewatch.storage.engine import open_database  # noqa: E402
from hemewatch.storage.tables import (  # noqa: E402
    change_events,
    deliveries,
    study_versions,
    sync_runs,
    tracker_events,
    tracker_notifications,
    trackers,
)
from tests.fakeapi.faults import Fault, FaultKind  # noqa: E402
from tests.fakeapi.sample import make_studies  # noqa: E402
from tests.fakeapi.server import FakeRegistryServer  # noqa: E402

FIRST_DAY = date(2026, 11, 20)
FIRST_ID = 97_000_000  # fresh NCT ids, far from real ones
PAGE_SIZE = 25
PG_ADMIN_URL = os.environ.get("HEMEWATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
STATUSES = [
    "RECRUITING",
    "ACTIVE_NOT_RECRUITING",
    "COMPLETED",
    "NOT_YET_RECRUITING",
    "SUSPENDED",
    "TERMINATED",
]
SITE_STATUSES = ["RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING", "COMPLETED", "WITHDRAWN"]
NEW_SITES = [
    ("Hopital Saint-Louis", "Paris", "France"), ("Charite", "Berlin", "Germany"),
    ("Fred Hutchinson Cancer Center", "Seattle", "United States"), ("Peking University", "Beijing", "China"),
    ("Royal Marsden", "London", "United Kingdom"), ("Princess Maxima Center", "Utrecht", "Netherlands"),
    ("Hospital La Fe", "Valencia", "Spain"), ("Tokyo Medical Center", "Tokyo", "Japan"),
]  # fmt: skip
MUTATIONS = ["status", "site_added", "site_status", "enrollment", "date"]
CADENCES = ["daily"] * 6 + ["immediate"] * 2 + ["weekly"] * 2


# ---------------------------------------------------------------------------------------------
# The registry's days


def nct(number: int) -> str:
    return f"NCT{number:08d}"


def protocol(study: dict[str, Any]) -> dict[str, Any]:
    return study["protocolSection"]  # type: ignore[no-any-return]


def load_templates() -> list[bytes]:
    """Real records in the default watch scope, as JSON; synthetic copies when the data is absent."""
    scope = load_scope()
    found: list[bytes] = []
    for name in ("studies.jsonl", "other_studies.jsonl"):
        path = SHARED / name
        if not path.exists():
            continue
        for line in path.read_bytes().splitlines():
            if line.strip() and scope.matches(orjson.loads(line)):
                found.append(line)
    return found or [orjson.dumps(s) for s in make_studies(50)]


def instantiate(template: bytes, number: int, rnd: random.Random) -> dict[str, Any]:
    study = orjson.loads(template)
    ident = protocol(study)["identificationModule"]
    ident["nctId"] = nct(number)
    ident["briefTitle"] = f"{ident.get('briefTitle', 'Study')} (soak {number})"
    last = FIRST_DAY - timedelta(days=rnd.randint(30, 900))
    protocol(study)["statusModule"]["lastUpdatePostDateStruct"] = {"date": last.isoformat(), "type": "ACTUAL"}
    return study


def data_date(day: int) -> date:
    return FIRST_DAY + timedelta(days=day)


def mutate(study: dict[str, Any], kind: str, rnd: random.Random, day: int) -> None:
    """Change one thing in ``study`` (always a real change)."""
    proto = protocol(study)
    status = proto["statusModule"]
    if kind == "status":
        status["overallStatus"] = rnd.choice([s for s in STATUSES if s != status.get("overallStatus")])
    elif kind in ("site_added", "site_status"):
        locations = proto.setdefault("contactsLocationsModule", {}).setdefault("locations", [])
        if kind == "site_status" and locations:
            site = rnd.choice(locations)
            site["status"] = rnd.choice([s for s in SITE_STATUSES if s != site.get("status")])
        else:
            facility, city, country = rnd.choice(NEW_SITES)
            locations.append(
                {
                    "facility": f"{facility} (day {day}, {len(locations)})",
                    "status": "RECRUITING",
                    "city": city,
                    "country": country,
                }
            )
    elif kind == "enrollment":
        info = proto.setdefault("designModule", {}).setdefault("enrollmentInfo", {"type": "ESTIMATED"})
        info["count"] = int(info.get("count") or 20) + rnd.choice([-5, 5, 10, 25, 60])
        info["count"] = max(info["count"], 1)
    elif kind == "date":
        struct = status.setdefault("primaryCompletionDateStruct", {"date": "2028-01", "type": "ESTIMATED"})
        when = str(struct.get("date") or "2028-01")
        year, month = int(when[:4]), int(when[5:7]) if len(when) >= 7 else 1
        month += rnd.choice([3, 6, 12])
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        struct["date"] = f"{year:04d}-{month:02d}"


class Registry:
    """The registry's state from day to day: what is served, and what changed on each day."""

    def __init__(self, templates: list[bytes], count: int, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.templates = templates
        self.next_id = FIRST_ID
        self.served: dict[str, dict[str, Any]] = {}
        for _ in range(count):
            self._add()
        self.changed: dict[int, set[str]] = {0: set(self.served)}
        self.removed = 0
        self.mutations: Counter[str] = Counter()

    def _add(self) -> str:
        template = self.templates[(self.next_id - FIRST_ID) % len(self.templates)]
        study = instantiate(template, self.next_id, self.rnd)
        self.next_id += 1
        key = protocol(study)["identificationModule"]["nctId"]
        self.served[key] = study
        return key

    def future_ids(self, count: int) -> list[str]:
        """NCT ids of studies that will enter the scope later (trackers may follow them)."""
        return [nct(self.next_id + i) for i in range(count)]

    def advance(self, day: int) -> None:
        """Day ``day``: mutate, add, remove; changed records carry the day as lastUpdatePostDate."""
        rnd = self.rnd
        today = data_date(day).isoformat()
        ids = sorted(self.served)
        changed: set[str] = set()
        for key in rnd.sample(ids, k=max(1, len(ids) * rnd.randint(3, 7) // 100)):
            study = self.served[key]
            for kind in rnd.sample(MUTATIONS, k=rnd.choice([1, 1, 2])):
                mutate(study, kind, rnd, day)
                self.mutations[kind] += 1
            changed.add(key)
        for _ in range(rnd.randint(1, 4)):
            changed.add(self._add())
            self.mutations["new_study"] += 1
        if rnd.random() < 0.35:
            gone = rnd.choice(sorted(set(self.served) - changed))
            del self.served[gone]
            self.removed += 1
        for key in changed:
            status = protocol(self.served[key])["statusModule"]
            status["lastUpdatePostDateStruct"] = {"date": today, "type": "ACTUAL"}
            status["lastUpdateSubmitDate"] = today
        self.changed[day] = changed

    def window(self, day: int) -> int:
        """How many served studies the day's read counts: all on day 0, else those updated since day - 2."""
        if day == 0:
            return len(self.served)
        since = data_date(day - 2).isoformat()
        return sum(
            1
            for study in self.served.values()
            if protocol(study)["statusModule"]["lastUpdatePostDateStruct"]["date"] >= since
        )

    def release(self, day: int) -> list[dict[str, Any]]:
        """The served records of ``day`` (fresh copies, every one with the day's versionHolder)."""
        out = []
        for key in sorted(self.served):
            study = copy.deepcopy(self.served[key])
            misc = study.setdefault("derivedSection", {}).setdefault("miscInfoModule", {})
            misc["versionHolder"] = data_date(day).isoformat()
            out.append(study)
        return out


# ---------------------------------------------------------------------------------------------
# Trackers


def tracker_specs(
    count: int, seed: int, studies: list[dict[str, Any]], later: list[str]
) -> list[TrackerSpec]:
    rnd = random.Random(seed * 7919 + 1)
    dims = {
        "diseases": ["AML", "B-ALL", "ALL", "T-ALL", "Ph+ ALL", "APL", "MPAL", "KMT2A-rearranged"],
        "modalities": list(vocabulary.values("modality"))[:8],
        "targets": list(vocabulary.values("target"))[:8],
        "settings": list(vocabulary.values("setting")),
        "populations": list(vocabulary.values("population")),
    }
    countries = Counter(
        site.get("country")
        for study in studies
        for site in protocol(study).get("contactsLocationsModule", {}).get("locations", [])
        if site.get("country")
    )
    country_list = [c for c, _ in countries.most_common(15)] + ["France", "Germany", "Japan"]
    ids = [protocol(s)["identificationModule"]["nctId"] for s in studies] + later
    event_types = [
        "status_changed",
        "site_added",
        "site_status_changed",
        "enrollment_changed",
        "dates_changed",
    ]
    specs = []
    for i in range(count):
        kind = rnd.random()
        fields: dict[str, Any] = {}
        if kind < 0.03:
            pass  # follows everything
        elif kind < 0.30:
            fields["nct_ids"] = tuple(rnd.sample(ids, k=rnd.randint(1, 4)))
        elif kind < 0.50:
            fields["diseases"] = tuple(rnd.sample(dims["diseases"], k=rnd.randint(1, 2)))
        else:
            for dim in rnd.sample(sorted(dims), k=rnd.randint(1, 2)):
                fields[dim] = tuple(rnd.sample(dims[dim], k=rnd.randint(1, 2)))
            if rnd.random() < 0.3:
                fields["countries"] = tuple(rnd.sample(country_list, k=rnd.randint(1, 2)))
            if rnd.random() < 0.2:
                fields["statuses"] = tuple(rnd.sample(STATUSES, k=2))
        if rnd.random() < 0.25:
            fields["event_types"] = tuple(rnd.sample(event_types, k=rnd.randint(1, 3)))
        if rnd.random() < 0.15:
            fields["min_severity"] = rnd.choice(["notable", "critical"])
        specs.append(
            TrackerSpec(
                name=f"soak tracker {i}",
                email=f"reader{i % 900}@example.org",
                cadence=rnd.choice(CADENCES),
                webhook_url=f"https://hooks.example.org/soak/{i}" if rnd.random() < 0.1 else None,
                **fields,
            )
        )
    return specs


def add_trackers(engine: Engine, specs: list[TrackerSpec]) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for spec in specs:
            create_tracker(conn, spec, now=now, confirmed=True)


# ---------------------------------------------------------------------------------------------
# Running syncs


class Mirror:
    """One database and the fake registry that feeds it."""

    def __init__(self, name: str, url: str, home: Path) -> None:
        self.name = name
        self.url = url
        self.server = FakeRegistryServer().start()
        # A killed sync leaves the server writing to a closed socket: expected here, not worth a traceback.
        self.server._http.handle_error = lambda request, client_address: None  # type: ignore[union-attr]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HEMEWATCH_")}
        self.env.update(
            HEMEWATCH_HOME=str(home),
            HEMEWATCH_CONFIG=str(home / "no-config.toml"),
            HEMEWATCH_DATABASE_URL=url,
            HEMEWATCH_REGISTRY_URL=self.server.base_url,
            HEMEWATCH_REQUESTS_PER_MINUTE="0",
            HEMEWATCH_MAX_RETRIES="1",
            HEMEWATCH_REQUEST_TIMEOUT="30",
            HEMEWATCH_PAGE_SIZE=str(PAGE_SIZE),
            COLUMNS="200",
        )
        self.engine = open_database(url)
        self.kills = 0
        self.kills_missed = 0
        self.faults = 0
        self.faults_failed = 0  # short lists that failed the run with exit 1, as they must
        self.faults_unnoticed = 0
        self.exits: Counter[str] = Counter()
        self.day_runs: dict[int, tuple[int, int]] = {}  # day -> (first run id, last run id)
        self.day_seconds: list[float] = []

    def last_run_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(sync_runs.c.id), 0))).scalar_one())

    def serve(self, studies: list[dict[str, Any]], day: int) -> None:
        self.server.set_studies(studies)
        self.server.data_timestamp = f"{data_date(day).isoformat()}T09:00:05"

    def start_sync(self, page_size: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "hemewatch", "sync"],
            env={**self.env, "HEMEWATCH_PAGE_SIZE": str(page_size)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def sync_and_kill(self, pages_first: int, page_size: int) -> bool:
        """Start a sync and SIGKILL it once it has stored ``pages_first`` pages; False if it ended first."""
        before = self.last_run_id()
        # Hold back the page after the ones to store, so that the kill lands mid-run, not after the end.
        self.server.inject(Fault(FaultKind.DELAY, seconds=3.0, path="/studies", page=pages_first + 1))
        process = self.start_sync(page_size)
        deadline = time.monotonic() + 180
        try:
            while time.monotonic() < deadline:
                with self.engine.connect() as conn:
                    row = conn.execute(
                        select(sync_runs.c.status, sync_runs.c.fetched)
                        .where(sync_runs.c.id > before)
                        .order_by(sync_runs.c.id.desc())
                        .limit(1)
                    ).first()
                if row is not None and row.status == "running" and row.fetched >= pages_first * page_size:
                    process.send_signal(signal.SIGKILL)
                    process.communicate(timeout=60)
                    self.kills += 1
                    self.exits["killed"] += 1
                    return True
                if process.poll() is not None:
                    break
                time.sleep(0.02)
            else:
                raise TimeoutError(f"{self.name}: the sync stored no page within 180 s")
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=60)
        self.kills_missed += 1
        self.exits[f"exit {process.returncode}"] += 1
        return False

    def sync(self, *, fault: bool = False, page_size: int = PAGE_SIZE) -> int:
        if fault:
            # Page 1 without nextPageToken on each of the query's 3 reads: the run must fail.
            self.server.inject(Fault.no_next_page_token(page=1), times=3)
            self.faults += 1
        done = subprocess.run(
            [sys.executable, "-m", "hemewatch", "sync"],
            env={**self.env, "HEMEWATCH_PAGE_SIZE": str(page_size)},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        self.exits[f"exit {done.returncode}"] += 1
        if fault and done.returncode != 1:
            self.faults_unnoticed += 1
            print(f"  {self.name}: a short list did not fail the run: {done.stdout.strip()}")
        elif fault and "Traceback" not in done.stderr:
            self.faults_failed += 1
        if done.returncode not in (0, 1) or "Traceback" in done.stderr:
            print(f"  {self.name}: sync exited {done.returncode}: {done.stderr.strip()[-800:]}")
        return done.returncode

    def run_day(self, day: int, *, kill: bool, fault: bool, window: int, rnd: random.Random) -> None:
        """Sync until a run completes; ``window`` is how many studies the day's read will count."""
        started = time.perf_counter()
        first = self.last_run_id() + 1
        # Kills and short lists need a list of several pages: smaller pages on those attempts.
        small = max(2, min(PAGE_SIZE, window // 3))
        if kill:
            self.sync_and_kill(pages_first=rnd.choice([1, 1, 2, 3]) if day == 0 else 1, page_size=small)
        attempts = 0
        while True:
            attempts += 1
            faulted = fault and attempts == 1
            code = self.sync(fault=faulted, page_size=small if faulted else PAGE_SIZE)
            if code == 0:
                break
            if attempts >= 6:
                print(f"  {self.name}: day {day} did not complete after {attempts} attempts")
                break
        self.day_runs[day] = (first, self.last_run_id())
        if self.server.pending_faults:
            print(f"  {self.name}: day {day} left faults unused: {self.server.pending_faults}")
        self.day_seconds.append(time.perf_counter() - started)

    def close(self) -> None:
        self.server.stop()
        self.engine.dispose()


# ---------------------------------------------------------------------------------------------
# What the databases hold


def canon(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


class Contents:
    """Everything the invariants compare, read from one database."""

    def __init__(self, mirror: Mirror) -> None:
        with mirror.engine.connect() as conn:
            self.versions = [
                (r.nct_id, r.content_hash)
                for r in conn.execute(select(study_versions.c.nct_id, study_versions.c.content_hash))
            ]
            self.runs = Counter(r.status for r in conn.execute(select(sync_runs.c.status)))
            self.events: dict[int, tuple[Any, ...]] = {}
            self.event_runs: dict[int, int] = {}
            self.alertable: dict[int, bool] = {}
            for r in conn.execute(
                select(
                    change_events.c.id,
                    change_events.c.nct_id,
                    change_events.c.type,
                    change_events.c.path,
                    change_events.c.before,
                    change_events.c.after,
                    change_events.c.alertable,
                    change_events.c.sync_run_id,
                )
            ):
                self.events[r.id] = (r.nct_id, r.type, r.path, canon(r.before), canon(r.after))
                self.event_runs[r.id] = r.sync_run_id
                self.alertable[r.id] = bool(r.alertable)
            names = {r.id: r.name for r in conn.execute(select(trackers.c.id, trackers.c.name))}
            self.pairs = [
                (names[r.tracker_id], r.event_id)
                for r in conn.execute(select(tracker_events.c.tracker_id, tracker_events.c.event_id))
            ]
            self.notifications = [
                (names[r.tracker_id], r.period, r.part, r.idempotency_key)
                for r in conn.execute(
                    select(
                        tracker_notifications.c.tracker_id,
                        tracker_notifications.c.period,
                        tracker_notifications.c.part,
                        tracker_notifications.c.idempotency_key,
                    )
                )
            ]
            self.deliveries = [
                (names[r.tracker_id], r.period, r.part, r.idempotency_key, r.channel, r.target)
                for r in conn.execute(
                    select(
                        tracker_notifications.c.tracker_id,
                        tracker_notifications.c.period,
                        tracker_notifications.c.part,
                        tracker_notifications.c.idempotency_key,
                        deliveries.c.channel,
                        deliveries.c.target,
                    ).join(tracker_notifications, deliveries.c.notification_id == tracker_notifications.c.id)
                )
            ]

    def alertable_events(self) -> Counter[tuple[Any, ...]]:
        return Counter(sig for eid, sig in self.events.items() if self.alertable[eid])

    def events_in(self, first: int, last: int) -> list[int]:
        return [eid for eid, run in self.event_runs.items() if run is not None and first <= run <= last]

    def pairs_by_tracker(self) -> dict[str, Counter[tuple[Any, ...]]]:
        out: dict[str, Counter[tuple[Any, ...]]] = defaultdict(Counter)
        for name, event_id in self.pairs:
            out[name][self.events[event_id]] += 1
        return out

    def deliveries_by_tracker(self) -> dict[str, Counter[tuple[Any, ...]]]:
        """Per tracker: (period, part, channel, target), an immediate period named by its event."""
        out: dict[str, Counter[tuple[Any, ...]]] = defaultdict(Counter)
        for name, period, part, _key, channel, target in self.deliveries:
            if period.startswith("event-"):
                period = self.events.get(int(period[6:]), period)
            out[name][(period, part, channel, target)] += 1
        return out


def diff_count(a: Counter[Any], b: Counter[Any]) -> tuple[int, int]:
    """(in a but not b, in b but not a), counting multiplicity."""
    return sum((a - b).values()), sum((b - a).values())


def check(soak: Mirror, reference: Mirror, registry: Registry, days: int) -> list[tuple[str, bool, str]]:
    mine, theirs = Contents(soak), Contents(reference)
    results: list[tuple[str, bool, str]] = []

    def record(name: str, ok: bool, detail: str) -> None:
        results.append((name, ok, detail))

    only_soak, only_ref = set(mine.versions) - set(theirs.versions), set(theirs.versions) - set(mine.versions)
    record(
        "same (nct_id, content_hash) versions as the reference",
        not only_soak and not only_ref,
        f"{len(set(mine.versions)):,} vs {len(set(theirs.versions)):,}; "
        f"only in soak {len(only_soak)}, only in reference {len(only_ref)}",
    )
    doubled = sum(n - 1 for n in Counter(mine.versions).values() if n > 1)
    doubled_ref = sum(n - 1 for n in Counter(theirs.versions).values() if n > 1)
    record(
        "no trial has two versions with one content hash", doubled == doubled_ref == 0, f"{doubled} doubled"
    )

    lost, false = diff_count(theirs.alertable_events(), mine.alertable_events())
    record(
        "alertable events identical to the reference",
        lost == false == 0,
        f"{sum(mine.alertable_events().values()):,} events; lost {lost}, doubled or false {false}",
    )
    all_lost, all_false = diff_count(Counter(theirs.events.values()), Counter(mine.events.values()))
    record(
        "all events (administrative too) identical to the reference",
        all_lost == all_false == 0,
        f"{len(mine.events):,} events; lost {all_lost}, doubled or false {all_false}",
    )
    baseline = len(mine.events_in(*soak.day_runs[0])) + len(theirs.events_in(*reference.day_runs[0]))
    baseline_pairs = sum(1 for _, e in mine.pairs if mine.event_runs[e] <= soak.day_runs[0][1])
    record(
        "zero events and deliveries from the baseline",
        baseline == baseline_pairs == 0,
        f"{baseline} events, {baseline_pairs} tracker-event pairs from day 0's runs "
        f"({soak.day_runs[0][1] - soak.day_runs[0][0] + 1} soak attempts)",
    )
    unchanged_hits = 0
    silent = 0
    for day in range(1, days):
        changed = registry.changed[day]
        for contents, mirror in ((mine, soak), (theirs, reference)):
            with_events = {contents.events[e][0] for e in contents.events_in(*mirror.day_runs[day])}
            unchanged_hits += len(with_events - changed)
            silent += len(changed - with_events)
    record(
        "events only on the trials changed that day, and on each of them",
        unchanged_hits == silent == 0,
        f"{unchanged_hits} trial-days with events but no change, {silent} changed trial-days without events",
    )
    pair_dups = sum(n - 1 for n in Counter(mine.pairs).values() if n > 1)
    note_dups = sum(
        n - 1 for n in Counter((t, p, part) for t, p, part, _ in mine.notifications).values() if n > 1
    )
    key_dups = sum(n - 1 for n in Counter(k for *_, k in mine.notifications).values() if n > 1)
    delivery_dups = sum(
        n - 1 for n in Counter((k, ch, tg) for _, _, _, k, ch, tg in mine.deliveries).values() if n > 1
    )
    split = sum(1 for _, _, part, _ in mine.notifications if part > 1)
    record(
        "each (tracker, event) once; one notification and key per tracker and period",
        pair_dups == note_dups == key_dups == delivery_dups == split == 0,
        f"{pair_dups} doubled pairs, {note_dups} doubled notifications, {key_dups} doubled keys, "
        f"{delivery_dups} doubled deliveries, {split} notifications split into parts",
    )
    pairs_a, pairs_b = mine.pairs_by_tracker(), theirs.pairs_by_tracker()
    pair_diff = [name for name in set(pairs_a) | set(pairs_b) if pairs_a.get(name) != pairs_b.get(name)]
    record(
        "tracker-event pairs identical to the reference, per tracker",
        not pair_diff,
        f"{len(mine.pairs):,} vs {len(theirs.pairs):,} pairs; {len(pair_diff)} trackers differ",
    )
    del_a, del_b = mine.deliveries_by_tracker(), theirs.deliveries_by_tracker()
    del_diff = [name for name in set(del_a) | set(del_b) if del_a.get(name) != del_b.get(name)]
    record(
        "deliveries identical to the reference, per tracker",
        not del_diff,
        f"{len(mine.deliveries):,} vs {len(theirs.deliveries):,} deliveries; {len(del_diff)} trackers differ",
    )
    record(
        "every short list failed its run loudly (exit 1), and the next run healed it",
        soak.faults_unnoticed == 0,
        f"{soak.faults_failed} of {soak.faults} failed with exit 1",
    )
    running = mine.runs.get("running", 0) + theirs.runs.get("running", 0)
    record("no sync run left running", running == 0, f"{running} running")
    return results


# ---------------------------------------------------------------------------------------------
# Databases


def make_databases(kind: str, folder: Path) -> tuple[str, str, list[str]]:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'soak.db'}", f"sqlite:///{folder / 'reference.db'}", []
    import psycopg

    tag = uuid.uuid4().hex[:10]
    names = [f"hemewatch_soak_{tag}", f"hemewatch_soak_{tag}_ref"]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{names[0]}", f"{base}/{names[1]}", names


def drop_databases(names: list[str]) -> None:
    if not names:
        return
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=12, help="registry days, the baseline included")
    parser.add_argument("--studies", type=int, default=600)
    parser.add_argument("--trackers", type=int, default=2000)
    parser.add_argument(
        "--kill-rate", type=float, default=0.4, help="share of days whose first sync is killed"
    )
    parser.add_argument("--fault-rate", type=float, default=0.15, help="share of days with a short list")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the databases (and print where they are)")
    args = parser.parse_args()

    started = time.perf_counter()
    plan = random.Random(args.seed * 31 + 7)
    kill_days = [
        d for d in range(args.days) if (d == 0 and args.kill_rate > 0) or plan.random() < args.kill_rate
    ]
    fault_days = [d for d in range(1, args.days) if plan.random() < args.fault_rate]
    registry = Registry(load_templates(), args.studies, args.seed)
    specs = tracker_specs(args.trackers, args.seed, list(registry.served.values()), registry.future_ids(40))

    folder = Path(tempfile.mkdtemp(prefix="hemewatch-soak-"))
    soak_url, reference_url, pg_names = make_databases(args.database, folder)
    print(
        f"soak: {args.days} days, {args.studies} studies, {args.trackers:,} trackers, {args.database}, "
        f"seed {args.seed}; kill days {kill_days}, short-list days {fault_days}"
    )
    soak = reference = None
    try:
        soak = Mirror("soak", soak_url, folder / "soak-home")
        reference = Mirror("reference", reference_url, folder / "reference-home")
        setup = time.perf_counter()
        for mirror in (soak, reference):
            add_trackers(mirror.engine, specs)
        print(f"trackers created in {time.perf_counter() - setup:.1f} s (both databases)")
        for day in range(args.days):
            if day:
                registry.advance(day)
            release = registry.release(day)
            for mirror in (soak, reference):
                mirror.serve(release, day)
            window = registry.window(day)
            soak.run_day(day, kill=day in kill_days, fault=day in fault_days, window=window, rnd=plan)
            reference.run_day(day, kill=False, fault=False, window=window, rnd=plan)
            print(
                f"  day {day:2d} ({data_date(day)}): {len(release)} served, "
                f"{len(registry.changed[day]) if day else 0} changed; soak {soak.day_seconds[-1]:.1f} s "
                f"(runs #{soak.day_runs[day][0]}-#{soak.day_runs[day][1]}), "
                f"reference {reference.day_seconds[-1]:.1f} s"
            )

        results = check(soak, reference, registry, args.days)
        mine = Contents(soak)
        alertable_types = Counter(
            sig[1] for eid, sig in mine.events.items() if mine.alertable[eid]
        ).most_common()
        admin_types = Counter(sig[1] for eid, sig in mine.events.items() if not mine.alertable[eid])
        print()
        print(f"days                         {args.days} (baseline + {args.days - 1})")
        print(f"studies                      {args.studies} at the start, {len(registry.served)} at the end")
        print(f"churn                        {dict(registry.mutations)}, {registry.removed} no longer served")
        print(f"trackers                     {args.trackers:,}")
        print(f"kills performed              {soak.kills} (sync ended before the kill: {soak.kills_missed})")
        print(
            f"faults injected              {soak.faults} short lists (page 1 without nextPageToken on each "
            f"of 3 reads): {soak.faults_failed} failed the run (exit 1), {soak.faults_unnoticed} did not"
        )
        print(f"runs by status (soak)        {dict(sorted(mine.runs.items()))}")
        print(f"runs by status (reference)   {dict(sorted(Contents(reference).runs.items()))}")
        print(f"sync exits (soak)            {dict(sorted(soak.exits.items()))}")
        print(f"versions stored              {len(mine.versions):,}")
        print(f"alertable events by type     {dict(alertable_types)}")
        print(f"administrative events        {dict(admin_types)}")
        print(f"tracker-event pairs          {len(mine.pairs):,}")
        print(f"notifications                {len(mine.notifications):,}")
        print(f"deliveries queued            {len(mine.deliveries):,}")
        print(
            f"wall time per day (soak)     median {statistics.median(soak.day_seconds):.1f} s, "
            f"max {max(soak.day_seconds):.1f} s (baseline {soak.day_seconds[0]:.1f} s)"
        )
        print(
            f"wall time per day (ref.)     median {statistics.median(reference.day_seconds):.1f} s, "
            f"max {max(reference.day_seconds):.1f} s"
        )
        print(f"total wall time              {time.perf_counter() - started:.0f} s")
        print()
        for name, ok, detail in results:
            print(f"{'OK      ' if ok else 'VIOLATED'}  {name}: {detail}")
        if args.keep:
            print(f"\ndatabases kept: {soak_url} and {reference_url}")
        return 0 if all(ok for _, ok, _ in results) else 1
    finally:
        for mirror in (soak, reference):
            if mirror is not None:
                mirror.close()
        if not args.keep:
            drop_databases(pg_names)
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
