"""Decode and prepare pieces of input: the CPU-heavy half of an import, also run as a worker process.

As a worker (`python -m hemewatch.pipeline.prepare`), it reads the scope and then chunks of
pieces from stdin and writes each chunk's outcomes to stdout, as length-prefixed pickles,
until stdin closes: when the importer is done, or gone.
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

from hemewatch.classification import Classification, classify_study, default_lexicon
from hemewatch.errors import HemewatchError
from hemewatch.pipeline.tagging import labelled_tags, stored_labels
from hemewatch.registry.bulk import Piece, Rejection, decode_piece
from hemewatch.registry.prepared import PreparedRecord, prepare_study
from hemewatch.registry.scope import Scope

Outcome = PreparedRecord | Rejection

_HEADER = struct.Struct("<Q")


def prepare_piece(piece: Piece, scope: Scope) -> list[Outcome]:
    """The piece's prepared records and rejections, in order.

    A record whose text is the whole piece (a JSONL line, a study file) leaves `source`
    unset: the reader still holds those bytes and attaches them (see attach_source), so they
    are not sent back from a worker.
    """
    outcomes: list[Outcome] = []
    for found in decode_piece(piece):
        if isinstance(found, Rejection):
            outcomes.append(found)
            continue
        if found.text is piece.data:
            text = None
        else:
            text = found.text if found.text is not None else orjson.dumps(found.obj)
        try:
            record = prepare_study(found.obj, text=text, scope=scope)
        except HemewatchError as exc:
            outcomes.append(Rejection(found.location, exc.message))
            continue
        if record.in_scope:
            # Watched trials are classified when stored; doing it here, on a worker, keeps it
            # off the writer. It is wasted on the few that turn out to be stored already.
            record.classified = classify_for_storage(found.obj)
        outcomes.append(record)
    return outcomes


def classify_for_storage(study: dict[str, Any]) -> tuple[Classification, dict[str, Any]]:
    """What tag_versions stores for a study: its classification with label tags, and its labels."""
    lexicon = default_lexicon()
    classification = classify_study(study, lexicon)
    labels = stored_labels(classification, lexicon)
    return labelled_tags(classification, labels), labels


def attach_source(piece: Piece, outcomes: Sequence[Outcome]) -> None:
    """Give the records that are the whole piece their JSON text (the piece's bytes)."""
    for outcome in outcomes:
        if isinstance(outcome, PreparedRecord) and outcome.source is None:
            outcome.source = piece.data


def write_message(stream: IO[bytes], message: object) -> None:
    """Write one length-prefixed pickle."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def read_message(stream: IO[bytes]) -> Any:
    """Read one length-prefixed pickle; raise EOFError when the stream ends."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError
    # Only the importer and its own worker processes write these pipes.
    return pickle.loads(payload)  # noqa: S301


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """The worker loop: the scope, then (True, outcomes per piece) or (False, traceback) per chunk."""
    try:
        scope: Scope = read_message(source)
    except EOFError:
        return
    while True:
        try:
            pieces: list[Piece] = read_message(source)
        except EOFError:
            return
        try:
            reply: tuple[bool, object] = (True, [prepare_piece(piece, scope) for piece in pieces])
        except Exception as exc:  # a bug: reported to the importer, which stops
            reply = (False, "".join(traceback.format_exception(exc)))
        write_message(sink, reply)


def main() -> None:
    """Entry point of a worker process."""
    # Ctrl-C reaches the whole process group: the importer decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Decoded studies hold no reference cycles; see importing.py.
    gc.disable()
    sink = sys.stdout.buffer
    # Whatever a library might print must not corrupt the stream of results.
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, sink)


if __name__ == "__main__":
    main()
