"""Requests per second and p95 latency of the disease page and the JSON API with 20,000 trials.

The mirror is built by importing copies of the real records in ../shared/data/ctgov with fresh
NCT ids (hemewatch's own import: classification and change events included); a second import
changes the status of some of them so that change events exist. The app runs under uvicorn in
a child process (its own GIL) on a socket the parent opened, and is driven over loopback by
concurrent keep-alive clients. Target: p95 under 100 ms on the reference machine.

    python bench/bench_web.py [--trials 20000] [--requests 300] [--concurrency 8] [--keep DIR]
        [--database-url postgresql+psycopg://…/db] [--only search] [--workers 2]

"First" is the latency of the first request for that address after the data changed (the
cache is empty); p50, p95 and requests per second are measured after it.

The text-search scenario asks `/search?q=…&status=…&phase=…` with a different text, status and
phase each time, so no cache answers. Beside it the naive floor is measured in the same run: a
minimal app (as many processes, the same number of clients) running the SQL such a search needs the
plain way: the text with LIKE '%…%' over titles, conditions, sponsors, NCT ids and intervention
names, a count, and each facet re-counted over the matching trials without its own filter.

With --database-url the mirror is a PostgreSQL database (built there when it holds fewer trials
than asked for; ANALYZE runs at the end of the import, as after any import).
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
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import orjson
from sqlalchemy.engine import make_url

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


# Texts people search for: drug names, codes, partial words, title words, sponsors.
SEARCH_WORDS = (
    "venetoclax",
    "azacitidine",
    "blinatumomab",
    "inotuzumab",
    "gilteritinib",
    "midostaurin",
    "decitabine",
    "cytarabine",
    "ivosidenib",
    "enasidenib",
    "quizartinib",
    "glasdegib",
    "SNDX-5613",
    "revumenib",
    "ponatinib",
    "dasatinib",
    "imatinib",
    "nelarabine",
    "venet",
    "azacit",
    "blinat",
    "gilter",
    "CAR-T",
    "CD19",
    "CD33",
    "CD123",
    "FLT3",
    "relapsed",
    "refractory",
    "pediatric",
    "children",
    "elderly",
    "maintenance",
    "transplant",
    "minimal residual",
    "induction",
    "consolidation",
    "haploidentical",
    "graft",
    "MD Anderson",
    "Children's Oncology Group",
    "St. Jude",
    "Novartis",
    "AbbVie",
    "acute myeloid",
    "lymphoblastic",
    "myelodysplastic",
    "promyelocytic",
    "Philadelphia",
)
SEARCH_STATUSES = ("RECRUITING", "COMPLETED", "ACTIVE_NOT_RECRUITING", "NOT_YET_RECRUITING", "TERMINATED")
SEARCH_PHASES = ("PHASE1", "PHASE2", "PHASE3", "EARLY_PHASE1")
SEARCH_SCENARIO = "uncached text search /search?q=…&status=…&phase=…"


def search_params(index: int) -> dict[str, str]:
    """A different text, status and phase for each index (up to words x statuses x phases)."""
    words, statuses = len(SEARCH_WORDS), len(SEARCH_STATUSES)
    return {
        "q": SEARCH_WORDS[index % words],
        "status": SEARCH_STATUSES[(index // words) % statuses],
        "phase": SEARCH_PHASES[(index // (words * statuses)) % len(SEARCH_PHASES)],
    }


def search_address(index: int) -> str:
    """The search page for the index-th distinct query."""
    return "/search?" + urlencode(search_params(index))


SCENARIOS.append((SEARCH_SCENARIO, search_address))


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


def build_mirror(folder: Path, trials: int, url: str) -> str:
    """Import the copies (a baseline), then a later day where one trial in 20 changed status."""
    from hemewatch.pipeline.importing import import_files
    from hemewatch.registry.scope import load_scope
    from hemewatch.storage.engine import open_database

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


def mirror_size(url: str) -> int:
    """How many trials the database at the URL holds (0 when it has no schema yet)."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import SQLAlchemyError

    from hemewatch.storage.engine import create_db_engine
    from hemewatch.storage.tables import trials

    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(trials)).scalar_one())
    except SQLAlchemyError:
        return 0
    finally:
        engine.dispose()


