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
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson
import orjson

from hemewatch.errors import HemewatchError
from hemewatch.registry.records import StudyRecord, parse_study

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


# Reading files yields pieces to decode, and items that need no decoding: rejections (an
# unreadable file, a damaged archive) and bytes consumed without a record.
Frame = Piece | InputItem


def _check(obj: Any, location: str, consumed: int) -> InputItem:
    try:
        return InputItem(parse_study(obj), None, consumed)
    except HemewatchError as exc:
        return InputItem(None, Rejection(location, exc.message), consumed)


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
                yield _check(found.obj, found.location, consumed)
            consumed = 0
        if consumed:
            yield InputItem(None, None, consumed)


def iter_frames(files: Sequence[Path]) -> Iterator[Frame]:
    """Read the files into pieces to decode, in order; unreadable input becomes rejections."""
    for path in files:
        try:
            yield from _iter_file(path)
        except OSError as exc:
            yield InputItem(None, Rejection(str(path), f"cannot read: {exc.strerror or exc}"), 0)


def decode_piece(piece: Piece) -> Iterator[Value | Rejection]:
    """Decode a piece into the values that should be studies (a page or a list holds several)."""
    if piece.kind == LINE:
        yield from _decode_line(piece.data, piece.location)
    elif piece.kind == DOCUMENT:
        yield from _decode_document(piece.data, piece.location)
    else:
        yield Value(piece.location, orjson.loads(piece.data), piece.data)


def _iter_file(path: Path) -> Iterator[Frame]:
    name = path.name.lower()
    size = path.stat().st_size
    if name.endswith(".zip"):
        yield from _iter_zip(path, size)
    elif name.endswith(".gz"):
        with gzip.open(path, "rb") as stream:
            yield from _iter_stream(stream, str(path), name[:-3], size=None, disk_size=size)
    else:
        with path.open("rb") as stream:
            yield from _iter_stream(stream, str(path), name, size=size, disk_size=size)


def _iter_zip(path: Path, size: int) -> Iterator[Frame]:
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
            try:
                with archive.open(member) as stream:
                    yield from _iter_stream(
                        stream,
                        location,
                        member.filename.lower(),
                        size=member.file_size,
                        disk_size=member.compress_size,
                    )
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                yield InputItem(
                    None, Rejection(location, f"damaged archive member: {exc}"), member.compress_size
                )


def _iter_stream(
    stream: IO[bytes] | gzip.GzipFile, location: str, name: str, *, size: int | None, disk_size: int
) -> Iterator[Frame]:
    if name.endswith((".jsonl", ".ndjson")):
        yield from _iter_lines(stream, location, disk_size)
        return
    if size is not None and size <= WHOLE_FILE_LIMIT:
        yield Piece(DOCUMENT, location, stream.read(), disk_size)
        return
    yield from _iter_large_document(stream, location, disk_size)


def _iter_lines(stream: IO[bytes] | gzip.GzipFile, location: str, disk_size: int) -> Iterator[Frame]:
    position = 0
    consumed_total = 0
    for number, line in enumerate(stream, start=1):
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
    if isinstance(obj, dict) and "studies" in obj and "protocolSection" not in obj:
        yield from _decode_page(obj, where)
    else:
        yield Value(where, obj, line)


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
    if isinstance(obj, list):
        for index, item in enumerate(obj):
            yield Value(f"{location}[{index}]", item, None)
    elif isinstance(obj, dict) and "studies" in obj and "protocolSection" not in obj:
        yield from _decode_page(obj, location)
    else:
        yield Value(location, obj, data)


def _iter_large_document(stream: IO[bytes] | gzip.GzipFile, location: str, disk_size: int) -> Iterator[Frame]:
    head = stream.read(4096)
    first = head.lstrip()[:1]
    prefix = "item" if first == b"[" else "studies.item"
    chained = _Chained(head, stream)
    index = -1
    try:
        for index, obj in enumerate(ijson.items(chained, prefix, use_float=True)):
            # Serialised again so that every piece is bytes (what a worker process is sent).
            yield Piece(ELEMENT, f"{location}[{index}]", orjson.dumps(obj), 0)
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
