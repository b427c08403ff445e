"""Read study records from files: JSONL, one study, an API page, a folder, the registry's json.zip.

Everything is streamed: one line, one zip member or one array element at a time, so the
whole registry (10 GB of JSON) passes through in bounded memory. Bad input never raises:
it is yielded as a Rejection naming the file, the line or element, and why.

Reading (iter_frames: the bytes of each line, file or member) is apart from decoding
(decode_piece) so that an import can decode on worker processes while this one reads.
"""

from __future__ import annotations

import gzip
import io
import json
import stat
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson
import orjson

from hemewatch.errors import HemewatchError
from hemewatch.registry.records import StudyRecord, parse_study, validate_study

# Files larger than this are not loaded whole: arrays inside them are streamed with ijson.
WHOLE_FILE_LIMIT = 64 * 1024 * 1024
_SUFFIXES = (".jsonl", ".ndjson", ".json", ".zip", ".jsonl.gz", ".ndjson.gz", ".json.gz")


@dataclass(frozen=True, slots=True)
class Rejection:
    """A piece of input that is not a valid study record, and why."""

    location: str  # file, file:line, file[index] or archive!member
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


@dataclass(frozen=True, slots=True)
class InputItem:
    """One record or rejection, with the input bytes consumed since the previous item."""

    record: StudyRecord | None
    rejection: Rejection | None
    consumed: int


# What a Piece's bytes hold: one JSONL line, a whole file or archive member, or one element
# of a streamed array (re-serialised).
LINE, DOCUMENT, ELEMENT = 1, 2, 3


@dataclass(frozen=True, slots=True)
class Piece:
    """The bytes of one JSON text found in the input, not yet decoded."""

    kind: int  # LINE, DOCUMENT or ELEMENT
    location: str  # file:line, file, archive!member or file[index]
    data: bytes
    consumed: int  # input bytes consumed, for progress

    def __reduce__(self) -> tuple[type[Piece], tuple[int, str, bytes, int]]:
        # Pieces are pickled to worker processes by the thousand: a plain tuple is twice as fast.
        return Piece, (self.kind, self.location, self.data, self.consumed)


@dataclass(frozen=True, slots=True)
class Value:
    """One decoded JSON value that should be a study, and where it was found."""

    location: str
    obj: Any
    text: bytes | None  # its exact JSON text when the input holds it alone (a line, a file)
    problem: str | None = None  # why it cannot be stored as it is, found while decoding it


# Reading files yields pieces to decode, and items that need no decoding: rejections (an
# unreadable file, a damaged archive) and bytes consumed without a record.
Frame = Piece | InputItem


def _check(found: Value, consumed: int) -> InputItem:
    if found.problem is not None:
        return InputItem(None, Rejection(found.location, found.problem), consumed)
    try:
        record = parse_study(found.obj)
        validate_study(record.study, record.nct_id)
    except HemewatchError as exc:
        return InputItem(None, Rejection(found.location, exc.message), consumed)
    return InputItem(record, None, consumed)


def list_input_files(paths: Sequence[Path]) -> list[Path]:
    """Expand folders into the input files they hold (recursively, sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(_SUFFIXES))
            )
        else:
            found.append(path)
    return found


def total_input_bytes(files: Sequence[Path]) -> int:
    """Sum of the files' sizes (for a progress bar); unreadable files count as zero."""
    total = 0
    for path in files:
        try:
            total += path.stat().st_size
        except OSError:
            continue
    return total


def iter_input_files(files: Sequence[Path]) -> Iterator[InputItem]:
    """Yield every record and rejection found in the files, in order."""
    for frame in iter_frames(files):
        if isinstance(frame, InputItem):
            yield frame
            continue
        consumed = frame.consumed
        for found in decode_piece(frame):
            if isinstance(found, Rejection):
                yield InputItem(None, found, consumed)
            else:
                yield _check(found, consumed)
            consumed = 0
        if consumed:
            yield InputItem(None, None, consumed)


# What reading a damaged or truncated compressed file raises (BadGzipFile is an OSError).
_DAMAGED = (EOFError, zlib.error, zipfile.BadZipFile)


