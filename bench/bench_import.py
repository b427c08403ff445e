"""Import throughput and peak memory, next to the floor measured in the same run.

The floor is the least any importer must do: parse every line with orjson and store the
raw rows in SQLite with batched inserts. hemewatch additionally validates each record,
hashes its canonical content, compresses it, skips unchanged versions and keeps the trials
table current. Target: within 2x of the floor, peak memory under 500 MB at any input size.

    python bench/bench_import.py [--records 30000] [--format jsonl zip] [--keep]

Records are the real ones from ../shared/data/ctgov, replicated with fresh NCT ids.
Each phase runs in its own process so that its peak memory (max RSS) is its own; hemewatch
prepares records on worker processes, whose peak is shown apart and added to the total.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "ctgov"


def make_input(folder: Path, records: int, fmt: str) -> Path:
    """Write `records` real studies, cycling through the shared ones with fresh NCT ids."""
    sources = []
    for name in ("studies.jsonl", "other_studies.jsonl"):
        sources.extend((SHARED / name).read_bytes().splitlines())
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


def phase_floor(path: Path, db: Path) -> dict[str, float]:
    """Parse every record and insert raw rows into SQLite in batches of 1000."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE raw (nct_id TEXT, body BLOB)")
    batch: list[tuple[str, bytes]] = []
    count = 0

    def lines():  # type: ignore[no-untyped-def]
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


def phase_hemewatch(path: Path, db: Path) -> dict[str, float]:
    """Run hemewatch's import into a fresh SQLite database."""
    from hemewatch.pipeline.importing import import_files
    from hemewatch.pipeline.pool import worker_count
    from hemewatch.registry.scope import load_scope
    from hemewatch.storage.engine import open_database

    engine = open_database(f"sqlite:///{db}")
    report = import_files(engine, [path], scope=load_scope())
    engine.dispose()
    workers = worker_count(path.stat().st_size)
    return {"records": report.stored, "rejected": report.rejected, "workers": workers}


def run_phase(name: str, path: Path, db: Path) -> dict[str, float]:
    """Run one phase in a child process and return its figures."""
    done = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--input", str(path), "--db", str(db)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def child(name: str, path: Path, db: Path) -> None:
    """Entry point of a phase process: time it and report its max RSS."""
    start = time.perf_counter()
    figures = phase_floor(path, db) if name == "floor" else phase_hemewatch(path, db)
    figures["seconds"] = time.perf_counter() - start
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The largest peak of any one worker process (they have all been waited for).
    figures["worker_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=30000)
    parser.add_argument("--format", choices=["jsonl", "zip"], nargs="+", default=["jsonl", "zip"])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--phase", choices=["floor", "hemewatch"], help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child(args.phase, args.input, args.db)
        return
    folder = Path(tempfile.mkdtemp(prefix="hemewatch-bench-"))
    try:
        for fmt in args.format:
            bench_format(folder / fmt, args.records, fmt)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def bench_format(folder: Path, records: int, fmt: str) -> None:
    """Measure the floor and hemewatch on one input format and print the comparison."""
    folder.mkdir(parents=True)
    path = make_input(folder, records, fmt)
    mb = path.stat().st_size / 1e6
    if fmt == "zip":
        with zipfile.ZipFile(path) as archive:
            mb = sum(m.file_size for m in archive.infolist()) / 1e6
    print(f"input: {records} real records ({mb:.0f} MB of JSON) as {fmt}")
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
    print(
        f"hemewatch / floor time: {ours['seconds'] / floor['seconds']:.2f}x (target <= 2x); "
        f"database {stored_mb:.0f} MB for {mb:.0f} MB of JSON"
    )
    print(
        f"hemewatch peak memory: {ours['peak_mb']:.0f} MB + {workers} workers x "
        f"{ours['worker_peak_mb']:.0f} MB = {total:.0f} MB at most (target < 500 MB)\n"
    )


if __name__ == "__main__":
    main()
