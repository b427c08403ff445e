"""`hemewatch trials`: list mirrored trials filtered by their tags and record fields."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hemewatch.cli.app import JsonFlag, app, database
from hemewatch.cli.console import out, print_json
from hemewatch.storage.catalog import TrialQuery, count_trials, search_trials


@app.command()
def trials(
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
    agent: Annotated[list[str], typer.Option(help="Agent, e.g. blinatumomab (repeatable).")] = [],  # noqa: B006
    phase: Annotated[list[str], typer.Option(help="Phase, e.g. PHASE2 (repeatable).")] = [],  # noqa: B006
    status: Annotated[list[str], typer.Option(help="Overall status, e.g. RECRUITING (repeatable).")] = [],  # noqa: B006
    country: Annotated[list[str], typer.Option(help="Country with a site (repeatable).")] = [],  # noqa: B006
    sponsor: Annotated[str | None, typer.Option(help="Lead sponsor contains this text.")] = None,
    text: Annotated[str | None, typer.Option(help="Title, sponsor or NCT id contains this text.")] = None,
    include_out_of_scope: Annotated[
        bool, typer.Option("--include-out-of-scope", help="Also list mirrored trials outside the scope.")
    ] = False,
    limit: Annotated[int, typer.Option(help="At most this many trials.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """List trials by disease, modality, target, setting, population, phase, status, country…"""
    query = TrialQuery(
        disease=tuple(disease),
        modality=tuple(modality),
        target=tuple(target),
        setting=tuple(setting),
        population=tuple(population),
        agent=tuple(agent),
        phase=tuple(phase),
        status=tuple(status),
        country=tuple(country),
        sponsor=sponsor,
        text=text,
        in_scope_only=not include_out_of_scope,
        limit=limit,
    )
    with database() as engine, engine.connect() as conn:
        rows = search_trials(conn, query)
        total = count_trials(conn, query)
    if as_json:
        print_json([row.to_dict() for row in rows])
        return
    table = Table(pad_edge=False)
    for column in ("trial", "title", "phase", "status", "disease", "modality", "target"):
        table.add_column(column, overflow="fold")
    for row in rows:
        labels = row.to_dict()
        table.add_row(
            row.nct_id,
            escape(row.title or ""),
            "/".join(p.replace("PHASE", "") for p in row.phases) or "—",
            (row.overall_status or "").replace("_", " ").lower(),
            escape(", ".join(labels["diseases"])),
            escape(", ".join(labels["modalities"])),
            escape(", ".join(labels["targets"])),
        )
    out.print(table)
    out.print(f"{len(rows)} of {total} trials")