def iter_frames(files: Sequence[Path]) -> Iterator[Frame]:
    """Read the files into pieces to decode, in order; unreadable input becomes rejections.

    What was read from a file before it turned out damaged or truncated is kept.
    """
    for path in files:
        where = _Where(str(path))
        try:
            yield from _iter_file(path, where)
        except _DAMAGED as exc:
            reason = f"damaged or truncated ({exc or type(exc).__name__}); what came before it was read"
            yield InputItem(None, Rejection(where.now, reason), 0)
        except OSError as exc:
            yield InputItem(None, Rejection(where.now, f"cannot read: {exc.strerror or exc}"), 0)


class _Where:
    """Where reading a file has got to (file, file:line or archive!member), to name it on failure."""

    __slots__ = ("now",)

    def __init__(self, start: str) -> None:
        self.now = start


def decode_piece(piece: Piece) -> Iterator[Value | Rejection]:
    """Decode a piece into the values that should be studies (a page or a list holds several)."""
    if piece.kind == LINE:
        yield from _decode_line(piece.data, piece.location)
    elif piece.kind == DOCUMENT:
        yield from _decode_document(piece.data, piece.location)
    else:
        yield Value(piece.location, orjson.loads(piece.data), piece.data)


def _iter_file(path: Path, where: _Where) -> Iterator[Frame]:
    name = path.name.lower()
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        # A device (/dev/zero), a pipe or a FIFO may never end: it is not opened at all.
        yield InputItem(
            None, Rejection(str(path), "not a regular file (a device, pipe or FIFO?); refused"), 0
        )
        return
    size = path.stat().st_size
    if name.endswith(".zip"):
        yield from _iter_zip(path, size, where)
    elif name.endswith(".gz"):
        with gzip.open(path, "rb") as stream:
            yield from _iter_stream(stream, str(path), name[:-3], size=None, disk_size=size, where=where)
    else:
        with path.open("rb") as stream:
            yield from _iter_stream(stream, str(path), name, size=size, disk_size=size, where=where)


def _iter_zip(path: Path, size: int, where: _Where) -> Iterator[Frame]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        yield InputItem(
            None, Rejection(str(path), f"not a readable zip archive ({exc}); is it truncated?"), size
        )
        return
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        for member in members:
            location = f"{path}!{member.filename}"
            if not member.filename.lower().endswith((".json", ".jsonl", ".ndjson")):
                yield InputItem(None, Rejection(location, "not a JSON file; skipped"), member.compress_size)
                continue
            where.now = location
            try:
                with archive.open(member) as stream:
                    yield from _iter_stream(
                        stream,
                        location,
                        member.filename.lower(),
                        size=member.file_size,
                        disk_size=member.compress_size,
                        where=where,
                    )
            except (*_DAMAGED, OSError) as exc:
                reason = f"damaged archive member ({exc or type(exc).__name__}); skipped"
                yield InputItem(None, Rejection(where.now, reason), member.compress_size)


def _iter_stream(
    stream: IO[bytes] | gzip.GzipFile,
    location: str,
    name: str,
    *,
    size: int | None,
    disk_size: int,
    where: _Where,
) -> Iterator[Frame]:
    if name.endswith((".jsonl", ".ndjson")):
        yield from _iter_lines(stream, location, disk_size, where)
        return
    if size is not None and size <= WHOLE_FILE_LIMIT:
        yield Piece(DOCUMENT, location, stream.read(), disk_size)
        return
    yield from _iter_large_document(stream, location, disk_size)


def _iter_lines(
    stream: IO[bytes] | gzip.GzipFile, location: str, disk_size: int, where: _Where
) -> Iterator[Frame]:
    position = 0
    consumed_total = 0
    where.now = f"{location}:1"
    for number, line in enumerate(stream, start=1):
        where.now = f"{location}:{number + 1}"  # where a read that fails now would be
        position += len(line)
        # Compressed inputs report progress in proportion to the decompressed bytes read.
        consumed = len(line) if disk_size >= position else 0
        consumed_total += consumed
        if not line.strip():
            continue
        yield Piece(LINE, f"{location}:{number}", line, consumed)
    remainder = max(disk_size - consumed_total, 0)
    if remainder:
        yield InputItem(None, None, remainder)


def _decode_line(line: bytes, where: str) -> Iterator[Value | Rejection]:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        reason = "invalid JSON (truncated line?)" if not line.endswith(b"\n") else f"invalid JSON: {exc}"
        yield Rejection(where, reason)
        return
    problem = oversized_integer(line)
    if isinstance(obj, dict) and "studies" in obj and "protocolSection" not in obj:
        if problem is not None:
            yield Rejection(where, problem)
            return
        yield from _decode_page(obj, where)
    else:
        yield Value(where, obj, line, problem)


