"""`hemewatch trials` (trials by their tags and record fields) and `hemewatch values` (what filters take)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hemewatch import vocabulary
from hemewatch.cli.app import JsonFlag, app, database
from hemewatch.cli.console import out, print_json
from hemewatch.vocabulary import parse_all


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
    include_out_of_scope: Annotated[
        bool, typer.Option("--include-out-of-scope", help="Also list mirrored trials outside the scope.")
    ] = False,
    limit: Annotated[int, typer.Option(help="At most this many trials.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """List trials by disease, modality, target, setting, population, phase, status, country…

    Filter values are read as `hemewatch values` lists them, in any case; an unknown value is refused.
    """
    from hemewatch.storage.catalog import TrialQuery, count_trials, search_trials

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
