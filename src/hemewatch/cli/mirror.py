"""Mirror commands: status, import, sync, run, demo, migrate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from hemewatch.cli.alerts import print_send_report
from hemewatch.cli.app import JsonFlag, WaitFlag, app, database, one_job, settings
from hemewatch.cli.console import RichProgress, err, out, print_json

if TYPE_CHECKING:
    from hemewatch.pipeline.importing import ImportReport
    from hemewatch.registry.bulk import Rejection
    from hemewatch.settings import Settings
    from hemewatch.storage.database import Engine
    from hemewatch.storage.quarantine import QuarantinedRecord
    from hemewatch.storage.runs import SyncRun


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Show how fresh the mirror is, the last runs and their problems, the outbox and the scheduler."""
    from hemewatch.pipeline.status import system_status

    config = settings()
    with database(config) as engine:
        summary = system_status(engine, config)
    if as_json:
        print_json(summary)
        return
    _print_status(summary)


def _print_status(summary: dict[str, Any]) -> None:
    out.print(f"trials:   {summary['trials']} ({summary['trials_in_scope']} in scope)")
    out.print(f"versions: {summary['versions']}")
    if summary["quarantined"]:
        out.print(
            f"quarantined: {summary['quarantined']} records could not be stored "
            "(`hemewatch quarantine` lists them)"
        )
    last = summary["last_sync"]
    if last is None:
        out.print("last sync: never (run `hemewatch sync`)")
    else:
        counts = ", ".join(f"{k} {v}" for k, v in last["counts"].items())
        when = last["finished_at"] or last["started_at"]
        out.print(f"last sync: {last['kind']} run #{last['id']} {last['status']} at {when}")
        out.print(f"           registry data {last['data_timestamp']}; {counts}")
        if last["error"]:
            out.print(f"           error: {last['error']}", markup=False)
    _print_freshness(summary["freshness"])
    _print_runs(summary["runs"])
    _print_outbox(summary["outbox"])
    _print_scheduler(summary["scheduler"])
    public = summary["public_url"]
    origin = "HEMEWATCH_PUBLIC_URL" if public["set"] else "not set: the address `hemewatch serve` listens on"
    out.print(f"public url: {public['value']} ({origin})", markup=False)
    if summary["problems"]:
        out.print("problems:")
        for problem in summary["problems"]:
            out.print(f"  - {problem}", markup=False)
    else:
        out.print("problems: none")


def _print_freshness(fresh: dict[str, Any]) -> None:
    from hemewatch.pipeline.status import describe_age

    if fresh["data_timestamp"] is None:
        out.print("data:     no completed sync yet")
    else:
        out.print(
            f"data:     registry release {fresh['data_timestamp']} "
            f"({describe_age(fresh['data_age_seconds'])} old), synced at {fresh['synced_at']}",
            markup=False,
        )
    if fresh["last_polled_at"] is not None:
        out.print(
            f"          registry last looked at {describe_age(fresh['last_poll_age_seconds'])} ago "
            f"({fresh['last_polled_at']}; its data: {fresh['registry_timestamp'] or 'unknown'})",
            markup=False,
        )


def _print_runs(runs: dict[str, dict[str, Any] | None]) -> None:
    out.print("last runs:")
    for name, run in runs.items():
        if run is None:
            out.print(f"  {name:<10} never")
            continue
        when = run["finished_at"] or run["started_at"]
        line = f"  {name:<10} #{run['id']} {run['kind']} {run['status']} at {when}"
        details = run.get("details") or {}
        deliveries = details.get("deliveries")
        if isinstance(deliveries, dict):
            line += (
                f"; sent {deliveries.get('sent', 0)}, will retry {deliveries.get('retrying', 0)}, "
                f"gave up on {deliveries.get('dead', 0)}"
            )
        out.print(line, markup=False)
        if run["error"]:
            out.print(f"  {'':<10} {run['error']}", markup=False)
        if isinstance(deliveries, dict):
            for error in deliveries.get("errors", [])[:10]:
                out.print(f"  {'':<10} failed {error}", markup=False)


def _print_outbox(outbox: dict[str, Any]) -> None:
    by_channel = "; ".join(
        f"{channel}: " + ", ".join(f"{n} {state}" for state, n in counts.items() if n)
        for channel, counts in outbox["channels"].items()
        if any(counts.values())
    )
    due = f"; next due at {outbox['next_due_at']}" if outbox["next_due_at"] else ""
    out.print(
        f"outbox:   {outbox['waiting']} waiting, {outbox['dead']} dead"
        + (f" ({by_channel})" if by_channel else "")
        + due,
        markup=False,
    )


