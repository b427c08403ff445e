"""The real ClinicalTrials.gov records and gold labels the tests read, bundled in the repository.

`tests/data/real-records.tar.xz` holds, unchanged, the files of the project's reference data that tests
use (provenance in tests/data/PROVENANCE.md). They are unpacked once per test process into a
temporary folder laid out as the reference data is (`ctgov/…`, `gold/…`), removed at exit.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tarfile
import tempfile
from pathlib import Path

ARCHIVE = Path(__file__).resolve().parent / "data" / "real-records.tar.xz"


@functools.cache
def real_data() -> Path:
    """The folder of the unpacked records: `ctgov/studies.jsonl`, `gold/labels.jsonl`, …"""
    target = Path(tempfile.mkdtemp(prefix="hemewatch-real-data-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    with tarfile.open(ARCHIVE, "r:xz") as archive:
        archive.extractall(target, filter="data")
    return target / "data"
