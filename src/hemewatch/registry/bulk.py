"""Read study records from files: JSONL, one study, an API page, a folder, the registry's json.zip.

Everything is streamed: one line, one zip member or one array element at a time, so the
whole registry (10 GB of JSON) passes through in bounded memory. A zip archive's central
directory is read one entry at a time too (iter_zip_members), never held whole: the
registry's ~600,000 members would cost zipfile ~400 MB of ZipInfo objects. Bad input never raises:
it is yielded as a Rejection naming the file, the line or element, and why.

Reading (iter_frames: the bytes of each line, file or member) is apart from decoding
(decode_piece) so that an import can decode on worker processes while this one reads.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import stat
import struct
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
        members = iter_zip_members(path)
        first = next(members, None)
    except zipfile.BadZipFile as exc:
        yield InputItem(
            None, Rejection(str(path), f"not a readable zip archive ({exc}); is it truncated?"), size
        )
        return
    if first is None:
        return
    for member in itertools.chain((first,), members):
        if member.is_dir:
            continue
        location = f"{path}!{member.name}"
        if not member.name.lower().endswith((".json", ".jsonl", ".ndjson")):
            yield InputItem(None, Rejection(location, "not a JSON file; skipped"), member.compress_size)
            continue
        where.now = location
        try:
            with member.open() as stream:
                yield from _iter_stream(
                    stream,
                    location,
                    member.name.lower(),
                    size=member.file_size,
                    disk_size=member.compress_size,
                    where=where,
                )
        except (*_DAMAGED, OSError) as exc:
            reason = f"damaged archive member ({exc or type(exc).__name__}); skipped"
            yield InputItem(None, Rejection(where.now, reason), member.compress_size)


# The zip format's records (APPNOTE.TXT): the end of central directory (and its zip64 form with
# its locator), one central directory entry per member, one local header before each member's data.
_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")
_EOCD_SIGNATURE, _EOCD64_LOCATOR_SIGNATURE, _EOCD64_SIGNATURE = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"
_CENTRAL_SIGNATURE, _LOCAL_SIGNATURE = b"PK\x01\x02", b"PK\x03\x04"
_ZIP64_EXTRA = 0x0001
_STORED, _DEFLATED = 0, 8
_READ_CHUNK = 256 * 1024
_LINE_BUFFER = 64 * 1024  # for members read line by line (JSONL)


@dataclass(frozen=True, slots=True)
class ZipMember:
    """One member of a zip archive, as its central directory entry describes it."""

    archive: Path
    name: str
    method: int
    flags: int
    crc: int
    compress_size: int
    file_size: int
    header_offset: int  # where its local header starts in the file

    @property
    def is_dir(self) -> bool:
        """Whether the member is a folder."""
        return self.name.endswith("/")

    def open(self) -> io.BufferedReader:
        """A stream of the member's bytes, checked against its size and CRC-32 at the end.

        Raises zipfile.BadZipFile for a member that cannot be read (bad header, encrypted,
        unsupported compression); reading raises it (or zlib.error) when the data is damaged.
        """
        if self.flags & 0x1:
            raise zipfile.BadZipFile("the member is encrypted")
        if self.method not in (_STORED, _DEFLATED):
            raise zipfile.BadZipFile(f"compression method {self.method} is not supported")
        handle = self.archive.open("rb")
        try:
            handle.seek(self.header_offset)
            header = handle.read(_LOCAL.size)
            if len(header) < _LOCAL.size or header[:4] != _LOCAL_SIGNATURE:
                raise zipfile.BadZipFile("bad local file header")
            name_length, extra_length = _LOCAL.unpack(header)[-2:]
            handle.seek(name_length + extra_length, io.SEEK_CUR)
        except BaseException:
            handle.close()
            raise
        return io.BufferedReader(_MemberData(handle, self), buffer_size=_LINE_BUFFER)


class _MemberData(io.RawIOBase):
    """The decompressed bytes of one member, read from its data in the archive."""

    def __init__(self, handle: IO[bytes], member: ZipMember) -> None:
        super().__init__()
        self._handle = handle
        self._member = member
        self._left = member.compress_size  # compressed bytes not yet read
        self._inflater = zlib.decompressobj(-15) if member.method == _DEFLATED else None
        self._pending = b""  # decompressed bytes not yet returned, from _offset on
        self._offset = 0
        self._produced = 0
        self._crc = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while self._offset >= len(self._pending):
            if not self._fill():
                return 0
        count = min(len(view), len(self._pending) - self._offset)
        view[:count] = self._pending[self._offset : self._offset + count]
        self._offset += count
        return count

    def readall(self) -> bytes:
        parts = [self._pending[self._offset :]]
        while self._fill():
            parts.append(self._pending)
        self._pending, self._offset = b"", 0
        return b"".join(parts)

    def _fill(self) -> bool:
        """Decompress the next part into _pending; False at the member's end, once checked."""
        if self._done:
            return False
        inflater = self._inflater
        if inflater is not None and inflater.unconsumed_tail:
            data = inflater.unconsumed_tail
        elif self._left > 0:
            data = self._handle.read(min(self._left, _READ_CHUNK))
            if not data:
                raise EOFError(f"the archive ends inside {self._member.name}")
            self._left -= len(data)
        elif inflater is not None and not inflater.eof and (rest := inflater.flush()):
            self._take(rest)
            return True
        else:
            self._finish()
            return False
        self._take(data if inflater is None else inflater.decompress(data, _READ_CHUNK))
        return True

    def _take(self, data: bytes) -> None:
        self._pending, self._offset = data, 0
        self._produced += len(data)
        if self._produced > self._member.file_size:
            raise zipfile.BadZipFile(f"{self._member.name} holds more than its stated size")
        self._crc = zlib.crc32(data, self._crc)

    def _finish(self) -> None:
        self._done = True
        self._pending, self._offset = b"", 0
        if self._produced != self._member.file_size:
            raise zipfile.BadZipFile(
                f"{self._member.name} holds {self._produced} bytes, not {self._member.file_size}"
            )
        if self._crc != self._member.crc:
            raise zipfile.BadZipFile(f"bad CRC-32 for {self._member.name}")

    def close(self) -> None:
        if not self.closed:
            self._handle.close()
        super().close()