# The naive floor: the SQL of a faceted text search written the plain way.
_NAIVE_TEXT = (
    "(lower(t.brief_title) LIKE :p OR lower(t.conditions) LIKE :p OR lower(t.lead_sponsor) LIKE :p"
    " OR lower(t.nct_id) LIKE :p OR t.current_version_id IN"
    " (SELECT version_id FROM trial_therapies WHERE name_folded LIKE :p))"
)
_NAIVE_FILTERS = {
    "status": "t.overall_status = :status",
    "phase": "('|' || t.phases || '|') LIKE :phase",
}


def naive_search(conn: Any, params: dict[str, str]) -> dict[str, Any]:
    """One search page's data: 25 rows, the count, and each facet over the trials matching the rest."""
    from sqlalchemy import text

    values = {
        "p": f"%{params['q'].lower()}%",
        "status": params["status"],
        "phase": f"%|{params['phase']}|%",
    }

    def where(*left_out: str) -> str:
        kept = [clause for name, clause in _NAIVE_FILTERS.items() if name not in left_out]
        return " AND ".join(["t.in_scope", _NAIVE_TEXT, *kept])

    rows = conn.execute(
        text(
            "SELECT t.nct_id, t.brief_title, t.overall_status, t.phases, t.lead_sponsor FROM trials t "
            f"WHERE {where()} ORDER BY t.last_update_post_date DESC LIMIT 25"
        ),
        values,
    ).all()
    total = conn.execute(text(f"SELECT count(*) FROM trials t WHERE {where()}"), values).scalar_one()
    facets: dict[str, dict[str, int]] = {}
    for kind in ("disease", "modality", "target", "setting", "population", "agent"):
        found = conn.execute(
            text(
                "SELECT value, count(DISTINCT version_id) FROM trial_tags "
                "WHERE kind = :kind AND version_id IN "
                f"(SELECT t.current_version_id FROM trials t WHERE {where()}) GROUP BY value"
            ),
            {**values, "kind": kind},
        )
        facets[kind] = {value: int(count) for value, count in found}
    for name, column in (("phase", "phases"), ("status", "overall_status"), ("country", "countries")):
        counter: dict[str, int] = {}
        listed = conn.execute(text(f"SELECT t.{column} FROM trials t WHERE {where(name)}"), values)
        for (value,) in listed:
            for part in (value or "").split("|") if name != "status" else [value]:
                if part:
                    counter[part] = counter.get(part, 0) + 1
        facets[name] = counter
    return {"total": total, "rows": [list(row) for row in rows], "facets": facets}


