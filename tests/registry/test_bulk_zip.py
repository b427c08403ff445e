"""The streaming zip reader: every kind of member zipfile writes, read one at a time; damage is named."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from hemewatch.registry.bulk import (
    InputItem,
    Piece,
    _zip64_sizes,
    iter_frames,
    iter_zip_members,
)

BIG = b'{"protocolSection": {"note": "' + b"x" * 700_000 + b'"}}'  # several read chunks


class _Unseekable:
    """A write-only stream: zipfile then writes each member's sizes in a data descriptor after it."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()

    def write(self, data: bytes) -> int:
        return self.buffer.write(data)

    def flush(self) -> None:
        pass


def _contents(path: Path) -> dict[str, bytes]:
    """What zipfile reads from the archive (the reference)."""
    with zipfile.ZipFile(path) as archive:
        return {m.filename: archive.read(m) for m in archive.infolist()}


def _streamed(path: Path) -> dict[str, bytes]:
    found = {}
    for member in iter_zip_members(path):
        with member.open() as stream:
            found[member.name] = stream.read()
    return found


def _write(archive: zipfile.ZipFile) -> None:
    archive.writestr("a.json", b'{"a": 1}')
    archive.writestr("big.json", BIG)
    archive.writestr("empty.json", b"")
    archive.writestr("folder/", b"")
    archive.writestr("lines.jsonl", b'{"x": 1}\n{"x": 2}\n')
    archive.writestr("caf\u00e9.json", b"[]")  # a UTF-8 name
    with archive.open("zip64.json", "w", force_zip64=True) as stream:
        stream.write(b'{"zip64": true}')


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
def test_members_read_as_zipfile_reads_them(tmp_path: Path, method: int) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", method) as archive:
        _write(archive)
    streamed = _streamed(path)
    assert streamed == _contents(path)
    assert streamed["big.json"] == BIG and len(streamed) == 7


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
def test_data_descriptors_and_data_before_the_archive(tmp_path: Path, method: int) -> None:
    sink = _Unseekable()
    with zipfile.ZipFile(sink, "w", method) as archive:  # type: ignore[arg-type]
        _write(archive)
    path = tmp_path / "descriptors.zip"
    path.write_bytes(b"#!/bin/sh\nexit 0\n" + sink.buffer.getvalue())  # like a self-extracting archive
    members = list(iter_zip_members(path))
    assert all(m.flags & 0x08 for m in members if not m.is_dir)  # sizes after the data
    assert _streamed(path) == _contents(path)


def test_jsonl_members_are_read_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lines.jsonl", b'{"x": 1}\n\n{"x": 2}\n')
    pieces = [f for f in iter_frames([path]) if isinstance(f, Piece)]
    assert [(p.location, p.data) for p in pieces] == [
        (f"{path}!lines.jsonl:1", b'{"x": 1}\n'),
        (f"{path}!lines.jsonl:3", b'{"x": 2}\n'),
    ]


def test_a_zip64_archive_with_more_members_than_a_plain_zip_holds(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    count = 65_536  # more than the 65,535 a plain end record counts: zipfile writes the zip64 one
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for index in range(count):
            archive.writestr(f"NCT{index:08d}.json", b"{}")
    with path.open("rb") as stream:
        assert b"PK\x06\x06" in stream.read()[-200:]  # the zip64 end of central directory
    names = [m.name for m in iter_zip_members(path)]
    assert len(names) == count and names[-1] == f"NCT{count - 1:08d}.json"
    pieces = sum(1 for f in iter_frames([path]) if isinstance(f, Piece))
    assert pieces == count


def test_zip64_extra_fields_give_the_sizes_and_offset_the_entry_leaves_out() -> None:
    full = 0xFFFFFFFF
    extra = struct.pack("<2H", 0x5455, 5) + b"\x01" * 5  # another field first (a timestamp)
    extra += struct.pack("<2H3Q", 0x0001, 24, 5_000_000_000, 4_000_000_000, 6_000_000_000)
    assert _zip64_sizes(extra, full, full, full) == (5_000_000_000, 4_000_000_000, 6_000_000_000)
    # Only the fields marked 0xFFFFFFFF are in the extra field, in that order.
    only_offset = struct.pack("<2HQ", 0x0001, 8, 7_000_000_000)
    assert _zip64_sizes(only_offset, 10, 8, full) == (10, 8, 7_000_000_000)
    with pytest.raises(zipfile.BadZipFile):
        _zip64_sizes(b"", full, 8, 0)


def test_a_truncated_archive_is_named_and_the_next_file_still_read(tmp_path: Path) -> None:
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w", zipfile.ZIP_DEFLATED) as archive:
        _write(archive)
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    with pytest.raises(zipfile.BadZipFile):
        list(iter_zip_members(cut))
    frames = list(iter_frames([cut, whole]))
    rejections = [f.rejection for f in frames if isinstance(f, InputItem) and f.rejection is not None]
    assert [(r.location, "is it truncated?" in r.reason) for r in rejections] == [(str(cut), True)]
    assert sum(1 for f in frames if isinstance(f, Piece)) == 7  # every member of the whole archive


def test_a_damaged_member_is_named_and_the_others_read(tmp_path: Path) -> None:
    path = tmp_path / "damaged.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.json", b'{"a": 1}')
        archive.writestr("b.json", b'{"b": 2}')
        archive.writestr("c.json", b'{"c": 3}')
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo("b.json")
    data = bytearray(path.read_bytes())
    data[member.header_offset + 30 + len("b.json") + 2] ^= 0xFF  # one byte of its data: a bad CRC
    path.write_bytes(bytes(data))
    frames = list(iter_frames([path]))
    rejections = [f.rejection for f in frames if isinstance(f, InputItem) and f.rejection is not None]
    assert [r.location for r in rejections] == [f"{path}!b.json"]
    assert "damaged archive member" in rejections[0].reason and "CRC" in rejections[0].reason
    assert [f.data for f in frames if isinstance(f, Piece)] == [b'{"a": 1}', b'{"c": 3}']


def test_encrypted_and_unsupported_members_are_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "odd.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.json", b"{}")
        archive.writestr("b.json", b"{}")
        archive.writestr("c.json", b"{}")
    data = bytearray(path.read_bytes())
    # In the central directory: a.json encrypted (flag bit 0), b.json bzip2-compressed (method 12).
    first = data.find(b"PK\x01\x02")
    struct.pack_into("<H", data, first + 8, 0x1)
    second = data.find(b"PK\x01\x02", first + 4)
    struct.pack_into("<H", data, second + 10, 12)
    path.write_bytes(bytes(data))
    frames = list(iter_frames([path]))
    rejections = [f.rejection for f in frames if isinstance(f, InputItem) and f.rejection is not None]
    assert [r.location for r in rejections] == [f"{path}!a.json", f"{path}!b.json"]
    assert "encrypted" in rejections[0].reason
    assert "compression method 12 is not supported" in rejections[1].reason
    assert [f.location for f in frames if isinstance(f, Piece)] == [f"{path}!c.json"]
