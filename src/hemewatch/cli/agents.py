"""`hemewatch agents`: the agents the mirrored trials use, and the products no lexicon names yet."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hemewatch.cli.app import JsonFlag, app, database
from hemewatch.cli.console import out, print_json

if TYPE_CHECKING:
    from hemewatch.storage.therapies import AgentUse, UnresolvedName


def _unresolved_table(names: list[UnresolvedName]) -> Table:
    table = Table(pad_edge=False, title="Unresolved agents (studied, no lexicon entry)")
    table.add_column("name as written", overflow="fold")
    table.add_column("trials", justify="right")
    table.add_column("modality", overflow="fold")
    table.add_column("examples", overflow="fold")
    for item in names:
        table.add_row(
            escape(item.name),
            str(item.trials),
            escape(", ".join(item.modalities)) or "—",
            ", ".join(item.examples),
        )
    return table


def _agents_table(agents: list[AgentUse]) -> Table:
    table = Table(pad_edge=False, title="Agents in use")
    table.add_column("agent", overflow="fold")
    table.add_column("trials", justify="right")
    table.add_column("modality", overflow="fold")
    table.add_column("roles", overflow="fold")
    table.add_column("examples", overflow="fold")
    for item in agents:
        table.add_row(
            escape(item.agent),
            str(item.trials),
            escape(", ".join(item.modalities)) or "—",
            ", ".join(item.roles),
            ", ".join(item.examples),
        )
    return table


@app.command()
def agents(
    unresolved: Annotated[
        bool,
        typer.Option(
            "--unresolved", help="List studied products no lexicon names, by name as written, to add them."
        ),
    ] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many rows.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List the agents the current versions use, with trial counts (most used first)."""
    from hemewatch.storage.therapies import agents_in_use, unresolved_names

    with database() as engine, engine.connect() as conn:
        names = unresolved_names(conn, limit=limit) if unresolved else []
        used = [] if unresolved else agents_in_use(conn, limit=limit)
    if as_json:
        print_json([item.to_dict() for item in (names if unresolved else used)])
    elif unresolved:
        out.print(_unresolved_table(names))
        out.print(f"{len(names)} unresolved names; add them to the agent lexicons (docs/classification.md)")
    else:
        out.print(_agents_table(used))
        out.print(f"{len(used)} agents")
