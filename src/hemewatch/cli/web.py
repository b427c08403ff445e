"""`hemewatch serve`: the web app and JSON API, with the scheduler beside them."""

from __future__ import annotations

from typing import Annotated

import typer

from hemewatch.cli.app import app, settings


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Interface to listen on (default: web_host).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="Port to listen on (default: web_port).")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Web worker processes (one scheduler for all).")
    ] = 1,
    scheduler: Annotated[
        bool,
        typer.Option(
            "--scheduler/--no-scheduler",
            help="Run the scheduler (daily cycle, due alerts) in the same service; off when a "
            "`hemewatch worker` or cron does it.",
        ),
    ] = True,
) -> None:
    """Serve the web app and the JSON API, and keep the mirror and the alerts going (the scheduler).

    Links in mails and feeds use HEMEWATCH_PUBLIC_URL, or else the address served here.
    """
    # Imported here: the web stack is not needed by the other commands.
    from hemewatch.web import serve as serve_web

    config = settings()
    serve_web(
        config,
        host=host or config.web_host,
        port=port or config.web_port,
        workers=workers,
        scheduler=scheduler,
    )
