"""`hemewatch trials` (trials by their tags and record fields) and `hemewatch values` (what filters take)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hemewatch import vocabulary
from hemewatch.cli.app import JsonFlag, app, database
from hemewatch.cli.console import out, print_json
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


@app.command()
def trials(
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
    include_out_of_scope: Annotated[
        bool, typer.Option("--include-out-of-scope", help="Also list mirrored trials outside the scope.")
    ] = False,
    limit: Annotated[int, typer.Option(help="At most this many trials.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """List trials by disease, modality, target, setting, population, phase, status, country…

    Filter values are read as `hemewatch values` lists them, in any case; an unknown value is refused.
    """
    from hemewatch.storage.catalog import count_trials, search_trials

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
            vocabulary.phase_label(row.phases),
            vocabulary.status_label(row.overall_status).lower(),
            escape(", ".join(labels["diseases"])),
            escape(", ".join(labels["modalities"])),
            escape(", ".join(labels["targets"])),
        )
    out.print(table)
    out.print(f"{len(rows)} of {total} trials")


@app.command("values")
def values(
    dimension: Annotated[
        str | None,
        typer.Argument(
            help=f"One of {', '.join(vocabulary.DIMENSIONS)}; all of them (with counts) if left out."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List the values filters accept: diseases, modalities, targets, agents, phases, statuses…"""
    if dimension is None:
        counts = {name: len(vocabulary.values(name)) for name in vocabulary.DIMENSIONS}
        if as_json:
            print_json(counts)
            return
        for name, count in counts.items():
            out.print(f"{name:<12} {count:>4}  {vocabulary.kind_label(name)}")
        return
    name = "_".join(dimension.lower().replace("-", " ").split())
    if name not in vocabulary.DIMENSIONS:
        raise typer.BadParameter(f"{dimension!r} is not one of {', '.join(vocabulary.DIMENSIONS)}")
    shown = [(value, vocabulary.label(name, value)) for value in vocabulary.values(name)]
    if as_json:
        print_json([{"value": value, "label": label} for value, label in shown])
        return
    for value, label in shown:
        out.print(escape(value if label == value else f"{value}  ({label})"))
