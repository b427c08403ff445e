"""`hemewatch backfill`: fill mirrored trials' timelines back to registration from the record history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from hemewatch.cli.app import JsonFlag, WaitFlag, app, database, one_job, settings
from hemewatch.cli.console import RichProgress, err, out, print_json
from hemewatch.errors import UsageError

if TYPE_CHECKING:
    from hemewatch.pipeline.backfill import BackfillReport


class BackfillUsage(UsageError):
    """Name the trials to backfill (NCT ids), or pass --scope for every mirrored trial in the watch scope."""


@app.command("backfill")
def backfill_command(
    nct_ids: Annotated[
        list[str] | None,
        typer.Argument(help="Mirrored trials to backfill, e.g. NCT04280705.", show_default=False),
    ] = None,
    scope: Annotated[
        bool,
        typer.Option(
            "--scope",
            help="Every mirrored trial in the watch scope whose record history is not complete yet.",
        ),
    ] = False,
    limit: Annotated[
        int | None, typer.Option(min=1, help="With --scope: at most this many trials in this run.")
    ] = None,
    as_json: JsonFlag = False,
    wait: WaitFlag = False,
) -> None:
    """Store mirrored trials' past versions from the registry's record history, with their real dates.

    The changes between them go on each trial's timeline, back to its registration; none is ever
    alerted. Resumable: a rerun continues where an interrupted one stopped and stores nothing twice.
    """
    from hemewatch.pipeline.backfill import LOCK_KIND, backfill
    from hemewatch.registry.client import RegistryClient
    from hemewatch.registry.history import internal_api_base
    from hemewatch.registry.records import normalise_nct_id
    from hemewatch.settings import USER_AGENT
    from hemewatch.storage.record_history import trials_to_backfill

    wanted = [normalise_nct_id(n) for n in nct_ids or []]
    if bool(wanted) == scope:
        raise BackfillUsage(
            "Name the trials to backfill (NCT ids) or pass --scope, not both." if wanted else None
        )
    if limit is not None and not scope:
        raise BackfillUsage("--limit goes with --scope (it caps how many trials of the scope one run takes).")
    config = settings()
    internal_api_base(
        config.registry_url
    )  # a registry_url the record history cannot be read beside fails now
    with database(config) as engine:
        # Refuse (or wait) now if a sync is running; during the run, each write waits for the lock.
        with one_job(engine, LOCK_KIND, wait=wait):
            pass
        complete = 0
        if scope:
            with engine.connect() as conn:
                wanted, complete = trials_to_backfill(conn, limit=limit)
        client = RegistryClient(
            config.registry_url,
            user_agent=USER_AGENT,
            requests_per_minute=config.requests_per_minute,
            timeout=config.request_timeout,
            max_retries=config.max_retries,
        )
        with client, RichProgress() as progress:
            report = backfill(engine, client, wanted, progress=progress)
    report.complete = complete
    _print(report, as_json=as_json)
    if report.failures:
        raise typer.Exit(1)


def _print(report: BackfillReport, *, as_json: bool) -> None:
    if as_json:
        print_json(report.to_dict())
        return
    for failed in report.failures:
        err.print(f"[red]failed[/] {failed.nct_id}: {escape(failed.error or '')}")
    skipped = f" ({report.complete} in scope complete already, skipped)" if report.complete else ""
    out.print(
        f"backfill #{report.run_id}: {len(report.trials)} trials{skipped}, "
        f"{report.total('listed')} versions listed, {report.total('fetched')} fetched, "
        f"{report.total('stored')} stored, {report.total('linked')} already mirrored, "
        f"{len(report.failures)} failed, in {report.seconds:.1f} s"
    )
    newer = report.total("newer")
    if newer:
        out.print(f"{newer} versions are newer than the mirror: the next sync stores them")
    events = report.events
    if events:
        listed = ", ".join(f"{name} {count}" for name, count in events.most_common())
        out.print(f"{sum(events.values())} change events on the timelines (never alerted): {listed}")
    else:
        out.print("no new change events")
