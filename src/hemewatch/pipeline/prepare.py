"""Decode and prepare pieces of input: the CPU-heavy half of an import, also run as a worker process.

As a worker (`python -m hemewatch.pipeline.prepare`), it reads the scope and the lexicon and then
chunks of pieces from stdin and writes each chunk's outcomes to stdout, as length-prefixed pickles,
until stdin closes: when the importer is done, or gone. The pickles hold plain tuples, bytes
and strings: a record's classification travels as compact JSON (see storage/prepared.py).
"""

from __future__ import annotations

import gc
import pickle
import signal
import struct
import sys
import traceback
from collections.abc import Sequence
from typing import IO, Any

import orjson

from hemewatch.classification import Classification, Lexicon, default_lexicon
from hemewatch.errors import HemewatchError, RecordFieldError, WorkerStreamError
from hemewatch.pipeline.tagging import classify_version
from hemewatch.registry.bulk import Piece, Rejection, Value, decode_piece
from hemewatch.registry.scope import Scope
from hemewatch.storage.prepared import PreparedRecord, Quarantined, prepare_study

Outcome = PreparedRecord | Rejection | Quarantined

_HEADER = struct.Struct("<Q")


def prepare_piece(piece: Piece, scope: Scope, lexicon: Lexicon | None = None) -> list[Outcome]:
    """The piece's prepared records and rejections, in order; records in scope classified with `lexicon`.

    A record whose text is the whole piece (a JSONL line, a study file) leaves `source`
    unset: the reader still holds those bytes and attaches them (see attach_source), so they
    are not sent back from a worker.
    """
    outcomes: list[Outcome] = []
    for found in decode_piece(piece):
        if isinstance(found, Rejection):
            outcomes.append(found)
            continue
        try:
            if found.problem is not None:
                raise RecordFieldError(found.problem)
            if found.text is piece.data:
                text = None
            else:
                text = found.text if found.text is not None else canonical_text(found.obj)
            record = prepare_study(found.obj, text=text, scope=scope)
        except HemewatchError as exc:
            outcomes.append(set_aside(found, piece, exc))
            continue
        if record.in_scope:
            # Watched trials are classified when stored; doing it here, on a worker, keeps it
            # off the writer. It is wasted on the few that turn out to be stored already.
            record.classified = classify_for_storage(record.study_or(found.obj), lexicon)
        outcomes.append(record)
    return outcomes


def canonical_text(obj: object) -> bytes:
    """The JSON text of a decoded value (raises RecordFieldError when it cannot be serialised)."""
    try:
        return orjson.dumps(obj)
    except orjson.JSONEncodeError as exc:
        raise RecordFieldError(f"cannot be stored: {exc}") from None


def set_aside(found: Value, piece: Piece, error: HemewatchError) -> Rejection | Quarantined:
    """What becomes of a value that failed: a record that looks like a study is quarantined."""
    obj = found.obj
    protocol = obj.get("protocolSection") if isinstance(obj, dict) else None
    if not isinstance(protocol, dict):
        return Rejection(found.location, error.message)
    nct_id = getattr(error, "nct_id", None)
    if nct_id is None:
        ident = protocol.get("identificationModule")
        given = ident.get("nctId") if isinstance(ident, dict) else None
        nct_id = given[:32] if isinstance(given, str) else None
    try:
        raw = found.text if found.text is not None else orjson.dumps(obj)
    except orjson.JSONEncodeError:
        raw = piece.data
    field = getattr(error, "field", None)
    return Quarantined(found.location, nct_id, field, error.message, raw)


def classify_for_storage(
    study: dict[str, Any], lexicon: Lexicon | None = None
) -> tuple[Classification, dict[str, Any]]:
    """What tag_versions stores for a study: its classification with label tags, its labels and facts."""
    return classify_version(study, lexicon or default_lexicon())


def attach_source(piece: Piece, outcomes: Sequence[Outcome]) -> None:
    """Give the records that are the whole piece their JSON text (the piece's bytes)."""
    for outcome in outcomes:
        if isinstance(outcome, PreparedRecord) and outcome.source is None:
            outcome.source = piece.data


def write_message(stream: IO[bytes], message: object) -> None:
    """Write one length-prefixed pickle."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    _write_all(stream, _HEADER.pack(len(payload)) + payload)
    stream.flush()


def _write_all(stream: IO[bytes], data: bytes) -> None:
    # An unbuffered pipe may take part of a write (when the process is stopped and resumed):
    # write the rest until all is written.
    view = memoryview(data)
    while view:
        written = stream.write(view)
        if not written:
            raise WorkerStreamError("the stream between the importer and a worker process took no bytes")
        view = view[written:]


def read_message(stream: IO[bytes]) -> Any:
    """Read one length-prefixed pickle; raise EOFError when the stream ends between messages.

    Raises WorkerStreamError when it ends inside one.
    """
    header = _read_exactly(stream, _HEADER.size, started=False)
    (size,) = _HEADER.unpack(header)
    payload = _read_exactly(stream, size, started=True)
    # Only the importer and its own worker processes write these pipes.
    return pickle.loads(payload)  # noqa: S301


def _read_exactly(stream: IO[bytes], size: int, *, started: bool) -> bytes:
    # A read on a pipe may return fewer bytes than asked (after the process was stopped and
    # resumed, or whenever the writer is slower than the reader): read until complete.
    data = stream.read(size)
    if data is not None and len(data) == size:
        return data
    parts = [data] if data else []
    received = len(data) if data else 0
    while received < size:
        chunk = stream.read(size - received)
        if not chunk:
            if received == 0 and not started:
                raise EOFError
            raise WorkerStreamError(
                f"the stream between the importer and a worker process ended {received} bytes into "
                f"a {size}-byte part of a message"
            )
        parts.append(chunk)
        received += len(chunk)
    return b"".join(parts)


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """The worker loop: scope and lexicon, then (True, outcomes per piece) or (False, traceback) per chunk.

    The importer sends the lexicon it loaded (its terms and the text of their pattern, see
    TermMatcher): unpickling it takes milliseconds, loading the lexicon files again ~0.3 s.
    """
    # The importer closes the stream when it is done or gone; mid-message, it was killed.
    try:
        scope: Scope
        lexicon: Lexicon
        scope, lexicon = read_message(source)
    except (EOFError, WorkerStreamError):
        return
    # Compile the term pattern once, now, while the importer is still reading its first chunks.
    lexicon.matcher.compile()
    while True:
        try:
            pieces: list[Piece] = read_message(source)
        except (EOFError, WorkerStreamError):
            return
        try:
            reply: tuple[bool, object] = (True, [prepare_piece(piece, scope, lexicon) for piece in pieces])
        except Exception as exc:  # a bug: reported to the importer, which stops
            reply = (False, "".join(traceback.format_exception(exc)))
        write_message(sink, reply)


def main() -> None:
    """Entry point of a worker process."""
    # Ctrl-C reaches the whole process group: the importer decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Decoded studies hold no reference cycles; see importing.py.
    gc.disable()
    # Unbuffered: every message is written and read whole by the loops above, with no buffer
    # between them and the pipe that a stop and resume (Ctrl-Z, then fg) could leave half-done.
    sink = open(sys.stdout.fileno(), "wb", buffering=0, closefd=False)  # noqa: SIM115
    source = open(sys.stdin.fileno(), "rb", buffering=0, closefd=False)  # noqa: SIM115
    # Whatever a library might print must not corrupt the stream of results.
    sys.stdout = sys.stderr
    serve(source, sink)


if __name__ == "__main__":
    main()
