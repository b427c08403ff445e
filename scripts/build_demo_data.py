"""Rebuild the demo data bundled in the package from the real records in ../shared/data/ctgov.

Usage: python scripts/build_demo_data.py [SHARED_DATA_DIR]

Registry day 1 is every leukemia-area record, unchanged. (Later registry days are derived
from the same real records by pipeline changes documented in docs/demo.md.)
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "hemewatch" / "demo"


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    source = shared / "ctgov" / "studies.jsonl"
    lines = [line for line in source.read_bytes().splitlines() if line.strip()]
    # mtime=0 keeps the archive byte-identical between rebuilds.
    with gzip.GzipFile(TARGET / "day1.jsonl.gz", "wb", compresslevel=9, mtime=0) as out:
        for line in lines:
            out.write(line + b"\n")
    print(f"wrote {len(lines)} studies to {TARGET / 'day1.jsonl.gz'}")


if __name__ == "__main__":
    main()
