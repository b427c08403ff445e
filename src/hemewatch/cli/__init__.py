"""The `hemewatch` command line: Typer commands that call the library and print results."""

from hemewatch.cli import changes, classify, mirror, trials  # noqa: F401  (registers the commands on app)
from hemewatch.cli.app import app, main

__all__ = ["app", "main"]
