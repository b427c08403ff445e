"""A mirror with real data for the web tests: the two bundled registry days and one hostile record."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Final

from hemewatch.demo import demo_days
from hemewatch.pipeline.importing import import_files
from hemewatch.registry.scope import load_scope
from hemewatch.storage.engine import open_database

# A real record (CB-103 + venetoclax in T-ALL) under a fresh id, with a title that is an attack.
HOSTILE_SOURCE: Final = "NCT05464836"
HOSTILE_ID: Final = "NCT99999901"
HOSTILE_TITLE: Final = '<script>alert("pwned")</script> <img src=x onerror=alert(1)> & "Venetoclax"'


def hostile_record(folder: Path) -> Path:
    """A JSONL file holding the hostile copy of a real day-1 record."""
    with gzip.open(demo_days()[0], "rt", encoding="utf-8") as handle:
        for line in handle:
            study = json.loads(line)
            ident = study["protocolSection"]["identificationModule"]
            if ident["nctId"] == HOSTILE_SOURCE:
                ident["nctId"] = HOSTILE_ID
                ident["briefTitle"] = HOSTILE_TITLE
                path = folder / "hostile.jsonl"
                path.write_text(json.dumps(study) + "\n", encoding="utf-8")
                return path
    raise AssertionError(f"{HOSTILE_SOURCE} is not in the bundled demo data")


def build_mirror(folder: Path, demo: Path | None = None) -> str:
    """A SQLite mirror with both demo days (tags and change events included) and the hostile record.

    `demo`: a database holding the demo days already (tests/conftest.py `sqlite_demo_template`), copied
    instead of importing them again.
    """
    path = folder / "mirror.db"
    url = f"sqlite:///{path}"
    if demo is not None:
        shutil.copyfile(demo, path)
    engine = open_database(url)
    try:
        scope = load_scope()
        if demo is None:
            for day in demo_days():
                import_files(engine, [day], scope=scope, in_scope_only=True, source="demo")
        import_files(engine, [hostile_record(folder)], scope=scope, in_scope_only=True)
    finally:
        engine.dispose()
    return url
