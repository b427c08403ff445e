"""The Typer application, its shared options, and the error boundary."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from hemewatch import __version__

# Every command module is imported to register its command, so the command modules import only
# typer, rich and this module when loaded: what a command needs (settings, the database, the
# pipeline, alerts, the web app) is imported inside it, when it runs. This module itself imports
# only typer: `hemewatch --version` loads it and no command module (see main).
if TYPE_CHECKING:
    from hemewatch.settings import Settings
    from hemewatch.storage.database import Engine

app = typer.Typer(
    name="hemewatch",
    help="Monitor acute leukemia clinical trials on ClinicalTrials.gov.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
WaitFlag = Annotated[
    bool,
    typer.Option(
        "--wait",
        help="When another process runs the same job, wait for it to finish instead of exiting (code 75).",
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hemewatch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Monitor acute leukemia clinical trials on ClinicalTrials.gov.

    Configuration comes from HEMEWATCH_* environment variables and an optional TOML file
    (HEMEWATCH_CONFIG, default <HEMEWATCH_HOME>/hemewatch.toml).
    """


def settings() -> Settings:
    """The settings for this invocation."""
    from hemewatch.settings import load_settings

    return load_settings()


@contextmanager
def database(config: Settings | None = None) -> Iterator[Engine]:
    """Open (and migrate) the configured database for the duration of a command."""
    from hemewatch.storage.engine import open_database

    engine = open_database((config or settings()).effective_database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def one_job(engine: Engine, kind: str, *, wait: bool) -> Iterator[None]:
    """Hold the lock of a kind of job (sync, import, reclassify); say so on stderr when waiting for it."""
    from hemewatch.storage.locks import job_lock

    with job_lock(engine, kind, wait=wait, on_wait=_say_waiting):
        yield


def _say_waiting(holder: str) -> None:
    from rich.markup import escape

    from hemewatch.cli.console import err

    err.print(f"[yellow]waiting[/]: {escape(holder)}")


def main() -> None:
    """Console-script entry point: run the app and turn hemewatch errors into messages."""
    if sys.argv[1:] == ["--version"]:
        # What the eager --version option prints, without loading the commands and building their parsers.
        typer.echo(f"hemewatch {__version__}")
        return
    from hemewatch.cli import load_commands
    from hemewatch.cli.console import err, report_error
    from hemewatch.errors import HemewatchError

    load_commands()
    try:
        app()
    except HemewatchError as exc:
        sys.exit(report_error(exc))
    except SystemExit as exc:
        # Typer turns Ctrl-C into exit code 130 without a word; say what was kept.
        if exc.code == 130:
            err.print(
                "[yellow]interrupted[/]: everything stored so far is kept; run the command again to continue."
            )
        raise
