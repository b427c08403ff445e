"""Mirror commands: status, import, sync, run, demo, migrate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy import Engine

from hemewatch.alerts import send_due
from hemewatch.classification import default_lexicon
from hemewatch.cli.alerts import print_send_report
from hemewatch.cli.app import JsonFlag, WaitFlag, app, database, one_job, settings
from hemewatch.cli.console import RichProgress, err, out, print_json
from hemewatch.demo import demo_days
from hemewatch.errors import JobAlreadyRunning
from hemewatch.pipeline.importing import ImportReport, import_files
from hemewatch.pipeline.reclassify import reclassify
from hemewatch.pipeline.syncing import run_sync
from hemewatch.registry.bulk import Rejection
from hemewatch.registry.client import RegistryClient
from hemewatch.registry.scope import load_scope
from hemewatch.settings import USER_AGENT, Settings
from hemewatch.storage.engine import upgrade_database
from hemewatch.storage.locks import job_lock
from hemewatch.storage.quarantine import list_quarantined
from hemewatch.storage.runs import COMPLETED_WITH_ISSUES, SyncRun, mirror_summary


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Show how many trials and versions are mirrored and how the last sync went."""
    # Imported here so that only this function depends on the quarantine (see issue 10).
    from hemewatch.storage.quarantine import count_quarantined

    with database() as engine, engine.connect() as conn:
        summary = mirror_summary(conn)
        summary["quarantined"] = count_quarantined(conn)
    if as_json:
        print_json(summary)
        return
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
    config = settings()
    with database(config) as engine, one_job(engine, "sync", wait=wait):
        run = _sync(engine, config, full=full)
        _print_sync(run, as_json=as_json)
        _report_problems(engine, run)
    if run.status == COMPLETED_WITH_ISSUES:
        raise typer.Exit(1)


def _sync(engine: Engine, config: Settings, *, full: bool) -> SyncRun:
    # The caller holds the sync lock.
    scope = load_scope(config.scope_file)
    client = RegistryClient(
        config.registry_url,
        user_agent=USER_AGENT,
        requests_per_minute=config.requests_per_minute,
        timeout=config.request_timeout,
        max_retries=config.max_retries,
    )
    with client, RichProgress() as progress:
        return run_sync(engine, client, scope, page_size=config.page_size, force_full=full, progress=progress)


def _report_problems(engine: Engine, run: SyncRun) -> None:
    """Name, on stderr, the records this run set aside: the run stored everything else."""
    if run.status != COMPLETED_WITH_ISSUES:
        return
    with engine.connect() as conn:
        seen = list_quarantined(conn, run_id=run.id)
    for record in seen:
        where = f" ({record.field})" if record.field else ""
        err.print(f"quarantined {record.nct_id or record.location}{where}: {record.reason}", markup=False)
    err.print(
        f"{run.counts.get('rejected', 0)} records set aside; `hemewatch quarantine` lists them", markup=False
    )


def _print_sync(run: SyncRun, *, as_json: bool) -> None:
    if as_json:
        print_json(run.to_dict())
        return
    if run.status == "skipped":
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
) -> None:
    """Load the bundled real trial records (no network needed), then serve the web app on them."""
    config = settings()
    scope = load_scope(config.scope_file)
    with (
        database(config) as engine,
        one_job(engine, "import", wait=False),
        RichProgress(unit="bytes", show_notes=False) as progress,
    ):
        for day in demo_days():
            import_files(engine, [day], scope=scope, source="demo", in_scope_only=True, progress=progress)
    out.print(f"Demo data loaded into {config.effective_database_url}")
    status(as_json=False)
    if serve_app:
        out.print(f"Open http://{config.web_host}:{config.web_port}/ (Ctrl-C to stop)")
        # Imported here, as in `hemewatch serve`: the other commands need no web stack.
        from hemewatch.web import serve

        serve(config, host=config.web_host, port=config.web_port)


@app.command()
def run(wait: WaitFlag = False) -> None:
    """The daily job: sync with ClinicalTrials.gov, then send every alert that is due (for cron).

    The sync lock is held for the whole cycle. A failed sync does not hold back the alerts
    already due (digests, retries): they are sent, then the command exits with the sync's error.
    """
    config = settings()
    with database(config) as engine, one_job(engine, "sync", wait=wait):
        sync_failure: Exception | None = None
        problems = False
        try:
            synced = _sync(engine, config, full=False)
            _print_sync(synced, as_json=False)
            _report_problems(engine, synced)
            problems = synced.status == COMPLETED_WITH_ISSUES
        except Exception as exc:  # re-raised below, once what is due is delivered
            sync_failure = exc
        _retag(engine)
        report = send_due(engine, config)
    print_send_report(report)
    if sync_failure is not None:
        raise sync_failure
    if report.failed or problems:
        raise typer.Exit(1)


def _retag(engine: Engine) -> None:
    # After an upgrade that changed the lexicons, bring stored tags up to date, unless a
    # `hemewatch reclassify` is doing just that.
    try:
        with job_lock(engine, "reclassify"):
            retagged = reclassify(engine, lexicon=default_lexicon())
    except JobAlreadyRunning as exc:
        err.print(f"[yellow]not re-tagging[/]: {escape(exc.message)}")
        return
    if retagged:
        out.print(f"re-tagged {retagged} versions with the current lexicons")


@app.command()
def migrate(as_json: JsonFlag = False) -> None:
    """Create or upgrade the database schema to this version's newest revision and say from which one."""
    done = upgrade_database(settings().effective_database_url)
    if as_json:
        print_json({"from": done.before, "to": done.after, "changed": done.changed})
    elif done.before is None:
        out.print(f"created the schema at revision {done.after}")
    elif done.changed:
        out.print(f"migrated the schema from revision {done.before} to {done.after}")
    else:
        out.print(f"the schema is already at the newest revision, {done.after}")
