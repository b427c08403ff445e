"""Import throughput and peak memory, next to the floor measured in the same run.

The floor is the least any importer must do: parse every line with orjson and store the
raw rows in SQLite with batched inserts. hemewatch additionally validates each record,
hashes its canonical content, compresses it, skips unchanged versions and keeps the trials
table current. Target: within 2x of the floor, peak memory under 500 MB at any input size.

    python bench/bench_import.py [--records 30000] [--format jsonl zip] [--in-scope] [--keep]

With --in-scope, every record is one the watch scope matches (hemewatch classifies, tags and
diffs those): target within 3x of the floor.

    python bench/bench_import.py --members 50000 200000 600000

builds a json.zip of that many members like the registry's (one study per member, about one
in 40 in the watch scope) and runs `hemewatch import --in-scope-only` on it beside the floor
for a zip (zipfile reads the archive and orjson decodes each member, nothing else): peak
memory must stay flat as the member count grows (target < 400 MB at any size).

Records are the real ones from ../shared/data/ctgov, replicated with fresh NCT ids.
Each phase runs in its own process so that its peak memory (VmHWM) is its own; hemewatch
prepares records on worker processes, whose peak is shown apart and added to the total.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "ctgov"


def shared_records() -> list[bytes]:
    """The real records of ../shared/data/ctgov, one JSON text each."""
    sources = []
    for name in ("studies.jsonl", "other_studies.jsonl"):
        sources.extend((SHARED / name).read_bytes().splitlines())
    return sources


def in_scope(sources: list[bytes]) -> list[bytes]:
    """The records the default watch scope matches."""
    from hemewatch.registry.scope import load_scope

    scope = load_scope()
    return [line for line in sources if scope.matches(orjson.loads(line))]


def make_input(folder: Path, records: int, fmt: str, *, scoped: bool = False) -> Path:
    """Write `records` real studies, cycling through the shared ones with fresh NCT ids."""
    sources = shared_records()
    if scoped:
        sources = in_scope(sources)
    target = folder / ("input.jsonl" if fmt == "jsonl" else "ctg-studies.json.zip")
    archive = zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) if fmt == "zip" else None
    out = None if archive else target.open("wb")
    for index in range(records):
        study = orjson.loads(sources[index % len(sources)])
        nct = f"NCT{90000000 + index:08d}"
        study["protocolSection"]["identificationModule"]["nctId"] = nct
        line = orjson.dumps(study)
        if archive:
            archive.writestr(f"{nct}.json", line)
        else:
            assert out is not None
            out.write(line + b"\n")
    if archive:
        archive.close()
    if out:
        out.close()
    return target


def make_registry_zip(path: Path, members: int) -> None:
    """A json.zip like the registry's: one study per member, about one in 40 in the watch scope.

    Out of scope, the smaller records are used (the member count, not their size, is what the
    archive's directory costs); each gets a fresh NCT id.
    """
    sources = shared_records()
    scoped = in_scope(sources)
    kept = set(scoped)
    small = sorted((s for s in sources if s not in kept), key=len)[:200]
    templates = []
    for line in small + scoped:
        nct = orjson.loads(line)["protocolSection"]["identificationModule"]["nctId"].encode()
        templates.append((line, nct))
    out_count = len(small)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for index in range(members):
            if index % 40 == 39:
                line, nct = templates[out_count + (index // 40) % len(scoped)]
            else:
                line, nct = templates[index % out_count]
            fresh = f"NCT{90000000 + index:08d}"
            archive.writestr(f"{fresh}.json", line.replace(nct, fresh.encode()))


def phase_zip_floor(path: Path, db: Path) -> dict[str, float]:
    """Read the zip with zipfile and decode each member with orjson, nothing else."""
    count = 0
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            orjson.loads(archive.read(member))
            count += 1
    return {"records": count}


def phase_floor(path: Path, db: Path) -> dict[str, float]:
    """Parse every record and insert raw rows into SQLite in batches of 1000."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE raw (nct_id TEXT, body BLOB)")
    batch: list[tuple[str, bytes]] = []
    count = 0

    def lines() -> Iterator[bytes]:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for member in archive.infolist():
                    yield archive.read(member)
        else:
            with path.open("rb") as stream:
                yield from stream

    for line in lines():
        study = orjson.loads(line)
        batch.append((study["protocolSection"]["identificationModule"]["nctId"], line))
        count += 1
        if len(batch) >= 1000:
            conn.executemany("INSERT INTO raw VALUES (?, ?)", batch)
            conn.commit()
            batch.clear()
    conn.executemany("INSERT INTO raw VALUES (?, ?)", batch)
    conn.commit()
    conn.close()
    return {"records": count}