def iter_zip_members(path: Path) -> Iterator[ZipMember]:
    """The members of a zip archive, read one at a time from its central directory.

    Nothing but the current entry is held, so memory stays flat whatever the number of
    members (the registry's archive has ~600,000). Zip64 archives and members, data
    descriptors and data prepended to the archive are handled. Raises zipfile.BadZipFile
    when the archive has no readable end record (truncated?) or a damaged directory; the
    first error is raised before the first member is yielded.
    """
    with path.open("rb") as handle:
        count, start, concat = _find_directory(handle)
    with path.open("rb", buffering=_READ_CHUNK) as directory:
        directory.seek(start)
        for _ in range(count):
            yield _read_central_entry(directory, path, concat)


def _find_directory(handle: IO[bytes]) -> tuple[int, int, int]:
    """(member count, where the central directory starts, bytes prepended to the archive)."""
    end = handle.seek(0, io.SEEK_END)
    window = min(end, _EOCD.size + 65535)  # the end record, then a comment of at most 64 KB
    handle.seek(end - window)
    tail = handle.read(window)
    at = tail.rfind(_EOCD_SIGNATURE)
    while at >= 0 and at + _EOCD.size > len(tail):
        at = tail.rfind(_EOCD_SIGNATURE, 0, at)
    if at < 0:
        raise zipfile.BadZipFile("no end of central directory record")
    record_at = end - window + at
    fields = _EOCD.unpack_from(tail, at)
    count, directory_size, directory_offset = fields[4], fields[5], fields[6]
    directory_end = record_at
    locator_at = record_at - _EOCD64_LOCATOR.size
    if locator_at >= 0:
        handle.seek(locator_at)
        locator = handle.read(_EOCD64_LOCATOR.size)
        if locator[:4] == _EOCD64_LOCATOR_SIGNATURE:
            record64_at = locator_at - _EOCD64.size
            if record64_at < 0:
                raise zipfile.BadZipFile("damaged zip64 end of central directory")
            handle.seek(record64_at)
            record64 = handle.read(_EOCD64.size)
            if record64[:4] != _EOCD64_SIGNATURE:
                raise zipfile.BadZipFile("damaged zip64 end of central directory")
            fields64 = _EOCD64.unpack(record64)
            count, directory_size, directory_offset = fields64[7], fields64[8], fields64[9]
            directory_end = record64_at
    concat = directory_end - directory_size - directory_offset
    if concat < 0:
        raise zipfile.BadZipFile("the central directory is not where the archive says")
    return count, directory_end - directory_size, concat


def _read_central_entry(directory: IO[bytes], path: Path, concat: int) -> ZipMember:
    fixed = directory.read(_CENTRAL.size)
    if len(fixed) < _CENTRAL.size or fixed[:4] != _CENTRAL_SIGNATURE:
        raise zipfile.BadZipFile("damaged central directory")
    fields = _CENTRAL.unpack(fixed)
    flags, method, crc, compress_size, file_size = fields[3], fields[4], fields[7], fields[8], fields[9]
    name_length, extra_length, comment_length, offset = fields[10], fields[11], fields[12], fields[16]
    variable = directory.read(name_length + extra_length + comment_length)
    if len(variable) < name_length + extra_length + comment_length:
        raise zipfile.BadZipFile("damaged central directory")
    raw_name = variable[:name_length]
    name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
    if 0xFFFFFFFF in (compress_size, file_size, offset):
        file_size, compress_size, offset = _zip64_sizes(
            variable[name_length : name_length + extra_length], file_size, compress_size, offset
        )
    return ZipMember(path, name, method, flags, crc, compress_size, file_size, offset + concat)


def _zip64_sizes(extra: bytes, file_size: int, compress_size: int, offset: int) -> tuple[int, int, int]:
    """The sizes and offset that a zip64 extra field holds in place of the 0xFFFFFFFF ones."""
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack_from("<2H", extra, at)
        body = extra[at + 4 : at + 4 + length]
        at += 4 + length
        if kind != _ZIP64_EXTRA:
            continue
        values = [v for (v,) in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])]
        found = []
        for stated in (file_size, compress_size, offset):
            if stated == 0xFFFFFFFF:
                if not values:
                    raise zipfile.BadZipFile("damaged zip64 extra field")
                found.append(values.pop(0))
            else:
                found.append(stated)
        return found[0], found[1], found[2]
    raise zipfile.BadZipFile("a member's zip64 sizes are missing")


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