def naive_app(url: str) -> Any:
    """A minimal ASGI app answering every request with naive_search, in a worker thread."""
    import anyio.to_thread

    from hemewatch.storage.engine import create_db_engine

    engine = create_db_engine(url)

    def answer(query: str) -> bytes:
        params = {key: values[0] for key, values in parse_qs(query).items()}
        with engine.connect() as conn:
            return orjson.dumps(naive_search(conn, params), default=str)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await anyio.to_thread.run_sync(answer, scope["query_string"].decode())
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def serve_child(fd: int, url: str, home: str, *, naive: bool = False) -> None:
    """In the child process: serve the app (or the naive floor) on the inherited socket."""
    import uvicorn

    # The inherited socket is taken as what it is (uvicorn's own `fd=` takes any descriptor for a Unix
    # socket, so asyncio would not turn Nagle's algorithm off on its TCP connections: each response,
    # written as headers then body, would wait ~40 ms for the client's delayed acknowledgement).
    sock = socket.socket(fileno=fd)
    if naive:
        config = uvicorn.Config(naive_app(url), log_level="warning", access_log=False, lifespan="off")
        uvicorn.Server(config).run(sockets=[sock])
        return

    from hemewatch.settings import Settings
    from hemewatch.web.server import served_app

    settings = Settings(home=Path(home), database_url=url, secret_key="bench")
    # Built as `hemewatch serve` builds it (long-lived objects frozen out of the cycle collector).
    config = uvicorn.Config(served_app(settings), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


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


Children = list[subprocess.Popen[bytes]]


def start_server(
    url: str, home: Path, *, naive: bool = False, workers: int = 1
) -> tuple[Children, socket.socket]:
    """Serve hemewatch (or the naive floor) in `workers` child processes sharing a socket opened here.

    As `hemewatch serve --workers N` does: each process accepts connections on the one socket.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    command = [sys.executable, __file__, "--serve-fd", str(sock.fileno()), "--db", url, "--home", str(home)]
    children = [
        subprocess.Popen([*command, *(["--naive"] if naive else [])], pass_fds=[sock.fileno()])
        for _ in range(workers)
    ]
    return children, sock


def stop_server(children: Children, sock: socket.socket) -> None:
    """Stop the children started by start_server."""
    for child in children:
        child.terminate()
    for child in children:
        child.wait(timeout=30)
    sock.close()


def warm_up(base: str, workers: int, address: str = "/") -> float:
    """Seconds until the processes have answered first requests (each reads the database, its templates)."""
    started = time.perf_counter()
    # Concurrent first requests reach each process (a process answering one does not accept the next
    # until it awaits); enough of them that every process gets at least one.
    threads = [
        threading.Thread(target=lambda: httpx.get(f"{base}{address}", timeout=300).raise_for_status())
        for _ in range(max(1, workers * 4) if workers > 1 else 1)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def print_row(name: str, figures: dict[str, float]) -> None:
    """One line of the results table."""
    print(
        f"{name:<56} {figures['first_ms']:>9.1f} {figures['p50_ms']:>8.1f} "
        f"{figures['p95_ms']:>8.1f} {figures['rps']:>8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--keep", type=Path, help="Build the mirror in (or reuse it from) this folder.")
    parser.add_argument(
        "--database-url",
        help="A PostgreSQL database (postgresql+psycopg://…) to build the mirror in or reuse.",
    )
    parser.add_argument(
        "--only", help="Run only the scenarios whose name contains this text (e.g. 'search')."
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Server processes sharing one socket, like `hemewatch serve --workers N` (the floor: as many).",
    )
    parser.add_argument("--serve-fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--naive", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fd is not None:
        serve_child(args.serve_fd, args.db, args.home, naive=args.naive)
        return

    folder = args.keep or Path(tempfile.mkdtemp(prefix="hemewatch-bench-web-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    if mirror_size(url) < args.trials:
        build_mirror(folder, args.trials, url)
    else:
        # An older mirror is brought to the current schema first (a new index is built then).
        from hemewatch.storage.engine import open_database

        started = time.perf_counter()
        open_database(url).dispose()
        print(f"mirror reused: {mirror_size(url)} trials (opened in {time.perf_counter() - started:.1f} s)")
    scenarios = [(name, address) for name, address in SCENARIOS if not args.only or args.only in name]

    workers = args.workers
    children, sock = start_server(url, folder / "home", workers=workers)
    try:
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        # The first request of a process reads the database into the OS cache and compiles templates.
        print(f"process warm-up (front page, first request): {warm_up(base, workers) * 1000:.0f} ms")
        processes = "one server process" if workers == 1 else f"{workers} server processes"
        print(
            f"{args.requests} requests per scenario, {args.concurrency} clients at once, {processes}, "
            f"{make_url(url).get_backend_name()}"
        )
        print(f"{'scenario':<56} {'first ms':>9} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8}")
        results = {}
        for name, address in scenarios:
            results[name] = drive(base, address, args.requests, args.concurrency)
            print_row(name, results[name])
    finally:
        stop_server(children, sock)
    if SEARCH_SCENARIO in results:
        # The same distinct searches, answered by the naive floor in as many processes of its own.
        children, sock = start_server(url, folder / "home", naive=True, workers=workers)
        try:
            floor_base = f"http://127.0.0.1:{sock.getsockname()[1]}"
            warm_up(floor_base, workers, search_address(-1))
            floor = drive(floor_base, search_address, args.requests, args.concurrency)
        finally:
            stop_server(children, sock)
        print_row("naive floor: same searches, LIKE + a query per facet", floor)
        ours = results[SEARCH_SCENARIO]
        print(
            f"hemewatch vs floor: {ours['rps'] / floor['rps']:.1f}x the requests/s, "
            f"p95 {floor['p95_ms'] / ours['p95_ms']:.1f}x lower, "
            f"p50 {floor['p50_ms'] / ours['p50_ms']:.1f}x lower"
        )
    if args.keep is None:
        for path in sorted(folder.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        folder.rmdir()
    print(f"cpu count: {os.cpu_count()}")


if __name__ == "__main__":
    main()