def phase_hemewatch(path: Path, db: Path, *, in_scope_only: bool = False) -> dict[str, float]:
    """Run hemewatch's import into a fresh SQLite database."""
    from hemewatch.pipeline.importing import import_files
    from hemewatch.pipeline.pool import worker_count
    from hemewatch.registry.scope import load_scope
    from hemewatch.storage.engine import open_database

    engine = open_database(f"sqlite:///{db}")
    report = import_files(engine, [path], scope=load_scope(), in_scope_only=in_scope_only)
    engine.dispose()
    workers = worker_count(path.stat().st_size)
    return {"records": report.read, "stored": report.stored, "rejected": report.rejected, "workers": workers}


def run_phase(name: str, path: Path, db: Path) -> dict[str, float]:
    """Run one phase in a child process and return its figures."""
    done = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--input", str(path), "--db", str(db)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def peak_mb(pid: int | str = "self") -> float | None:
    """A process's peak resident memory (VmHWM), or None when it cannot be read (gone, not Linux).

    Not getrusage's ru_maxrss: a process started by another one reports at least the RSS its parent
    had when it started it (exec keeps the larger of the two), so the phases, started by this script
    after it built a large archive, and the workers would be charged for their parent's memory.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


class ChildPeaks(threading.Thread):
    """Watches the peak memory of this process's children (the import's workers) while they run."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.seen = 0
        self._stop_event = threading.Event()
        self._pids: set[int] = set()

    def run(self) -> None:
        me = str(os.getpid())
        while not self._stop_event.wait(0.2):
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue
                if fields[1] == me and (found := peak_mb(entry.name)) is not None:
                    self._pids.add(int(entry.name))
                    self.peak = max(self.peak, found)
            self.seen = len(self._pids)

    def stop(self) -> None:
        """Stop watching."""
        self._stop_event.set()
        self.join()


