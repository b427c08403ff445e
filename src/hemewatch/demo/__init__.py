"""Real ClinicalTrials.gov records bundled for `hemewatch demo` (no network needed)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def demo_days() -> list[Path]:
    """The bundled registry days, oldest first (each a gzipped JSONL file)."""
    folder = resources.files("hemewatch.demo")
    days = sorted(
        (
            entry
            for entry in folder.iterdir()
            if entry.name.startswith("day") and entry.name.endswith(".jsonl.gz")
        ),
        key=lambda entry: entry.name,
    )
    return [Path(str(day)) for day in days]
