"""Time to reclassify a whole database, and classification throughput inside the pipeline.

    python bench/bench_reclassify.py [--copies 50]

Imports `--copies` copies of the real leukemia-area records (fresh NCT ids, so every one is
a watched trial) into a fresh SQLite database, then times `reclassify --force` over every
stored version: reading, decompressing, classifying and writing tags back.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import orjson

from hemewatch.classification import default_lexicon
from hemewatch.pipeline.importing import import_files
from hemewatch.pipeline.reclassify import reclassify
from hemewatch.registry.scope import load_scope
from hemewatch.storage.engine import open_database

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ctgov"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=50)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hemewatch-reclassify-"))
    try:
        lines = (SHARED / "studies.jsonl").read_bytes().splitlines()
        scope = load_scope()
        watched = [orjson.loads(x) for x in lines if scope.matches(orjson.loads(x))]
        path = folder / "input.jsonl"
        with path.open("wb") as out:
            for copy in range(args.copies):
                for index, study in enumerate(watched):
                    study["protocolSection"]["identificationModule"]["nctId"] = f"NCT9{copy:03d}{index:04d}"
                    out.write(orjson.dumps(study) + b"\n")
        engine = open_database(f"sqlite:///{folder / 'bench.db'}")
        lexicon = default_lexicon()
        count = args.copies * len(watched)
        started = time.perf_counter()
        import_files(engine, [path], scope=scope)
        imported = time.perf_counter() - started
        started = time.perf_counter()
        done = reclassify(engine, lexicon=lexicon, force=True)
        seconds = time.perf_counter() - started
        engine.dispose()
        print(
            f"{count} watched trials imported and classified in {imported:.1f} s: {count / imported:,.0f}/s"
        )
        print(f"reclassify --force: {done} versions in {seconds:.1f} s: {done / seconds:,.0f} versions/s")
        print(
            f"projected for the whole acute leukemia scope (~15,000 trials): {15000 / (done / seconds):.0f} s"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
