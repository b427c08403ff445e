"""`hemewatch quarantine`: the records set aside because they could not be stored, and why."""

from __future__ import annotations

from typing import Annotated

import typer

from hemewatch.cli.app import JsonFlag, app, database
from hemewatch.cli.console import out, print_json


@app.command()
def quarantine(
    include_resolved: Annotated[
        bool, typer.Option("--all", help="Also list records resolved since (stored cleanly later).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """List the records set aside by a sync or import: the trial, the field at fault and why."""
    from hemewatch.storage.quarantine import list_quarantined

    with database() as engine, engine.connect() as conn:
        records = list_quarantined(conn, include_resolved=include_resolved)
    if as_json:
        print_json([record.to_dict() for record in records])
        return
    if not records:
        out.print("no records are quarantined" if not include_resolved else "no record was ever quarantined")
        return
    for record in records:
        state = f"resolved {record.resolved_at:%Y-%m-%d %H:%M}" if record.resolved_at else "open"
        out.print(
            f"{record.nct_id or '(no NCT id)'}  {record.field or '-'}  [{state}]  "
            f"seen {record.seen_count}x, first {record.first_seen_at:%Y-%m-%d %H:%M}, "
            f"last {record.last_seen_at:%Y-%m-%d %H:%M}",
            markup=False,
        )
        out.print(f"    {record.reason}", markup=False)
        out.print(f"    at {record.location} ({record.source})", markup=False)
