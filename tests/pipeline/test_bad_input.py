"""Every bad input to `import` is named (file, line or member, why) and the rest of the input is kept."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, select

from hemewatch.pipeline.importing import import_files
from hemewatch.registry.scope import load_scope
from hemewatch.storage.tables import trials
from tests.cli.runner import cli_env, hemewatch


@pytest.fixture(scope="module")
def lines(real_records: Path) -> list[bytes]:
    return (real_records / "ctgov" / "studies.jsonl").read_bytes().splitlines()[:30]


def _nct(line: bytes) -> str:
    return str(orjson.loads(line)["protocolSection"]["identificationModule"]["nctId"])


def _stored(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {row.nct_id for row in conn.execute(select(trials.c.nct_id))}


def test_a_damaged_zip_member_is_named_and_the_other_members_imported(
    engine: Engine, tmp_path: Path, lines: list[bytes]
) -> None:
    path = tmp_path / "registry.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index, line in enumerate(lines[:6]):
            archive.writestr(f"NCT{index}.json", line)
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo("NCT2.json")
    data = bytearray(path.read_bytes())
    # Scramble the middle of one member's deflate stream (its local header is 30 bytes + name).
    start = member.header_offset + 30 + len(member.filename) + member.compress_size // 3
    data[start : start + 64] = bytes(range(64))
    path.write_bytes(bytes(data))
    report = import_files(engine, [path], scope=load_scope())
    assert [r.location for r in report.rejections] == [f"{path}!NCT2.json"]
    assert "damaged archive member" in report.rejections[0].reason
    assert _stored(engine) == {_nct(x) for i, x in enumerate(lines[:6]) if i != 2}


def test_a_truncated_jsonl_gz_keeps_every_complete_line(
    engine: Engine, tmp_path: Path, lines: list[bytes]
) -> None:
    whole = gzip.compress(b"\n".join(lines) + b"\n")
    path = tmp_path / "studies.jsonl.gz"
    path.write_bytes(whole[: len(whole) * 3 // 4])
    complete = zlib.decompressobj(31).decompress(path.read_bytes()).split(b"\n")[:-1]
    assert 5 < len(complete) < len(lines)
    report = import_files(engine, [path], scope=load_scope())
    assert _stored(engine) == {_nct(x) for x in complete}
    assert len(report.rejections) == 1
    assert report.rejections[0].location == f"{path}:{len(complete) + 1}"
    assert "truncated" in report.rejections[0].reason


def test_a_truncated_jsonl_gz_through_the_command(
    tmp_path: Path, sqlite_url: str, lines: list[bytes]
) -> None:
    whole = gzip.compress(b"\n".join(lines) + b"\n")
    path = tmp_path / "studies.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    done = hemewatch("import", str(path), env=cli_env(tmp_path, sqlite_url))
    assert done.returncode == 1
    assert "Aborted" not in done.stderr and "Traceback" not in done.stderr
    assert "studies.jsonl.gz:" in done.stderr and "truncated" in done.stderr


def test_a_deeply_nested_element_of_a_streamed_file_is_refused_by_name(
    engine: Engine, tmp_path: Path, lines: list[bytes]
) -> None:
    # A .json.gz has no known size: it is streamed element by element, like a file over 64 MB.
    deep = b'{"protocolSection": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}"
    path = tmp_path / "page.json.gz"
    path.write_bytes(gzip.compress(b"[" + b",".join([lines[0], deep, lines[1]]) + b"]"))
    report = import_files(engine, [path], scope=load_scope())
    assert [r.location for r in report.rejections] == [f"{path}[1]"]
    assert "Recursion" in report.rejections[0].reason or "nested" in report.rejections[0].reason
    assert _stored(engine) == {_nct(lines[0]), _nct(lines[1])}


def test_a_deeply_nested_line_is_refused_by_name(engine: Engine, tmp_path: Path, lines: list[bytes]) -> None:
    deep = b'{"protocolSection": ' + b'{"a": ' * 400 + b"1" + b"}" * 400 + b"}"
    path = tmp_path / "deep.jsonl"
    path.write_bytes(b"\n".join([lines[0], deep, lines[1]]) + b"\n")
    report = import_files(engine, [path], scope=load_scope())
    assert [r.location for r in report.rejections] == [f"{path}:2"]
    assert _stored(engine) == {_nct(lines[0]), _nct(lines[1])}


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_non_regular_files_are_refused_without_reading_them(
    engine: Engine, tmp_path: Path, lines: list[bytes], kind: str
) -> None:
    good = tmp_path / "good.jsonl"
    good.write_bytes(lines[0] + b"\n")
    if kind == "device":
        odd = Path("/dev/zero")
    else:
        odd = tmp_path / "fifo.jsonl"
        os.mkfifo(odd)  # nobody ever writes to it: opening it would block for ever
    report = import_files(engine, [odd, good], scope=load_scope())
    assert [r.location for r in report.rejections] == [str(odd)]
    assert "not a regular file" in report.rejections[0].reason
    assert _stored(engine) == {_nct(lines[0])}


def test_a_pipe_is_refused_by_the_command(tmp_path: Path, sqlite_url: str) -> None:
    env = cli_env(tmp_path, sqlite_url)
    # `hemewatch import /dev/stdin` with an endless producer on the pipe (`yes`).
    with subprocess.Popen(["yes"], stdout=subprocess.PIPE) as producer:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "hemewatch", "import", "/dev/stdin"],
                stdin=producer.stdout,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        finally:
            producer.kill()
    assert done.returncode == 1
    assert "/dev/stdin" in done.stderr and "not a regular file" in done.stderr