def _print_scheduler(scheduler: dict[str, Any]) -> None:
    from hemewatch.pipeline.status import describe_age

    active = scheduler["active"]
    lock = scheduler["lock"]
    if scheduler["running"]:
        who = f"pid {lock['pid']} on host {lock['host']}" if lock and lock["pid"] else "holder unknown"
        line = f"scheduler: running ({who})"
        if active is not None:
            line += f", last heartbeat {describe_age(active['beat_age_seconds'])} ago"
            if active["next_action"]:
                line += f"; next: {active['next_action']} at {active['next_action_at']}"
        out.print(line, markup=False)
        for standby in scheduler["standby"]:
            out.print(f"           standing by: pid {standby['pid']} on host {standby['host']}", markup=False)
        return
    last = scheduler["last_seen"]
    if last is None:
        out.print("scheduler: none has run (`hemewatch worker` or `hemewatch serve` runs one)")
    else:
        out.print(
            f"scheduler: not running; the last one (pid {last['pid']} on host {last['host']}) "
            f"reported {describe_age(last['beat_age_seconds'])} ago as {last['role']}",
            markup=False,
        )


@app.command("import")
def import_command(
    paths: Annotated[
        list[Path],
        typer.Argument(help="JSONL, study JSON, API page JSON, folders, or the registry's json.zip."),
    ],
    in_scope_only: Annotated[
        bool,
        typer.Option(
            "--in-scope-only", help="Keep only trials in the watch scope (use with the whole-registry zip)."
        ),
    ] = False,
    as_json: JsonFlag = False,
    wait: WaitFlag = False,
) -> None:
    """Store study records from files; bad input is named and skipped (exit 1 if any)."""
    from hemewatch.pipeline.importing import import_files
    from hemewatch.registry.scope import load_scope

    config = settings()
    scope = load_scope(config.scope_file)
    missing = [str(p) for p in paths if not p.exists()]
    with (
        database(config) as engine,
        one_job(engine, "import", wait=wait),
        RichProgress(unit="bytes", show_notes=False) as progress,
    ):
        report = import_files(
            engine,
            [p for p in paths if p.exists()],
            scope=scope,
            in_scope_only=in_scope_only,
            progress=progress,
        )
    for path in missing:
        report.rejected += 1
        report.rejections.insert(0, _missing(path))
    _print_import(report, as_json=as_json, skipped_out=in_scope_only)
    if report.rejected:
        raise typer.Exit(1)


def _missing(path: str) -> Rejection:
    from hemewatch.registry.bulk import Rejection

    return Rejection(path, "no such file or folder")


def _print_import(report: ImportReport, *, as_json: bool, skipped_out: bool) -> None:
    if as_json:
        print_json(report.to_dict())
        return
    for rejection in report.rejections[:50]:
        err.print(f"rejected {rejection}", markup=False)
    if report.rejected > 50:
        err.print(f"… and {report.rejected - 50} more rejected")
    out.print(
        f"read {report.read} records from {report.files} files: {report.stored} new versions "
        f"({report.new_trials} new trials), {report.unchanged} unchanged, "
        f"{report.out_of_scope} outside the watch scope{' (skipped)' if skipped_out else ''}, "
        f"{report.rejected} rejected"
    )


@app.command()
def sync(
    full: Annotated[
        bool, typer.Option("--full", help="Re-read the whole scope, not only what changed.")
    ] = False,
    as_json: JsonFlag = False,
    wait: WaitFlag = False,
) -> None:
    """Fetch what changed on ClinicalTrials.gov since the last sync and store it."""
    from hemewatch.pipeline.cycle import set_aside
    from hemewatch.storage.states import RunStatus

    config = settings()
    with database(config) as engine, one_job(engine, "sync", wait=wait):
        run = _sync(engine, config, full=full)
        _print_sync(run, as_json=as_json)
        _report_problems(run, set_aside(engine, run))
    if run.status == RunStatus.COMPLETED_ISSUES:
        raise typer.Exit(1)


def _sync(engine: Engine, config: Settings, *, full: bool) -> SyncRun:
    # The caller holds the sync lock.
    from hemewatch.pipeline.cycle import registry_client
    from hemewatch.pipeline.syncing import run_sync
    from hemewatch.registry.scope import load_scope

    scope = load_scope(config.scope_file)
    with registry_client(config) as client, RichProgress() as progress:
        return run_sync(engine, client, scope, page_size=config.page_size, force_full=full, progress=progress)


