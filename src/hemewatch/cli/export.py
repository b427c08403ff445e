"""`hemewatch export`: the matching trials as tidy tables in Parquet, CSV or an Excel workbook."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from hemewatch.cli.app import JsonFlag, app, database
from hemewatch.cli.console import RichProgress, out, print_json
from hemewatch.errors import UsageError
from hemewatch.vocabulary import parse_all


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
    disease: Annotated[
        list[str], typer.Option(help="Disease tag, e.g. AML, B-ALL, T-ALL, Ph+ ALL (repeatable).")
    ] = [],  # noqa: B006
    modality: Annotated[
        list[str], typer.Option(help="Modality, e.g. CAR-T, T-cell engager (repeatable).")
    ] = [],  # noqa: B006
    target: Annotated[
        list[str], typer.Option(help="Target antigen, e.g. CD19, CD22, CD123 (repeatable).")
    ] = [],  # noqa: B006
    setting: Annotated[list[str], typer.Option(help="Setting, e.g. relapsed/refractory (repeatable).")] = [],  # noqa: B006
    population: Annotated[
        list[str], typer.Option(help="Population: pediatric, AYA, adult, older adult.")
    ] = [],  # noqa: B006
    agent: Annotated[
        list[str],
        typer.Option(help="Agent by generic, brand or code name, e.g. blinatumomab, Blincyto (repeatable)."),
    ] = [],  # noqa: B006
    phase: Annotated[list[str], typer.Option(help="Phase, e.g. 2, phase 2, PHASE2 (repeatable).")] = [],  # noqa: B006
    status: Annotated[
        list[str], typer.Option(help="Overall status, e.g. recruiting, RECRUITING (repeatable).")
    ] = [],  # noqa: B006
    country: Annotated[list[str], typer.Option(help="Country with a site (repeatable).")] = [],  # noqa: B006
    sponsor: Annotated[str | None, typer.Option(help="Lead sponsor contains this text.")] = None,
    text: Annotated[
        str | None,
        typer.Option(
            help="A drug (brand, code name…), disease or target; or part of the title, sponsor,"
            " NCT id, conditions or an intervention name."
        ),
    ] = None,
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
    from hemewatch.storage.catalog import TrialQuery

    if format == "xlsx" and out_path.suffix.lower() != ".xlsx":
        raise InvalidExportOption(f"an Excel export is one workbook: name it ….xlsx, not {out_path}")
    query = TrialQuery(
        disease=parse_all("disease", disease),
        modality=parse_all("modality", modality),
        target=parse_all("target", target),
        setting=parse_all("setting", setting),
        population=parse_all("population", population),
        agent=parse_all("agent", agent),
        phase=parse_all("phase", phase),
        status=parse_all("status", status),
        country=tuple(country),
        sponsor=sponsor,
        text=text,
        nct_ids=tuple(normalise_nct_id(n) for n in nct),
        in_scope_only=not include_out_of_scope,
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
