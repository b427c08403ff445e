"""The importer's hand-off to its worker processes survives short reads and stop/continue signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
from sqlalchemy import select

from hemewatch.pipeline.prepare import read_message, write_message
from hemewatch.storage.engine import open_database
from hemewatch.storage.tables import study_versions, sync_runs, trials

DEADLINE = 120.0

_IMPORT = """
import sys
from pathlib import Path
from hemewatch.pipeline.importing import import_files
from hemewatch.registry.scope import load_scope
from hemewatch.storage.engine import open_database
engine = open_database(sys.argv[1])
report = import_files(engine, [Path(sys.argv[2])], scope=load_scope(), workers=2)
print(report.stored, report.rejected)
"""


def test_a_message_arriving_in_pieces_is_read_whole() -> None:
    # A pipe holds 64 KB: a 1 MB message reaches an unbuffered reader in many short reads.
    reading, writing = os.pipe()
    message = {"payload": os.urandom(1 << 20)}
    with open(reading, "rb", buffering=0) as source, open(writing, "wb") as sink:
        writer = threading.Thread(target=write_message, args=(sink, message))
        writer.start()
        try:
            assert read_message(source) == message
        finally:
            writer.join(timeout=DEADLINE)


def _records(real_records: Path, copies: int) -> bytes:
    """Real records replicated with fresh NCT ids: enough for an import that takes a while."""
    lines = (real_records / "ctgov" / "studies.jsonl").read_bytes().splitlines()
    out = []
    for copy in range(copies):
        for index, line in enumerate(lines):
            study = orjson.loads(line)
            study["protocolSection"]["identificationModule"]["nctId"] = f"NCT9{copy:03d}{index:04d}"
            out.append(orjson.dumps(study))
    return b"\n".join(out) + b"\n"


def _start(db_url: str, path: Path) -> subprocess.Popen[str]:
    # Its own session: stopping its process group stops the importer and its workers, as Ctrl-Z does.
    return subprocess.Popen(
        [sys.executable, "-c", _IMPORT, db_url, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _fetched(db_url: str) -> int:
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(sync_runs.c.fetched)).scalar_one_or_none() or 0)
    finally:
        engine.dispose()


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _mirror(db_url: str) -> tuple[set[tuple[str, str]], int]:
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            versions = {(r.nct_id, r.content_hash) for r in conn.execute(select(study_versions))}
            count = len(conn.execute(select(trials.c.nct_id)).all())
            return versions, count
    finally:
        engine.dispose()


def test_an_import_stopped_and_resumed_ends_like_an_uninterrupted_one(
    tmp_path: Path, real_records: Path
) -> None:
    path = tmp_path / "studies.jsonl"
    path.write_bytes(_records(real_records, 40))
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    stopped_url = f"sqlite:///{tmp_path / 'stopped.db'}"
    open_database(stopped_url).dispose()  # migrated up front, so the run row can be polled

    clean = _start(clean_url, path)
    clean_out, clean_err = clean.communicate(timeout=300)
    assert clean.returncode == 0, clean_err

    process = _start(stopped_url, path)
    try:
        deadline = time.monotonic() + DEADLINE
        # Stop it while the workers are busy: once the first batch is stored, before the end.
        while _fetched(stopped_url) == 0 and process.poll() is None:
            assert time.monotonic() < deadline, "the import never stored a batch"
        stops = 0
        while process.poll() is None and stops < 5:
            os.killpg(process.pid, signal.SIGSTOP)
            while process.poll() is None and _state(process.pid) != "T":
                assert time.monotonic() < deadline, "the import did not stop"
            os.killpg(process.pid, signal.SIGCONT)
            stops += 1
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert stops >= 1
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert out == clean_out
    assert _mirror(stopped_url) == _mirror(clean_url)
