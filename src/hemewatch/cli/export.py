"""`hemewatch export`: the matching trials as tidy tables in Parquet, CSV or an Excel workbook."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from hemewatch.cli.app import JsonFlag, app, database
from hemewatch.cli.console import RichProgress, out, print_json
from hemewatch.cli.filters import (
    Agents,
    Countries,
    Diseases,
    Modalities,
    Phases,
    Populations,
    Sponsor,
    Statuses,
    Targets,
    Text,
    TherapySettings,
    trial_query,
)
from hemewatch.errors import UsageError


class InvalidExportOption(UsageError):
    """An export option has an invalid value."""


def _since(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidExportOption(f"--since takes a date as YYYY-MM-DD, not {value!r}") from exc


@app.command()
def export(
    out_path: Annotated[
        Path,
        typer.Argument(
            metavar="OUT",
            help="A folder (one file per table), a .zip (Parquet or CSV) or the .xlsx workbook to write.",
        ),
    ],
    format: Annotated[
        Literal["parquet", "csv", "xlsx"], typer.Option("--format", help="parquet, csv or xlsx.")
    ] = "parquet",
    disease: Diseases = [],  # noqa: B006
    modality: Modalities = [],  # noqa: B006
    target: Targets = [],  # noqa: B006
    setting: TherapySettings = [],  # noqa: B006
    population: Populations = [],  # noqa: B006
    agent: Agents = [],  # noqa: B006
    phase: Phases = [],  # noqa: B006
    status: Statuses = [],  # noqa: B006
    country: Countries = [],  # noqa: B006
    sponsor: Sponsor = None,
    text: Text = None,
    nct: Annotated[list[str], typer.Option(help="Only these trials (repeatable).")] = [],  # noqa: B006
    include_out_of_scope: Annotated[
        bool, typer.Option("--include-out-of-scope", help="Also export mirrored trials outside the scope.")
    ] = False,
    since: Annotated[
        str | None, typer.Option(help="Events: only those the registry posted on or after this date.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Export the trials matching the filters (as `hemewatch trials` takes them) as tidy tables.

    Tables: trials, therapies, tags, events and sites (docs/exports.md gives every column).
    """
    from hemewatch.pipeline.export import ExportOptions, export_tables
    from hemewatch.registry.records import normalise_nct_id

    if format == "xlsx" and out_path.suffix.lower() != ".xlsx":
        raise InvalidExportOption(f"an Excel export is one workbook: name it ….xlsx, not {out_path}")
    query = trial_query(
        disease=disease,
        modality=modality,
        target=target,
        setting=setting,
        population=population,
        agent=agent,
        phase=phase,
        status=status,
        country=country,
        sponsor=sponsor,
        text=text,
        include_out_of_scope=include_out_of_scope,
        nct_ids=[normalise_nct_id(n) for n in nct],
        limit=None,
    )
    options = ExportOptions(since=_since(since))
    with database() as engine, engine.connect() as conn, RichProgress() as progress:
        report = export_tables(conn, query, out_path, format, options=options, progress=progress)
    if as_json:
        print_json(report.to_dict())
        return
    rows = ", ".join(f"{count} {name}" for name, count in report.rows.items())
    out.print(f"exported {report.trials} trials ({rows}) to {escape(str(out_path))}")
