"""The `hemewatch` command line: Typer commands that call the library and print results."""

from hemewatch.cli import (  # noqa: F401  (registers the commands on app)
    agents,
    alerts,
    backfill,
    changes,
    classify,
    mirror,
    quarantine,
    trials,
    watch,
    web,
    worker,
)
from hemewatch.cli.app import app, main

__all__ = ["app", "main"]
