"""Requests per second and p95 latency of the disease page and the JSON API with 20,000 trials.

The mirror is built by importing copies of the real records in ../shared/data/ctgov with fresh
NCT ids (hemewatch's own import: classification and change events included); a second import
changes the status of some of them so that change events exist. The app runs under uvicorn in
a child process (its own GIL) on a socket the parent opened, and is driven over loopback by
concurrent keep-alive clients. Target: p95 under 100 ms on the reference machine.

    python bench/bench_web.py [--trials 20000] [--requests 300] [--concurrency 8] [--keep DIR]

"First" is the latency of the first request for that address after the data changed (the
cache is empty); p50, p95 and requests per second are measured after it.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "ctgov"
FIRST_ID = 90_000_000


def _nct(index: int) -> str:
    return f"NCT{FIRST_ID + index % 20_000:08d}"


SCENARIOS: list[tuple[str, Callable[[int], str]]] = [
    ("disease page /diseases/all", lambda i: "/diseases/all"),
    ("disease page /diseases/aml", lambda i: "/diseases/aml"),
    ("API /api/v1/trials?target=CD22&modality=CAR-T", lambda i: "/api/v1/trials?target=CD22&modality=CAR-T"),
    (
        "API /api/v1/trials?disease=AML&status=RECRUITING",
        lambda i: "/api/v1/trials?disease=AML&status=RECRUITING",
    ),
    (
        "API /api/v1/trials/{nct_id} (varied)",
        lambda i: f"/api/v1/trials/NCT{FIRST_ID + (i * 37) % 20_000:08d}",
    ),
    (
        "API /api/v1/trials?offset=… (varied pages)",
        lambda i: f"/api/v1/trials?disease=B-ALL&offset={(i % 40) * 50}",
    ),
    ("trial page /trials/{nct_id} (varied)", lambda i: f"/trials/NCT{FIRST_ID + (i * 53) % 20_000:08d}"),
]


def write_copies(path: Path, count: int, *, changed_every: int = 0) -> None:
    """`count` real leukemia-area records with fresh ids; every n-th one changed when asked."""
    sources = [line for line in (SHARED / "studies.jsonl").read_bytes().splitlines() if line.strip()]
    with path.open("wb") as out:
        for index in range(count):
            if changed_every and index % changed_every:
                continue
            study = orjson.loads(sources[index % len(sources)])
            study["protocolSection"]["identificationModule"]["nctId"] = f"NCT{FIRST_ID + index:08d}"
            if changed_every:
                status = study["protocolSection"]["statusModule"]
                status["overallStatus"] = "ACTIVE_NOT_RECRUITING"
                status["lastUpdatePostDateStruct"] = {"date": "2025-07-09", "type": "ACTUAL"}
                study["derivedSection"]["miscInfoModule"]["versionHolder"] = "2025-07-09"
            out.write(orjson.dumps(study) + b"\n")


def build_mirror(folder: Path, trials: int) -> str:
    """Import the copies (a baseline), then a later day where one trial in 20 changed status."""
    from hemewatch.pipeline.importing import import_files
    from hemewatch.registry.scope import load_scope
    from hemewatch.storage.engine import open_database

    url = f"sqlite:///{folder / 'bench.db'}"
    engine = open_database(url)
    scope = load_scope()
    day1, day2 = folder / "day1.jsonl", folder / "day2.jsonl"
    write_copies(day1, trials)
    write_copies(day2, trials, changed_every=20)
    started = time.perf_counter()
    first = import_files(engine, [day1], scope=scope)
    second = import_files(engine, [day2], scope=scope)
    engine.dispose()
    print(
        f"mirror: {first.stored} trials imported and classified, then {second.stored} changed "
        f"({time.perf_counter() - started:.0f} s)"
    )
    return url


def serve_child(fd: int, url: str, home: str) -> None:
    """In the child process: serve the app on the inherited socket."""
    import uvicorn

    from hemewatch.settings import Settings
    from hemewatch.web import create_app

    settings = Settings(home=Path(home), database_url=url, secret_key="bench")
    uvicorn.Server(uvicorn.Config(create_app(settings), fd=fd, log_level="warning", access_log=False)).run()


def drive(base: str, address: Callable[[int], str], requests: int, concurrency: int) -> dict[str, float]:
    """One scenario: the first request alone, then `requests` spread over `concurrency` clients."""
    with httpx.Client(base_url=base, timeout=60) as client:
        started = time.perf_counter()
        first = client.get(address(0))
        first_ms = (time.perf_counter() - started) * 1000
        first.raise_for_status()
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(1, requests + 1))

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            while True:
                with lock:
                    index = next(counter, None)
                if index is None:
                    return
                begin = time.perf_counter()
                response = client.get(address(index))
                elapsed = (time.perf_counter() - begin) * 1000
                response.raise_for_status()
                with lock:
                    latencies.append(elapsed)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "first_ms": first_ms,
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1],
        "rps": len(latencies) / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--keep", type=Path, help="Build the mirror in (or reuse it from) this folder.")
    parser.add_argument("--serve-fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fd is not None:
        serve_child(args.serve_fd, args.db, args.home)
        return

    folder = args.keep or Path(tempfile.mkdtemp(prefix="hemewatch-bench-web-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = (
        f"sqlite:///{folder / 'bench.db'}"
        if (folder / "bench.db").exists()
        else build_mirror(folder, args.trials)
    )

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    port = sock.getsockname()[1]
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve-fd",
            str(sock.fileno()),
            "--db",
            url,
            "--home",
            str(folder / "home"),
        ],
        pass_fds=[sock.fileno()],
    )
    try:
        base = f"http://127.0.0.1:{port}"
        # The first request of the process reads the database into the OS cache and compiles templates.
        started = time.perf_counter()
        httpx.get(f"{base}/", timeout=120).raise_for_status()
        print(f"process warm-up (front page, first request): {(time.perf_counter() - started) * 1000:.0f} ms")
        print(
            f"{args.requests} requests per scenario, {args.concurrency} clients at once, one server process"
        )
        print(f"{'scenario':<56} {'first ms':>9} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8}")
        for name, address in SCENARIOS:
            figures = drive(base, address, args.requests, args.concurrency)
            print(
                f"{name:<56} {figures['first_ms']:>9.1f} {figures['p50_ms']:>8.1f} "
                f"{figures['p95_ms']:>8.1f} {figures['rps']:>8.1f}"
            )
    finally:
        child.terminate()
        child.wait(timeout=30)
        sock.close()
        if args.keep is None:
            for path in sorted(folder.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            folder.rmdir()
    print(f"cpu count: {os.cpu_count()}")


if __name__ == "__main__":
    main()
