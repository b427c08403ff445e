"""Run `hemewatch` as a person does, with its configuration in HEMEWATCH_* variables.

`hemewatch(...)` runs one command inside the test process, as `python -m hemewatch` would run it in its
own: the command line and environment are exactly the ones given, stdout and stderr are captured apart,
the exit code is the process's (including what the error boundary in `hemewatch.cli.main` turns an error
into, and 1 with a traceback on stderr for an unexpected exception). What a process starts with fresh —
the Rich consoles made at import, the signal handlers, the environment — is set up for the command and
restored after it.

`hemewatch_process(...)` and `start(...)` run a real `python -m hemewatch` process: for what only a
process shows (signals, `kill -9`, several processes at once, what a process imports).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

UNREACHABLE_REGISTRY = "http://127.0.0.1:9/api/v2"
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def cli_env(
    tmp_path: Path, db_url: str, registry: str = UNREACHABLE_REGISTRY, **extra: str
) -> dict[str, str]:
    """The environment of one test's commands: its own data folder and database, no machine config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEMEWATCH_")}
    env.update(
        HEMEWATCH_HOME=str(tmp_path / "home"),
        HEMEWATCH_CONFIG=str(tmp_path / "no-config.toml"),
        HEMEWATCH_DATABASE_URL=db_url,
        HEMEWATCH_REGISTRY_URL=registry,
        HEMEWATCH_REQUESTS_PER_MINUTE="0",
        HEMEWATCH_MAX_RETRIES="1",
        HEMEWATCH_REQUEST_TIMEOUT="5",
        COLUMNS="200",
    )
    env.update(extra)
    return env


def hemewatch(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one command to its end, in this process, and capture what it printed."""
    from click import formatting
    from click.testing import CliRunner

    from hemewatch.cli import main

    with _process_state(env, ["hemewatch", *args]), CliRunner().isolation() as (stdout, stderr, _):
        # What the isolation fixes for Click's own help (80 columns), a process takes from COLUMNS.
        formatting.FORCED_WIDTH = None
        _fresh_consoles()
        with _warnings_to(sys.stderr):
            code = _run(main)
        sys.stdout.flush()
        sys.stderr.flush()
        printed, complained = stdout.getvalue(), stderr.getvalue()
    return subprocess.CompletedProcess(
        ["hemewatch", *args], code, printed.decode("utf-8"), complained.decode("utf-8", "backslashreplace")
    )


def hemewatch_process(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one command to its end in a real `python -m hemewatch` process and capture what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "hemewatch", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def start(*args: str, env: Mapping[str, str]) -> subprocess.Popen[str]:
    """Start a command in a real process in the background (to interrupt it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "hemewatch", *args],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(main: object) -> int:
    """Call the console script's main and return the exit code a process would have ended with."""
    assert callable(main)
    try:
        main()
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except Exception as exc:  # what the interpreter prints for an uncaught exception
        sys.stderr.write("".join(traceback.format_exception(exc)))
        return 1
    return 0


@contextmanager
def _process_state(env: Mapping[str, str], argv: list[str]) -> Iterator[None]:
    """Exactly this environment and command line, and the signal handlers, restored afterwards."""
    saved_env = dict(os.environ)
    saved_argv = sys.argv
    saved_signals = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    os.environ.clear()
    os.environ.update(env)
    sys.argv = argv
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv = saved_argv
        for sig, handler in saved_signals.items():
            if handler is not None:
                signal.signal(sig, handler)


def _fresh_consoles() -> None:
    """Remake hemewatch's Rich consoles in place, as a new process makes them on import.

    A Console fixes its width (COLUMNS), colours and terminal detection when it is made; the command
    modules hold the module's `out` and `err` objects, so they are rebuilt where they are.
    """
    from hemewatch.cli import console

    spec = importlib.util.find_spec("hemewatch.cli.console")
    assert spec is not None and spec.loader is not None
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    for name in ("out", "err"):
        current = vars(getattr(console, name))
        current.clear()
        current.update(vars(getattr(fresh, name)))


@contextmanager
def _warnings_to(stream: TextIO) -> Iterator[None]:
    """Log records of level WARNING and above reach stderr as bare messages, as in a process with no
    logging configured (Python's last-resort handler); the test runner's own log handlers stay."""
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
