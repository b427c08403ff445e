"""Terminal output: Rich consoles, JSON printing, errors as messages, a Rich progress bar for the pipeline."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING, Any

import orjson
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from rich.progress import TaskID

    from hemewatch.errors import HemewatchError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    """Print a value as indented JSON on stdout (dates and datetimes as ISO strings)."""
    sys.stdout.write(
        orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n"
    )


def report_error(exc: HemewatchError) -> int:
    """Say on stderr what went wrong, as a person reads it; return the exit code its class names.

    The one place the command line turns an error into an exit code (`exit_code`, see hemewatch.errors).
    """
    err.print(f"[bold red]error:[/] {escape(exc.message)}")
    return exc.exit_code


class RichProgress:
    """A pipeline Progress drawn as a Rich progress bar on stderr (hidden when not a terminal)."""

    def __init__(self, *, unit: str = "", show_notes: bool = True) -> None:
        # Imported here: only the commands that draw a bar load it (every command loads this module).
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._show_notes = show_notes
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn() if unit != "bytes" else TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=False,
            disable=not err.is_terminal,
        )
        self._task: TaskID | None = None
        self.notes = 0

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.stop()

    def start(self, description: str, total: float | None) -> None:
        """Begin a phase."""
        self._task = self._bar.add_task(description, total=total)

    def advance(self, amount: float) -> None:
        """Advance the current phase."""
        if self._task is not None and amount:
            self._bar.advance(self._task, amount)

    def set_total(self, total: float) -> None:
        """Set the size of the current phase."""
        if self._task is not None:
            self._bar.update(self._task, total=total)

    def note(self, message: str) -> None:
        """Print a message above the bar (the first 20; the rest are counted)."""
        self.notes += 1
        if not self._show_notes:
            return
        if self.notes <= 20:
            self._bar.console.print(f"[yellow]{escape(message)}")
        elif self.notes == 21:
            self._bar.console.print("[yellow]… further messages are counted in the summary")
