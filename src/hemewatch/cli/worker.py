"""`hemewatch worker`: the scheduler alone, in the foreground (a service of its own, or a one-off pass)."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from hemewatch.cli.app import JsonFlag, app, database, settings
from hemewatch.cli.console import out
from hemewatch.errors import JobAlreadyRunning

if TYPE_CHECKING:
    from hemewatch.pipeline.scheduler import Notice


@app.command()
def worker(
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="One pass (look at the registry, run the cycle if it moved, send what is due, run due "
            "tasks), then exit; exit 75 when another scheduler acts, 1 when something failed.",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Run the scheduler: the daily cycle when the registry publishes, due alerts on time, periodic tasks.

    One scheduler acts at a time across processes and machines sharing the database; any other
    stands by and takes over within a poll interval (HEMEWATCH_POLL_INTERVAL) when it stops.
    Each action is logged on stdout (one JSON object a line with --json). SIGTERM or Ctrl-C stop
    it at the next safe point; a second Ctrl-C stops it at once.
    """
    from hemewatch.pipeline.scheduler import Scheduler, StopRequested

    config = settings()
    stop = threading.Event()
    with database(config) as engine:
        scheduler = Scheduler(
            engine,
            config,
            stop=stop,
            on_notice=_printer(as_json),
            public_url_guessed=not config.public_url_is_set,
        )
        previous = {sig: signal.signal(sig, _stopper(stop)) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            if not once:
                scheduler.run()
                return
            result = scheduler.run_once()
        except StopRequested:
            raise typer.Exit(130) from None
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if not result.acted:
        raise JobAlreadyRunning("another scheduler acts; this pass did nothing (see `hemewatch status`)")
    if result.problems:
        raise typer.Exit(1)


def _stopper(stop: threading.Event) -> Callable[[int, FrameType | None], None]:
    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt  # asked twice: stop now (every step resumes next time)
        stop.set()

    return handle


def _printer(as_json: bool) -> Callable[[Notice], None]:
    def show(notice: Notice) -> None:
        if as_json:
            sys.stdout.write(orjson.dumps(notice.to_dict(), option=orjson.OPT_NON_STR_KEYS).decode() + "\n")
            sys.stdout.flush()
            return
        style = "red" if notice.is_problem else "bold"
        stamp = notice.at.strftime("%Y-%m-%d %H:%M:%S")
        out.print(f"{stamp} [{style}]{notice.action}[/]: ", end="")
        out.print(notice.message, markup=False)

    return show
