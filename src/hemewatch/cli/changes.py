"""Change commands: `hemewatch changes` and `hemewatch show`."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from hemewatch.cli.app import JsonFlag, app, database
from hemewatch.cli.console import out, print_json
from hemewatch.errors import TrialNotFound, UsageError

if TYPE_CHECKING:
    from hemewatch.storage.events import StoredEvent


class InvalidOption(UsageError):
    """An option has an invalid value."""


def _parse_since(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidOption(f"--since takes a date as YYYY-MM-DD, not {value!r}") from exc


def _parse_types(values: list[str]) -> tuple[str, ...]:
    from hemewatch.history import EventType

    known = {t.value for t in EventType}
    unknown = [v for v in values if v not in known]
    if unknown:
        raise InvalidOption(
            f"unknown event type {', '.join(unknown)}; choose from: {', '.join(sorted(known))}"
        )
    return tuple(values)


@app.command()
def changes(
    since: Annotated[
        str | None, typer.Option(help="Only changes the registry posted on or after this date.")
    ] = None,
    event_type: Annotated[
        list[str], typer.Option("--type", help="Only these event types (repeatable).")
    ] = [],  # noqa: B006
    nct: Annotated[list[str], typer.Option(help="Only these trials (repeatable).")] = [],  # noqa: B006
    include_all: Annotated[
        bool, typer.Option("--all", help="Include administrative changes (never alerted).")
    ] = False,
    limit: Annotated[int, typer.Option(help="At most this many events, newest first.")] = 200,
    as_json: JsonFlag = False,
) -> None:
    """List change events, newest first."""
    from hemewatch.registry.records import normalise_nct_id
    from hemewatch.storage.events import EventFilter, list_events

    where = EventFilter(
        since=_parse_since(since),
        types=_parse_types(event_type),
        nct_ids=tuple(normalise_nct_id(n) for n in nct),
        include_administrative=include_all,
    )
    with database() as engine, engine.connect() as conn:
        events = list_events(conn, where, limit=limit)
    if as_json:
        print_json([e.to_dict() for e in events])
        return
    if not events:
        out.print("no changes match")
        return
    out.print(_events_table(events, with_trial=True))


_SEVERITY_STYLE = {"critical": "bold red", "notable": "yellow", "minor": "", "administrative": "dim"}


def _events_table(events: list[StoredEvent], *, with_trial: bool, history: set[int] | None = None) -> Table:
    table = Table(show_lines=False, pad_edge=False)
    table.add_column("posted")
    if history:
        table.add_column("from")
    if with_trial:
        table.add_column("trial")
    table.add_column("severity")
    table.add_column("type")
    table.add_column("change", overflow="fold")
    for stored in events:
        e = stored.event
        cells = [e.registry_date.isoformat() if e.registry_date else "—"]
        if history:
            cells.append("history" if stored.id in history else "sync")
        if with_trial:
            cells.append(e.nct_id)
        style = _SEVERITY_STYLE.get(e.severity.value, "")
        cells += [
            f"[{style}]{e.severity.value}[/]" if style else e.severity.value,
            e.type.value,
            escape(e.summary),
        ]
        table.add_row(*cells)
    return table


@app.command()
def show(
    nct_id: Annotated[str, typer.Argument(help="The trial's NCT id, e.g. NCT04530565.")],
    include_all: Annotated[bool, typer.Option("--all", help="Include administrative changes.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show one trial: essentials, tags with their evidence, and its change timeline."""
    from hemewatch.registry.records import normalise_nct_id
    from hemewatch.storage.events import EventFilter, list_events
    from hemewatch.storage.record_history import history_events, registration
    from hemewatch.storage.trial_view import load_trial_view

    nct = normalise_nct_id(nct_id)
    with database() as engine, engine.connect() as conn:
        view = load_trial_view(conn, nct)
        if view is None:
            raise TrialNotFound(
                f"{nct} is not in the local mirror; run `hemewatch sync` or `hemewatch import` first."
            )
        events = list_events(
            conn,
            EventFilter(nct_ids=(nct,), include_administrative=include_all),
            limit=None,
            by_registry_date=True,
        )
        history = history_events(conn, events)
        registered = registration(conn, nct)
    if as_json:
        changes = [{**e.to_dict(), "from_history": e.id in history} for e in events]
        first = registered[0].isoformat() if registered else None
        print_json({**view.to_dict(), "changes": changes, "registered": first})
        return
    _print_view(view.to_dict())
    out.print()
    out.print("[bold]Timeline[/] (newest first)")
    if events:
        out.print(_events_table(events, with_trial=False, history=history))
    elif registered is None:
        out.print("no changes recorded since the trial was first mirrored")
    if registered is not None:
        out.print(f"{registered[0].isoformat()}  registered (version 0 of the registry's record history)")


def _print_view(view: dict[str, Any]) -> None:
    from hemewatch.registry.records import registry_study_url

    out.print(f"[bold]{view['nct_id']}[/] {escape(view['title'] or '')}")
    out.print(registry_study_url(view["nct_id"]))
    facts = [
        ("status", view["overall_status"]),
        ("phase", ", ".join(view["phases"]) or "—"),
        ("sponsor", view["lead_sponsor"]),
        ("start", view["start_date"]),
        ("enrollment", view["enrollment"]),
        ("countries", ", ".join(view["countries"]) or "—"),
        ("last registry update", view["last_update_post_date"]),
        ("versions stored", view["version_count"]),
    ]
    for label, value in facts:
        out.print(f"  {label + ':':22} {escape(str(value if value is not None else '—'))}")
    if view["tags"]:
        out.print()
        out.print(f"[bold]Tags[/] (lexicon {escape(str(view.get('lexicon_version') or '?'))})")
        for tag in view["tags"]:
            evidence = "; ".join(f"{e['path']}: “{e['text']}”" for e in tag["evidence"][:2])
            out.print(f"  {tag['kind']:<11} {escape(tag['value']):<28} [dim]{escape(evidence)}[/]")
