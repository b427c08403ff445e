"""Tracker and alert commands: trackers add/list/remove, alerts send/list/retry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from hemewatch.cli.app import JsonFlag, app, database, settings
from hemewatch.cli.console import err, out, print_json
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
)

if TYPE_CHECKING:
    from hemewatch.alerts import SendReport, Tracker
    from hemewatch.alerts.queue import DeliveryRow

# hemewatch.alerts.spec's CADENCES and MIN_SEVERITIES, for the options' help: importing the alert
# stack to word a help text would slow every command down (tests/cli/test_lazy_imports.py keeps
# the two equal).
CADENCES = ("immediate", "daily", "weekly")
MIN_SEVERITIES = ("critical", "notable", "minor")

trackers_app = typer.Typer(
    name="trackers", help="Saved filters that send change alerts.", no_args_is_help=True
)
alerts_app = typer.Typer(
    name="alerts", help="Send queued alerts, list failed ones, retry them.", no_args_is_help=True
)
app.add_typer(trackers_app)
app.add_typer(alerts_app)


def _option(flag: str, text: str) -> Any:
    return typer.Option(flag, help=text, show_default=False)


@trackers_app.command("add")
def add_tracker(
    name: Annotated[str, _option("--name", "Name of the tracker (unique per e-mail address).")],
    email: Annotated[str, _option("--email", "Owner's e-mail address (digests go there).")],
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
    nct: Annotated[list[str] | None, _option("--nct", "Follow this trial (repeat for several).")] = None,
    events: Annotated[
        list[str] | None, _option("--events", "Event types, comma-separated (default: every alertable type).")
    ] = None,
    min_severity: Annotated[
        str, typer.Option("--min-severity", help=f"Least serious change sent: {', '.join(MIN_SEVERITIES)}.")
    ] = "minor",
    cadence: Annotated[str, typer.Option("--cadence", help=f"{', '.join(CADENCES)}.")] = "daily",
    webhook: Annotated[str | None, _option("--webhook", "POST signed JSON to this URL.")] = None,
    apprise: Annotated[
        list[str] | None, _option("--apprise", "Apprise URL for chat (slack://, tgram://, ntfy://…).")
    ] = None,
    no_email: Annotated[bool, typer.Option("--no-email", help="Do not send e-mail digests.")] = False,
    no_feed: Annotated[bool, typer.Option("--no-feed", help="Do not publish an Atom feed.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Add a tracker (confirmed at once); with no filters it follows every trial in scope."""
    from hemewatch.alerts import TrackerSpec, create_tracker
    from hemewatch.alerts.renderers.mail import describe_follows
    from hemewatch.alerts.signing import SIGNATURE_HEADER
    from hemewatch.storage.runs import utc_now

    spec = TrackerSpec(
        name=name,
        email=email,
        diseases=tuple(disease),
        modalities=tuple(modality),
        targets=tuple(target),
        settings=tuple(setting),
        populations=tuple(population),
        agents=tuple(agent),
        phases=tuple(phase),
        statuses=tuple(status),
        countries=tuple(country),
        sponsor=sponsor,
        text=text,
        nct_ids=tuple(nct or ()),
        event_types=tuple(
            kind.strip() for value in events or () for kind in value.split(",") if kind.strip()
        ),
        min_severity=min_severity,
        cadence=cadence,
        email_enabled=not no_email,
        webhook_url=webhook,
        apprise_urls=tuple(apprise or ()),
        feed_enabled=not no_feed,
    )
    config = settings()
    with database(config) as engine, engine.begin() as conn:
        tracker = create_tracker(conn, spec, now=utc_now(), confirmed=True)
    if as_json:
        print_json(tracker.to_dict(public_url=config.public_url))
        return
    out.print(f"added tracker {tracker.name!r} (#{tracker.id}) for {tracker.email}", markup=False)
    out.print(f"  follows: {describe_follows(tracker.spec)}", markup=False)
    out.print(f"  sends:   {_events(tracker)}, {tracker.spec.cadence}", markup=False)
    if tracker.spec.feed_enabled:
        out.print(f"  feed:    {tracker.feed_url(config.public_url)}", markup=False)
    if tracker.spec.webhook_url:
        out.print(
            f"  webhook: {tracker.spec.webhook_url}, {SIGNATURE_HEADER} signed with {tracker.webhook_secret}",
            markup=False,
        )


def _events(tracker: Tracker) -> str:
    spec = tracker.spec
    kinds = ", ".join(spec.event_types) if spec.event_types else "every alertable change"
    return f"{kinds} ({spec.min_severity} or more serious)"


def _channels(tracker: Tracker) -> str:
    from hemewatch.alerts.channels.apprise import service_name
    from hemewatch.alerts.channels.webhook import shown_url

    spec = tracker.spec
    names = ["e-mail"] if spec.email_enabled else []
    if spec.webhook_url:
        names.append(f"webhook {shown_url(spec.webhook_url)}")
    names += [f"{service_name(url)}://…" for url in spec.apprise_urls]
    if spec.feed_enabled:
        names.append("feed")
    return ", ".join(names) or "none"


