"""`import_files`: every input format, bad input named and skipped, nothing duplicated."""

from __future__ import annotations

import gzip
import os
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select

from hemewatch.pipeline import importing, pool
from hemewatch.pipeline.importing import import_files
from hemewatch.pipeline.pool import PreparePool, WorkerFailed
from hemewatch.registry import bulk
from hemewatch.registry.scope import load_scope
from hemewatch.storage.runs import mirror_summary
from hemewatch.storage.tables import study_versions, trials


@pytest.fixture(scope="module")
def lines(real_records: Path) -> list[bytes]:
    return (real_records / "ctgov" / "studies.jsonl").read_bytes().splitlines()[:40]


def _nct(line: bytes) -> str:
    return str(orjson.loads(line)["protocolSection"]["identificationModule"]["nctId"])


def _stored_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {row.nct_id for row in conn.execute(select(trials.c.nct_id))}


def _version_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(study_versions)).scalar_one())


def _children() -> list[int]:
    """Processes whose parent is this one (Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            found.append(int(stat.parent.name))
    return found


# Small inputs are prepared in this process; 2 forces the worker processes of large ones.
@pytest.mark.parametrize("workers", [0, 2])
def test_every_input_format(engine: Engine, tmp_path: Path, lines: list[bytes], workers: int) -> None:
    (tmp_path / "a.jsonl").write_bytes(b"\n".join(lines[0:10]) + b"\n")
    (tmp_path / "one.json").write_bytes(lines[10])
    page = {"studies": [orjson.loads(x) for x in lines[11:15]], "nextPageToken": "abc"}
    (tmp_path / "page.json").write_bytes(orjson.dumps(page))
    (tmp_path / "list.json").write_bytes(b"[" + b",".join(lines[15:18]) + b"]")
    with gzip.open(tmp_path / "b.jsonl.gz", "wb") as gz:
        gz.write(b"\n".join(lines[18:22]) + b"\n")
    folder = tmp_path / "nested" / "deeper"
    folder.mkdir(parents=True)
    (folder / "c.ndjson").write_bytes(b"\n".join(lines[22:25]))
    with zipfile.ZipFile(tmp_path / "ctg-studies.json.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for line in lines[25:40]:
            archive.writestr(f"{_nct(line)}.json", line)
    (tmp_path / "notes.txt").write_text("not input")

    report = import_files(engine, [tmp_path], scope=load_scope(), workers=workers)

    assert report.rejected == 0, report.rejections
    assert report.read == 40
    assert _stored_ids(engine) == {_nct(line) for line in lines}
    assert report.stored == 40 and report.new_trials == 40


@pytest.mark.parametrize("workers", [0, 2])
def test_bad_input_is_named_and_the_good_records_are_stored(
    engine: Engine, tmp_path: Path, lines: list[bytes], workers: int
) -> None:
    bad = tmp_path / "mixed.jsonl"
    partial = orjson.loads(lines[3])
    del partial["protocolSection"]["statusModule"]
    bad.write_bytes(
        b"\n".join(
            [
                lines[0],
                b'{"protocolSection": {"identificationModule": {"nctId": "NCT123"}}}',
                b"[1, 2, 3]",
                b"{not json",
                lines[1],
                b'{"hello": "world"}',
                orjson.dumps(partial),
                b"",
                lines[2][: len(lines[2]) // 2],  # truncated last line
            ]
        )
    )
    report = import_files(engine, [bad], scope=load_scope(), workers=workers)
    assert [r.location.rsplit(":", 1)[1] for r in report.rejections] == ["2", "3", "4", "6", "7", "9"]
    reasons = {r.location.rsplit(":", 1)[1]: r.reason for r in report.rejections}
    assert set(reasons) == {"2", "3", "4", "6", "7", "9"}
    assert "invalid NCT id" in reasons["2"]
    assert "not a study" in reasons["3"]
    assert "invalid JSON" in reasons["4"]
    assert "no protocolSection" in reasons["6"]
    assert "partial record" in reasons["7"]
    assert "truncated" in reasons["9"]
    assert _stored_ids(engine) == {_nct(lines[0]), _nct(lines[1])}
    with engine.connect() as conn:
        last = mirror_summary(conn)["last_import"]
    assert last["status"] == "completed_issues" and last["counts"]["rejected"] == 6


def test_truncated_and_unreadable_files_do_not_stop_the_others(
    engine: Engine, tmp_path: Path, lines: list[bytes]
) -> None:
    with zipfile.ZipFile(tmp_path / "whole.zip", "w") as archive:
        archive.writestr("x.json", lines[0])
    data = (tmp_path / "whole.zip").read_bytes()
    (tmp_path / "broken.zip").write_bytes(data[: len(data) // 2])
    (tmp_path / "whole.zip").unlink()
    (tmp_path / "cut.json").write_bytes(lines[1][:-40])
    (tmp_path / "good.jsonl").write_bytes(lines[2] + b"\n")
    report = import_files(engine, [tmp_path], scope=load_scope())
    locations = sorted(Path(r.location).name for r in report.rejections)
    assert locations == ["broken.zip", "cut.json"]
    assert _stored_ids(engine) == {_nct(lines[2])}


def test_importing_again_stores_nothing_new(engine: Engine, tmp_path: Path, lines: list[bytes]) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    first = import_files(engine, [path], scope=load_scope())
    second = import_files(engine, [path, path], scope=load_scope())
    assert first.stored == len(lines)
    assert second.stored == 0 and second.unchanged == 2 * len(lines)
    assert _version_count(engine) == len(lines)


def test_in_scope_only_keeps_only_watched_trials(engine: Engine, tmp_path: Path, real_records: Path) -> None:
    leukemia = (real_records / "ctgov" / "studies.jsonl").read_bytes().splitlines()
    others = (real_records / "ctgov" / "other_studies.jsonl").read_bytes().splitlines()[:200]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(leukemia + others) + b"\n")
    report = import_files(engine, [path], scope=load_scope(), in_scope_only=True)
    scope = load_scope()
    expected = {_nct(x) for x in leukemia + others if scope.matches(orjson.loads(x))}
    assert _stored_ids(engine) == expected
    assert report.out_of_scope == len(leukemia) + len(others) - len(expected)
    assert 80 <= len(expected) < len(leukemia)


def test_large_json_pages_are_streamed(
    engine: Engine, tmp_path: Path, lines: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Files over the whole-file limit go through the streaming parser; lower the limit to test it.
    monkeypatch.setattr(bulk, "WHOLE_FILE_LIMIT", 1000)
    page: dict[str, Any] = {"studies": [orjson.loads(x) for x in lines[:12]], "totalCount": 12}
    (tmp_path / "page.json").write_bytes(orjson.dumps(page))
    (tmp_path / "list.json").write_bytes(b"[" + b",".join(lines[12:20]) + b"]")
    (tmp_path / "cut.json").write_bytes(b"[" + b",".join(lines[20:23])[:-500])
    report = import_files(engine, [tmp_path], scope=load_scope())
    assert _stored_ids(engine) == {_nct(x) for x in lines[:22]}
    assert [Path(r.location).name for r in report.rejections] == ["cut.json[2]"]


def test_a_worker_failure_stops_the_import_and_its_workers(
    engine: Engine, tmp_path: Path, lines: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    def broken(files: Sequence[Path]) -> Iterator[bulk.Frame]:
        yield from bulk.iter_frames(files)
        # An element piece is re-serialised by the reader and always valid: this one makes
        # the worker itself fail, as a bug would.
        yield bulk.Piece(bulk.ELEMENT, "broken[0]", b"{", 1)

    monkeypatch.setattr(importing, "iter_frames", broken)
    with pytest.raises(WorkerFailed, match="JSONDecodeError"):
        import_files(engine, [path], scope=load_scope(), workers=2)
    assert _children() == []
    with engine.connect() as conn:
        last = mirror_summary(conn)["last_import"]
    assert last["status"] == "failed"


def test_an_interrupted_import_stops_its_workers_and_a_rerun_completes_it(
    engine: Engine, tmp_path: Path, lines: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    monkeypatch.setattr(importing, "BATCH_RECORDS", 10)
    monkeypatch.setattr(pool, "CHUNK_PIECES", 4)

    def interrupted(files: Sequence[Path]) -> Iterator[bulk.Frame]:
        for index, frame in enumerate(bulk.iter_frames(files)):
            if index == 35:
                raise KeyboardInterrupt  # as Ctrl-C would, while batches are being stored
            yield frame

    monkeypatch.setattr(importing, "iter_frames", interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_files(engine, [path], scope=load_scope(), workers=2)
    assert _children() == []
    with engine.connect() as conn:
        assert mirror_summary(conn)["last_import"]["status"] == "failed"
    partial = _version_count(engine)
    assert 0 < partial < len(lines)

    monkeypatch.undo()
    report = import_files(engine, [path], scope=load_scope(), workers=2)
    assert report.stored == len(lines) - partial and report.unchanged == partial
    assert _version_count(engine) == len(lines)


def test_the_pool_gives_the_outcomes_in_input_order(tmp_path: Path, lines: list[bytes]) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n{oops\n")
    frames = list(bulk.iter_frames([path]))
    with PreparePool(load_scope(), workers=3) as preparer:
        outcomes = [outcome for _, found in preparer.prepare(frames) for outcome in found]
    assert [getattr(o, "nct_id", None) for o in outcomes[:-1]] == [_nct(line) for line in lines]
    assert isinstance(outcomes[-1], bulk.Rejection) and outcomes[-1].location.endswith(f":{len(lines) + 1}")
    assert all(o.source == line + b"\n" for o, line in zip(outcomes, lines, strict=False))