def child(name: str, path: Path, db: Path) -> None:
    """Entry point of a phase process: time it and report its peak memory and its workers'."""
    watcher = ChildPeaks()
    watcher.start()
    start = time.perf_counter()
    if name == "floor":
        figures = phase_floor(path, db)
    elif name == "zip-floor":
        figures = phase_zip_floor(path, db)
    else:
        figures = phase_hemewatch(path, db, in_scope_only=name == "hemewatch-in-scope-only")
    figures["seconds"] = time.perf_counter() - start
    watcher.stop()
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    figures["peak_mb"] = peak_mb() or own.ru_maxrss / 1024
    # The largest peak of any one worker process, as last seen while it ran (sampled every 0.2 s).
    figures["worker_peak_mb"] = watcher.peak if watcher.seen else children.ru_maxrss / 1024
    # CPU time, which other jobs on a shared machine do not inflate as much as wall time.
    figures["cpu"] = own.ru_utime + own.ru_stime
    figures["worker_cpu"] = children.ru_utime + children.ru_stime
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=30000)
    parser.add_argument("--format", choices=["jsonl", "zip"], nargs="+", default=["jsonl", "zip"])
    parser.add_argument("--in-scope", action="store_true", help="only records the watch scope matches")
    parser.add_argument("--members", type=int, nargs="+", help="registry-like json.zip of these sizes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--phase",
        choices=["floor", "zip-floor", "hemewatch", "hemewatch-in-scope-only"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child(args.phase, args.input, args.db)
        return
    folder = Path(tempfile.mkdtemp(prefix="hemewatch-bench-"))
    try:
        if args.members:
            bench_registry_zip(folder, args.members)
        else:
            for fmt in args.format:
                bench_format(folder / fmt, args.records, fmt, scoped=args.in_scope)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def bench_registry_zip(folder: Path, sizes: list[int]) -> None:
    """Peak memory and time of `import --in-scope-only` on registry-like archives of growing size."""
    print(
        f"{'members':>9}{'zip MB':>8}{'floor s':>9}{'floor MB':>10}{'hemewatch s':>13}"
        f"{'x floor':>9}{'main MB':>9}{'worker MB':>11}{'total MB':>10}"
    )
    for members in sizes:
        path = folder / f"{members}" / "ctg-studies.json.zip"
        path.parent.mkdir(parents=True)
        make_registry_zip(path, members)
        floor = run_phase("zip-floor", path, path.parent / "floor.db")
        ours = run_phase("hemewatch-in-scope-only", path, path.parent / "hemewatch.db")
        assert floor["records"] == ours["records"] == members, (floor, ours)
        workers = int(ours["workers"])
        total = ours["peak_mb"] + workers * ours["worker_peak_mb"]
        print(
            f"{members:>9,}{path.stat().st_size / 1e6:>8.0f}{floor['seconds']:>9.1f}{floor['peak_mb']:>10.0f}"
            f"{ours['seconds']:>13.1f}{ours['seconds'] / floor['seconds']:>9.2f}{ours['peak_mb']:>9.0f}"
            f"{workers:>4} x {ours['worker_peak_mb']:>4.0f}{total:>10.0f}",
            flush=True,
        )
        shutil.rmtree(path.parent, ignore_errors=True)
    print("target: total < 400 MB whatever the member count (the floor holds the whole directory)")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def bench_format(folder: Path, records: int, fmt: str, *, scoped: bool = False) -> None:
    """Measure the floor and hemewatch on one input format and print the comparison."""
    folder.mkdir(parents=True)
    path = make_input(folder, records, fmt, scoped=scoped)
    mb = path.stat().st_size / 1e6
    if fmt == "zip":
        with zipfile.ZipFile(path) as archive:
            mb = sum(m.file_size for m in archive.infolist()) / 1e6
    kind = "in-scope real records" if scoped else "real records"
    print(f"input: {records} {kind} ({mb:.0f} MB of JSON) as {fmt}")
    floor = run_phase("floor", path, folder / "floor.db")
    ours = run_phase("hemewatch", path, folder / "hemewatch.db")
    stored_mb = (folder / "hemewatch.db").stat().st_size / 1e6
    print(f"{'':12}{'records/s':>12}{'MB/s':>10}{'peak MB':>10}{'seconds':>10}")
    for label, figures in (("floor", floor), ("hemewatch", ours)):
        seconds = figures["seconds"]
        print(
            f"{label:12}{records / seconds:>12,.0f}{mb / seconds:>10.1f}{figures['peak_mb']:>10.0f}"
            f"{seconds:>10.1f}"
        )
    workers = int(ours["workers"])
    total = ours["peak_mb"] + workers * ours["worker_peak_mb"]
    target = 3 if scoped else 2
    print(
        f"hemewatch / floor time: {ours['seconds'] / floor['seconds']:.2f}x (target <= {target}x); "
        f"database {stored_mb:.0f} MB for {mb:.0f} MB of JSON"
    )
    print(
        f"CPU seconds: floor {floor['cpu']:.1f}; hemewatch {ours['cpu']:.1f} (main process) + "
        f"{ours['worker_cpu']:.1f} (workers); load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    # Per record and as a ratio, CPU time is what a busy shared machine distorts least.
    main_ms, workers_ms = ours["cpu"] / records * 1000, ours["worker_cpu"] / records * 1000
    print(
        f"CPU per record: floor {floor['cpu'] / records * 1000:.2f} ms; hemewatch {main_ms:.2f} ms (main) + "
        f"{workers_ms:.2f} ms (workers) = {(ours['cpu'] + ours['worker_cpu']) / floor['cpu']:.1f}x the floor"
    )
    print(
        f"hemewatch peak memory: {ours['peak_mb']:.0f} MB + {workers} workers x "
        f"{ours['worker_peak_mb']:.0f} MB = {total:.0f} MB at most (target < 500 MB)\n"
    )


if __name__ == "__main__":
    main()
