"""Following trials by NCT id and checking the mirror upstream: `add`, `remove`, `watched`, `reconcile`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from hemewatch import vocabulary
from hemewatch.cli.app import JsonFlag, WaitFlag, app, database, one_job, settings
from hemewatch.cli.console import RichProgress, err, out, print_json
from hemewatch.errors import HemewatchError, StudyNotFound

if TYPE_CHECKING:
    from hemewatch.pipeline.reconcile import ReconcileReport
    from hemewatch.pipeline.watching import UnwatchOutcome, WatchOutcome
    from hemewatch.registry.client import RegistryClient
    from hemewatch.settings import Settings
    from hemewatch.storage.watchlist import WatchedTrial

NctIds = Annotated[list[str], typer.Argument(help="NCT ids, e.g. NCT04530565 (several may be given).")]


def _registry(config: Settings) -> RegistryClient:
    from hemewatch.registry.client import RegistryClient
    from hemewatch.settings import USER_AGENT

    return RegistryClient(
        config.registry_url,
        user_agent=USER_AGENT,
        requests_per_minute=config.requests_per_minute,
        timeout=config.request_timeout,
        max_retries=config.max_retries,
    )


def _normalised(values: list[str]) -> list[str]:
    # Every id is checked before anything is fetched or stored: a typo stops the command (exit 2).
    from hemewatch.registry.records import normalise_nct_id

    return list(dict.fromkeys(normalise_nct_id(value) for value in values))


@app.command()
def add(
    nct_ids: NctIds,
    note: Annotated[
        str | None, typer.Option("--note", help="Why you follow it (shown by `watched`).")
    ] = None,
    as_json: JsonFlag = False,
    wait: WaitFlag = False,
) -> None:
    """Watch trials by NCT id, even outside the watch scope: stored now, then kept current by every sync.

    The first stored version alerts nobody; later changes alert trackers like any trial in scope.
    An id ClinicalTrials.gov does not know is named (exit 1) and the others are still added.
    """
    from hemewatch.pipeline.watching import fetch_study, store_watched, watch_target
    from hemewatch.registry.scope import load_scope

    wanted = _normalised(nct_ids)
    config = settings()
    scope = load_scope(config.scope_file)
    results: list[dict[str, Any]] = []
    with database(config) as engine, one_job(engine, "sync", wait=wait), _registry(config) as client:
        for requested in wanted:
            try:
                target, _ = watch_target(engine, requested)
                record = fetch_study(client, target)
                outcome = store_watched(engine, scope, record, requested=requested, added_by="cli", note=note)
            except StudyNotFound:
                message = f"ClinicalTrials.gov has no study {requested}; nothing was stored."
                results.append(_failure(requested, "not_found", message))
            except HemewatchError as exc:
                results.append(_failure(requested, "failed", f"{requested}: {exc.message}"))
            else:
                results.append(outcome.to_dict())
                if not as_json:
                    _print_added(outcome)
    if as_json:
        print_json(results)
    for result in results:
        if "message" in result:
            err.print(f"[bold red]error:[/] {escape(result['message'])}")
    if any("message" in result for result in results):
        raise typer.Exit(1)


def _failure(requested: str, outcome: str, message: str) -> dict[str, Any]:
    return {"requested": requested, "nct_id": None, "outcome": outcome, "message": message}


def _print_added(outcome: WatchOutcome) -> None:
    if outcome.followed_alias:
        out.print(
            f"{outcome.requested} is now {outcome.nct_id} on ClinicalTrials.gov (an alias of that record): "
            f"watching {outcome.nct_id}"
        )
    where = "in the watch scope" if outcome.matches_scope else "outside the watch scope"
    status = vocabulary.status_label(outcome.overall_status).lower()
    verb = "watching" if outcome.added else "already watching"
    stored = (
        "stored now" if outcome.new_to_mirror else ("new version stored" if outcome.stored else "up to date")
    )
    out.print(f"{verb} {outcome.nct_id}: {escape(outcome.title or '')} ({status}; {where}; {stored})")


@app.command()
def remove(nct_ids: NctIds, as_json: JsonFlag = False, wait: WaitFlag = False) -> None:
    """Stop watching trials; they stay in the mirror, and followed only if the watch scope matches them.

    No alert is sent for it. An id that was not watched is named (exit 1).
    """
    from hemewatch.pipeline.watching import unwatch_trial
    from hemewatch.registry.scope import load_scope

    wanted = _normalised(nct_ids)
    config = settings()
    scope = load_scope(config.scope_file)
    with database(config) as engine, one_job(engine, "sync", wait=wait):
        outcomes = [unwatch_trial(engine, scope, nct_id) for nct_id in wanted]
    if as_json:
        print_json([outcome.to_dict() for outcome in outcomes])
    else:
        for outcome in outcomes:
            _print_removed(outcome)
    if not all(outcome.was_watched for outcome in outcomes):
        raise typer.Exit(1)


def _print_removed(outcome: UnwatchOutcome) -> None:
    if not outcome.was_watched:
        hint = (
            f"; it was merged into {outcome.merged_into}: `hemewatch remove {outcome.merged_into}`"
            if outcome.merged_into
            else ""
        )
        err.print(f"[bold red]error:[/] {outcome.nct_id} was not watched{hint}")
        return
    if outcome.followed:
        after = "it stays followed: the watch scope matches it"
    elif outcome.mirrored:
        after = "it stays in the mirror with its versions and events, and is no longer synced"
    else:
        after = "it was not mirrored"
    out.print(f"stopped watching {outcome.nct_id}; {after}")


@app.command()
def watched(as_json: JsonFlag = False) -> None:
    """List the trials watched by NCT id: title, status, and whether the watch scope matches them."""
    from hemewatch.registry.scope import load_scope
    from hemewatch.storage.versions import load_current_study
    from hemewatch.storage.watchlist import list_watched

    config = settings()
    scope = load_scope(config.scope_file)
    rows: list[tuple[WatchedTrial, bool | None]] = []
    with database(config) as engine, engine.connect() as conn:
        for item in list_watched(conn):
            study = load_current_study(conn, item.nct_id) if item.mirrored else None
            rows.append((item, scope.matches(study) if study is not None else None))
    if as_json:
        print_json([{**item.to_dict(), "in_scope": matches} for item, matches in rows])
        return
    if not rows:
        out.print("no trial is watched (`hemewatch add NCT…` watches one)")
        return
    table = Table(pad_edge=False)
    for column in ("trial", "title", "status", "scope", "added", "note"):
        table.add_column(column, overflow="fold")
    for item, matches in rows:
        table.add_row(
            item.nct_id,
            escape(item.title or "—"),
            _state(item),
            "—" if matches is None else ("in scope" if matches else "outside"),
            f"{item.added_at:%Y-%m-%d} ({item.added_by})",
            escape(item.note or ""),
        )
    out.print(table)
    out.print(f"{len(rows)} watched trial{'' if len(rows) == 1 else 's'}")


def _state(item: WatchedTrial) -> str:
    if item.merged_into:
        return f"merged into {item.merged_into}"
    if item.removed_at:
        return f"removed from ClinicalTrials.gov on {item.removed_at:%Y-%m-%d}"
    if not item.mirrored:
        return "not mirrored"
    return vocabulary.status_label(item.overall_status).lower()


@app.command("reconcile")
def reconcile_command(as_json: JsonFlag = False, wait: WaitFlag = False) -> None:
    """Check every followed trial upstream: records removed or merged, trials out of scope, missed updates.

    Asks ClinicalTrials.gov about each trial by NCT id (100 to a request, a few fields each);
    records the run in the run log. Exit 1 when records had to be set aside.
    """
    from hemewatch.pipeline.reconcile import reconcile
    from hemewatch.registry.scope import load_scope
    from hemewatch.storage.states import RunStatus

    config = settings()
    scope = load_scope(config.scope_file)
    with (
        database(config) as engine,
        one_job(engine, "sync", wait=wait),
        _registry(config) as client,
        RichProgress() as progress,
    ):
        report = reconcile(engine, client, scope, progress=progress)
    _print_reconcile(report, as_json=as_json)
    if report.status == RunStatus.COMPLETED_ISSUES:
        raise typer.Exit(1)


_SAID = {
    "updated": "updated upstream since the mirror's copy: stored",
    "left_scope": "no longer matches the watch scope: stored, no longer followed",
    "removed": "removed from ClinicalTrials.gov: no longer followed",
    "restored": "back on ClinicalTrials.gov: restored",
}


def _print_reconcile(report: ReconcileReport, *, as_json: bool) -> None:
    if as_json:
        print_json(report.to_dict())
        return
    for change in report.changes:
        if change.outcome == "merged":
            said = f"merged into {change.into}: {change.into} is followed instead when in scope or watched"
        else:
            said = _SAID[change.outcome]
        out.print(f"{change.nct_id}: {said}")
    out.print(
        f"reconcile #{report.run_id} {report.status}: {report.summary()}; "
        f"{report.fetched} records fetched, {report.stored} new versions, "
        f"{report.events} event{'' if report.events == 1 else 's'}"
    )
