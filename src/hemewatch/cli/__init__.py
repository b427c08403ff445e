"""The `hemewatch` command line: Typer commands that call the library and print results.

`main` (the console script) answers `--version` before any command module is loaded; `app`, the Typer
application with every command registered, is made on first use (`from hemewatch.cli import app`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hemewatch.cli.app import main

if TYPE_CHECKING:
    import typer

# Importing the submodule hemewatch.cli.app bound the name `app` to it. The name is the application's:
# __getattr__ below makes it, with its commands, when it is first asked for.
globals().pop("app")


def load_commands() -> typer.Typer:
    """The application with every command registered (importing a command module registers its commands)."""
    from hemewatch.cli import (  # noqa: F401  (registers the commands on app)
        agents,
        alerts,
        backfill,
        changes,
        classify,
        export,
        mcp_command,
        mirror,
        prescreen,
        quarantine,
        trials,
        watch,
        web,
        worker,
    )
    from hemewatch.cli.app import app

    globals()["app"] = app
    return app


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        return load_commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "load_commands", "main"]
