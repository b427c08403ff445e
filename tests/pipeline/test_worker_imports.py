"""An import's worker process classifies records without loading the storage layer."""

from __future__ import annotations

import subprocess
import sys

# A worker imports its module, then classifies: neither may pull in SQLAlchemy (~0.15 s per start).
_WORKER = """
import gzip, sys
import orjson
from hemewatch.pipeline.prepare import classify_for_storage
from hemewatch.demo import demo_days
with gzip.open(demo_days()[0]) as lines:
    study = orjson.loads(lines.readline())
classification, labels = classify_for_storage(study)
assert classification.tags and labels, "nothing classified"
print(sorted(name for name in sys.modules if name.partition(".")[0] in ("sqlalchemy", "alembic")))
print(sorted(name for name in sys.modules if name.startswith("hemewatch.storage.")))
"""


def test_a_worker_classifies_without_sqlalchemy() -> None:
    done = subprocess.run([sys.executable, "-c", _WORKER], capture_output=True, text=True, check=True)
    database, storage = done.stdout.splitlines()
    assert database == "[]"
    # What a worker hands back (storage/prepared.py) and what it needs for that, nothing that stores.
    assert storage == "['hemewatch.storage.codec', 'hemewatch.storage.prepared']"
