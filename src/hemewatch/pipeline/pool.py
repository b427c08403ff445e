"""Prepare the pieces read from the input on worker processes, in input order, with bounded memory.

Workers are plain `python -c` processes running hemewatch.pipeline.prepare, fed over pipes.
(multiprocessing's spawn would import the program's main module again in each worker: for
the `hemewatch` command, the whole CLI, 1.7 s and 90 MB per worker.) A worker whose stdin
closes exits, so workers never outlive an importer that is killed.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from types import TracebackType

from hemewatch.classification import default_lexicon
from hemewatch.errors import HemewatchError, WorkerStreamError
from hemewatch.pipeline.prepare import Outcome, attach_source, prepare_piece, read_message, write_message
from hemewatch.registry.bulk import Frame, Piece
from hemewatch.registry.scope import Scope

# Pieces go to a worker in chunks: big enough that a message's overhead is small, small
# enough that the chunks in flight (two per worker) hold a few MB.
CHUNK_BYTES = 2 * 1024 * 1024
CHUNK_PIECES = 256
# Below this much input (on disk), starting processes costs more than it saves.
POOL_MIN_BYTES = 32 * 1024 * 1024
MAX_WORKERS = 8

# The worker gets this process's import path, as multiprocessing's spawn does.
_BOOTSTRAP = "import sys; sys.path[:] = sys.argv[1:]; from hemewatch.pipeline.prepare import main; main()"
_CLOSE = object()


class WorkerFailed(HemewatchError):
    """An import worker process failed."""


def worker_count(input_bytes: int) -> int:
    """How many worker processes an import of this many bytes should use (0: none)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    # On one core, workers would only add the cost of sending them the input.
    if input_bytes < POOL_MIN_BYTES or cpus < 2:
        return 0
    return min(cpus, MAX_WORKERS)


class PreparePool:
    """Prepares input pieces on `workers` processes (in this process when 0); a context manager."""

    def __init__(self, scope: Scope, workers: int) -> None:
        self._scope = scope
        self._count = workers
        self._workers: list[_Worker] = []
        self._pending: deque[tuple[list[Frame], _Worker]] = deque()

    def __enter__(self) -> PreparePool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers: at once when work is still in flight (an error, Ctrl-C), else when idle."""
        abort = bool(self._pending)
        self._pending.clear()
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.close(abort=abort)

    def prepare(self, frames: Iterable[Frame]) -> Iterator[tuple[Frame, list[Outcome]]]:
        """Yield each frame with its outcomes (none for a frame that is not a piece), in input order."""
        if self._count == 0:
            for frame in frames:
                if not isinstance(frame, Piece):
                    yield frame, []
                    continue
                outcomes = prepare_piece(frame, self._scope)
                attach_source(frame, outcomes)
                yield frame, outcomes
            return
        if len(self._workers) < self._count:
            # Started before the lexicon is loaded here: each worker imports its modules meanwhile.
            started = [_Worker() for _ in range(self._count - len(self._workers))]
            self._workers.extend(started)
            lexicon = default_lexicon()
            for worker in started:
                worker.send((self._scope, lexicon))
        # Chunk i goes to worker i mod n, and each worker answers in order: reading the
        # answers round-robin gives them back in input order.
        for index, chunk in enumerate(_chunks(frames)):
            worker = self._workers[index % self._count]
            worker.send([frame for frame in chunk if isinstance(frame, Piece)])
            self._pending.append((chunk, worker))
            if len(self._pending) >= 2 * self._count:
                yield from self._complete_oldest()
        while self._pending:
            yield from self._complete_oldest()

    def _complete_oldest(self) -> Iterator[tuple[Frame, list[Outcome]]]:
        chunk, worker = self._pending[0]
        results = iter(worker.receive())
        self._pending.popleft()
        for frame in chunk:
            if isinstance(frame, Piece):
                outcomes = next(results)
                attach_source(frame, outcomes)
                yield frame, outcomes
            else:
                yield frame, []


class _Worker:
    """One worker process, and a thread that writes its input.

    Writing from a thread means this process never blocks on a worker whose input pipe is
    full while that worker blocks on its full output pipe, waiting to be read.
    """

    def __init__(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-c", _BOOTSTRAP, *sys.path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,  # raw pipes: see prepare.main
        )
        self._outbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._feeder = threading.Thread(target=self._feed, name="hemewatch-import-feeder", daemon=True)
        self._feeder.start()

    def send(self, message: object) -> None:
        """Queue a message for the worker."""
        self._outbox.put(message)

    def receive(self) -> list[list[Outcome]]:
        """The worker's answer to its oldest chunk not yet answered."""
        assert self._process.stdout is not None
        try:
            ok, value = read_message(self._process.stdout)
        except (EOFError, WorkerStreamError):
            code = self._process.wait()
            raise WorkerFailed(f"an import worker process ended unexpectedly (exit code {code})") from None
        if not ok:
            raise WorkerFailed(f"an import worker process failed:\n{value}")
        outcomes: list[list[Outcome]] = value
        return outcomes

    def close(self, *, abort: bool) -> None:
        """End the worker: close its input and wait (abort: terminate it first)."""
        if abort:
            self._process.terminate()
        self._outbox.put(_CLOSE)
        self._feeder.join()
        self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def _feed(self) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            while (message := self._outbox.get()) is not _CLOSE:
                write_message(stdin, message)
        except OSError:
            pass  # the worker is gone: receive() says so
        finally:
            with contextlib.suppress(OSError):
                stdin.close()


def _chunks(frames: Iterable[Frame]) -> Iterator[list[Frame]]:
    chunk: list[Frame] = []
    pieces = size = 0
    for frame in frames:
        chunk.append(frame)
        if isinstance(frame, Piece):
            pieces += 1
            size += len(frame.data)
            if pieces >= CHUNK_PIECES or size >= CHUNK_BYTES:
                yield chunk
                chunk, pieces, size = [], 0, 0
    if chunk:
        yield chunk