def _report_problems(run: SyncRun, seen: list[QuarantinedRecord]) -> None:
    """Name, on stderr, the records this run set aside: the run stored everything else."""
    from hemewatch.storage.states import RunStatus

    if run.status != RunStatus.COMPLETED_ISSUES:
        return
    for record in seen:
        where = f" ({record.field})" if record.field else ""
        err.print(f"quarantined {record.nct_id or record.location}{where}: {record.reason}", markup=False)
    err.print(
        f"{run.counts.get('rejected', 0)} records set aside; `hemewatch quarantine` lists them", markup=False
    )


def _print_sync(run: SyncRun, *, as_json: bool) -> None:
    from hemewatch.storage.states import RunStatus

    if as_json:
        print_json(run.to_dict())
        return
    if run.status == RunStatus.SKIPPED:
        out.print(
            f"nothing to do: the registry data ({run.data_timestamp}) has not changed since the last sync"
        )
        return
    counts = run.counts
    out.print(
        f"{run.kind} sync #{run.id} completed (registry data {run.data_timestamp}): "
        f"fetched {counts['fetched']}, {counts['stored']} new versions ({counts['new_trials']} new trials), "
        f"{counts['unchanged']} unchanged, {counts['out_of_scope']} outside the scope, "
        f"{counts['rejected']} rejected"
    )


@app.command()
def demo(
    serve_app: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the web app on the demo data afterwards.")
    ] = True,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="Port to serve on (default: web_port).")
    ] = None,
) -> None:
    """Load the bundled real trial records (no network needed), then serve the web app on them."""
    from hemewatch.pipeline.demo import load_demo
    from hemewatch.registry.scope import load_scope
    from hemewatch.settings import served_url

    config = settings()
    scope = load_scope(config.scope_file)
    with (
        database(config) as engine,
        one_job(engine, "import", wait=False),
        RichProgress(unit="bytes", show_notes=False) as progress,
    ):
        loaded = load_demo(engine, scope=scope, progress=progress)
    out.print(f"Demo data loaded into {config.effective_database_url}")
    status(as_json=False)
    served = config.served_at(config.web_host, port or config.web_port) if serve_app else config
    out.print(
        f"Sample tracker “{escape(loaded.tracker.name)}” (feed only, every change as it is found): "
        f"{loaded.tracker.feed_url(served.public_url)}"
    )
    if serve_app:
        out.print(f"Open {served_url(served.web_host, served.web_port)}/ (Ctrl-C to stop)")
        # Imported here, as in `hemewatch serve`: the other commands need no web stack.
        from hemewatch.web import serve

        # No scheduler: the demo is the bundled data, offline; `hemewatch serve` adds one.
        serve(served, host=served.web_host, port=served.web_port, scheduler=False)


@app.command()
def run(wait: WaitFlag = False) -> None:
    """The daily cycle: sync with ClinicalTrials.gov, re-tag, then send every alert that is due (for cron).

    The sync lock is held for the whole cycle. A failed sync does not hold back the alerts
    already due (digests, retries): they are sent, then the command exits with the sync's error.
    """
    from hemewatch.cli.app import _say_waiting
    from hemewatch.pipeline.cycle import daily_cycle, who_runs

    config = settings()
    with database(config) as engine, RichProgress() as progress:
        report = daily_cycle(
            engine, config, who=who_runs("run"), wait=wait, on_wait=_say_waiting, progress=progress
        )
    if report.sync is not None and report.sync_error is None:
        _print_sync(report.sync, as_json=False)
        _report_problems(report.sync, report.set_aside)
    if report.retag_skipped:
        err.print(f"[yellow]not re-tagging[/]: {escape(report.retag_skipped)}")
    if report.retagged:
        out.print(f"re-tagged {report.retagged} versions with the current lexicons")
    print_send_report(report.deliveries)
    if report.sync_error is not None:
        raise report.sync_error
    if report.problems:
        raise typer.Exit(1)


@app.command()
def migrate(as_json: JsonFlag = False) -> None:
    """Create or upgrade the database schema to this version's newest revision and say from which one."""
    from hemewatch.storage.engine import upgrade_database

    done = upgrade_database(settings().effective_database_url)
    if as_json:
        print_json({"from": done.before, "to": done.after, "changed": done.changed})
    elif done.before is None:
        out.print(f"created the schema at revision {done.after}")
    elif done.changed:
        out.print(f"migrated the schema from revision {done.before} to {done.after}")
    else:
        out.print(f"the schema is already at the newest revision, {done.after}")