@trackers_app.command("list")
def list_command(as_json: JsonFlag = False) -> None:
    """List every tracker with its filters, cadence and channels."""
    from hemewatch.alerts import list_trackers
    from hemewatch.alerts.renderers.mail import describe_follows

    config = settings()
    with database(config) as engine, engine.connect() as conn:
        found = list_trackers(conn)
    if as_json:
        print_json([tracker.to_dict(public_url=config.public_url) for tracker in found])
        return
    if not found:
        out.print("no trackers yet (add one with `hemewatch trackers add --name N --email E`)", markup=False)
        return
    table = Table("id", "name", "e-mail", "status", "follows", "sends", "channels", show_lines=False)
    for tracker in found:
        table.add_row(
            str(tracker.id),
            escape(tracker.name),
            escape(tracker.email),
            tracker.status,
            escape(describe_follows(tracker.spec)),
            escape(f"{_events(tracker)}, {tracker.spec.cadence}"),
            escape(_channels(tracker)),
        )
    out.print(table)


@trackers_app.command("remove")
def remove_command(
    name: Annotated[str, typer.Argument(help="Name of the tracker.")],
    email: Annotated[str | None, _option("--email", "Owner, when several trackers have that name.")] = None,
) -> None:
    """Remove a tracker with its queued alerts."""
    from hemewatch.alerts import delete_tracker, find_tracker

    with database() as engine, engine.begin() as conn:
        tracker = find_tracker(conn, name, email=email)
        delete_tracker(conn, tracker.id)
    out.print(f"removed tracker {tracker.name!r} (#{tracker.id}) of {tracker.email}", markup=False)


@alerts_app.command("send")
def send_command(
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Send at most this many.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send every alert that is due; failures are retried later with backoff (exit 1 if any failed)."""
    from hemewatch.alerts import send_due

    config = settings()
    with database(config) as engine:
        report = send_due(engine, config, limit=limit)
    if as_json:
        print_json(report.to_dict())
    else:
        print_send_report(report)
    if report.failed:
        raise typer.Exit(1)


def print_send_report(report: SendReport) -> None:
    """Print what `alerts send` did (also used by `hemewatch run`)."""
    for line in report.errors:
        err.print(f"[red]failed[/] {escape(line)}")
    if report.released:
        err.print(f"put back {report.released} deliveries left unfinished by a stopped run")
    if report.waiting_for_smtp:
        err.print(
            f"[yellow]{report.waiting_for_smtp} e-mail deliveries wait[/]: "
            "set HEMEWATCH_SMTP_URL to send them"
        )
    out.print(
        f"sent {report.sent}, will retry {report.retrying}, gave up on {report.dead}, "
        f"cancelled {report.cancelled}"
    )


def _target(row: DeliveryRow) -> str:
    from hemewatch.alerts.channels.apprise import service_name
    from hemewatch.alerts.channels.webhook import shown_url

    if row.channel == "webhook":
        return shown_url(row.target)
    if row.channel == "apprise":
        return f"{service_name(row.target)}://…"
    return row.target


@alerts_app.command("list")
def alerts_list_command(
    failed: Annotated[
        bool, typer.Option("--failed", help="Only dead deliveries and those waiting to be retried.")
    ] = False,
    status: Annotated[str | None, _option("--status", "pending, sending, sent, dead or cancelled.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """List deliveries, newest first."""
    from hemewatch.alerts import list_deliveries
    from hemewatch.storage.states import DeliveryStatus

    with database() as engine, engine.connect() as conn:
        rows = list_deliveries(conn, failed=failed, status=status, limit=limit)
    if as_json:
        print_json([{**row.to_dict(), "target": _target(row)} for row in rows])
        return
    if not rows:
        out.print("no failed deliveries" if failed else "no deliveries", markup=False)
        return
    table = Table("id", "tracker", "channel", "to", "status", "attempts", "next attempt", "last error")
    for row in rows:
        table.add_row(
            str(row.id),
            str(row.tracker_id),
            row.channel,
            escape(_target(row)),
            row.status,
            str(row.attempts),
            row.next_attempt_at.strftime("%Y-%m-%d %H:%M") if row.status == DeliveryStatus.PENDING else "",
            escape(row.last_error or ""),
        )
    out.print(table)


@alerts_app.command("retry")
def retry_command(
    ids: Annotated[list[int] | None, typer.Argument(help="Delivery ids (default: every dead one).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Queue dead deliveries again, with a fresh set of attempts."""
    from hemewatch.alerts import retry_deliveries
    from hemewatch.storage.runs import utc_now

    with database() as engine, engine.begin() as conn:
        count = retry_deliveries(conn, tuple(ids or ()), now=utc_now())
    if as_json:
        print_json({"requeued": count})
        return
    out.print(f"queued {count} dead deliveries again; `hemewatch alerts send` sends them")
