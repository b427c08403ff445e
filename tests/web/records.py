"""Real demo records, altered for a test and imported into a test's copy of the mirror."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from hemewatch.demo import demo_days
from hemewatch.pipeline.importing import import_files
from hemewatch.registry.scope import load_scope


def demo_study(nct_id: str) -> dict[str, Any]:
    """A copy of the newest bundled demo version of this record."""
    found: dict[str, Any] | None = None
    for day in demo_days():
        with gzip.open(day, "rt", encoding="utf-8") as handle:
            for line in handle:
                study = json.loads(line)
                if study["protocolSection"]["identificationModule"]["nctId"] == nct_id:
                    found = study
    if found is None:
        raise AssertionError(f"{nct_id} is not in the bundled demo data")
    return copy.deepcopy(found)


def import_studies(engine: Engine, studies: list[dict[str, Any]], folder: Path) -> None:
    """Import these records (in order, one file each) as a later import would: changes become events."""
    for position, study in enumerate(studies):
        path = folder / f"record-{position}.jsonl"
        path.write_text(json.dumps(study) + "\n", encoding="utf-8")
        import_files(engine, [path], scope=load_scope(), in_scope_only=True, baseline=False)
