"""A long import leaves no cyclic garbage behind its batches, though it pauses the cycle collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine

from hemewatch.pipeline import importing
from hemewatch.pipeline.importing import import_files
from hemewatch.registry.scope import load_scope


@pytest.fixture
def collector_paused() -> Iterator[None]:
    """The collector off, as in a process that disabled it: only the import's own collections run."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _renumbered(line: bytes, number: int) -> bytes:
    study = orjson.loads(line)
    study["protocolSection"]["identificationModule"]["nctId"] = f"NCT{91000000 + number:08d}"
    return orjson.dumps(study)


@pytest.mark.usefixtures("collector_paused")
def test_the_batches_garbage_is_collected_during_the_import(
    engine: Engine, tmp_path: Path, real_records: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 120 records in batches of 4: 30 batches, each leaving the cycles of its statements behind.
    monkeypatch.setattr(importing, "BATCH_RECORDS", 4)
    sources = (real_records / "ctgov" / "studies.jsonl").read_bytes().splitlines()
    path = tmp_path / "many.jsonl"
    path.write_bytes(b"\n".join(_renumbered(sources[i % len(sources)], i) for i in range(120)) + b"\n")
    gc.collect()

    report = import_files(engine, [path], scope=load_scope(), workers=0)

    assert report.read == 120
    assert not gc.isenabled()  # the import restores the collector as it found it
    # What the last batches left is collected with them; without it, every batch's cycles remain.
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        left = gc.collect()
        kinds = {type(item).__name__ for item in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left < 200, (left, sorted(kinds)[:20])