def _decode_page(page: dict[str, Any], location: str) -> Iterator[Value | Rejection]:
    studies = page.get("studies")
    if not isinstance(studies, list):
        yield Rejection(location, "not a study: `studies` is not a list")
        return
    for index, obj in enumerate(studies):
        yield Value(f"{location}[studies {index}]", obj, None)


def _decode_document(data: bytes, location: str) -> Iterator[Value | Rejection]:
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if data.lstrip().startswith(b"{") and b"\n{" in data:
            # One study per line in a file named .json: read it as JSONL.
            for number, line in enumerate(io.BytesIO(data), start=1):
                if line.strip():
                    yield from _decode_line(line, f"{location}:{number}")
            return
        yield Rejection(location, f"invalid JSON (truncated file?): {exc}")
        return
    problem = oversized_integer(data)
    if problem is not None and not (isinstance(obj, dict) and "protocolSection" in obj):
        yield Rejection(location, problem)
        return
    if isinstance(obj, list):
        for index, item in enumerate(obj):
            yield Value(f"{location}[{index}]", item, None)
    elif isinstance(obj, dict) and "studies" in obj and "protocolSection" not in obj:
        yield from _decode_page(obj, location)
    else:
        yield Value(location, obj, data, problem)


# Digits as "0", everything else as a space: a run of 20 zeros is a number of 20 digits or more.
_DIGITS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_NUMBER = b"0" * 20
_INT_RANGE = (-(2**63), 2**64 - 1)  # what orjson decodes as an integer; beyond, it gives a float


def oversized_integer(text: bytes) -> str | None:
    """Say where the JSON text holds an integer orjson would silently turn into a float, if it does."""
    # A fast scan first (C speed); the exact decoding below only runs for the rare text with a long number.
    if _LONG_NUMBER not in text.translate(_DIGITS):
        return None
    try:
        decoded = json.loads(text)
    except ValueError:
        return None
    pending: list[tuple[str, Any]] = [("", decoded)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, dict):
            pending.extend((f"{path}.{key}" if path else str(key), item) for key, item in value.items())
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
        elif type(value) is int and not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            shown = str(value)
            return (
                f"{path or 'the value'}: the integer {shown[:12]}... ({len(shown)} digits) is beyond 64 bits"
            )
    return None


def _iter_large_document(stream: IO[bytes] | gzip.GzipFile, location: str, disk_size: int) -> Iterator[Frame]:
    head = stream.read(4096)
    first = head.lstrip()[:1]
    prefix = "item" if first == b"[" else "studies.item"
    chained = _Chained(head, stream)
    index = -1
    try:
        for index, obj in enumerate(ijson.items(chained, prefix, use_float=True)):
            # Serialised again so that every piece is bytes (what a worker process is sent).
            try:
                data = orjson.dumps(obj)
            except orjson.JSONEncodeError as exc:  # nested too deeply, or an integer beyond 64 bits
                yield InputItem(None, Rejection(f"{location}[{index}]", f"cannot be stored: {exc}"), 0)
                continue
            yield Piece(ELEMENT, f"{location}[{index}]", data, 0)
    except ijson.JSONError as exc:
        yield InputItem(
            None, Rejection(f"{location}[{index + 1}]", f"invalid JSON (truncated file?): {exc}"), 0
        )
    except ijson.IncompleteJSONError as exc:  # pragma: no cover - subclass of JSONError in most backends
        yield InputItem(None, Rejection(f"{location}[{index + 1}]", f"truncated JSON: {exc}"), 0)
    if index < 0:
        yield InputItem(None, Rejection(location, "no studies found (expected a study, a list or a page)"), 0)
    yield InputItem(None, None, disk_size)


class _Chained:
    """A read-only stream that first returns already-read bytes, then the rest of another stream."""

    def __init__(self, head: bytes, rest: IO[bytes] | gzip.GzipFile) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        """Read up to size bytes (all remaining when size < 0)."""
        if not self._head:
            return self._rest.read(size)
        if 0 <= size < len(self._head):
            chunk, self._head = self._head[:size], self._head[size:]
            return chunk
        chunk, self._head = self._head, b""
        if size < 0:
            return chunk + self._rest.read()
        return chunk + self._rest.read(size - len(chunk))
