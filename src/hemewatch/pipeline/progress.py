"""How long-running work reports progress without knowing who is watching."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress from the pipeline (the CLI draws a Rich progress bar)."""

    def start(self, description: str, total: float | None) -> None:
        """A new phase begins; total is None when unknown."""

    def advance(self, amount: float) -> None:
        """Some work of the current phase is done."""

    def set_total(self, total: float) -> None:
        """The size of the current phase became known."""

    def note(self, message: str) -> None:
        """Something a person should read (a rejected record, a retry)."""


class SilentProgress:
    """A Progress that shows nothing (library use and tests)."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def start(self, description: str, total: float | None) -> None:
        """Ignore."""

    def advance(self, amount: float) -> None:
        """Ignore."""

    def set_total(self, total: float) -> None:
        """Ignore."""

    def note(self, message: str) -> None:
        """Keep the message so callers can inspect it."""
        self.notes.append(message)
