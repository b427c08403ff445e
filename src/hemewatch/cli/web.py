"""`hemewatch serve`: the web app and JSON API."""

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
) -> None:
    """Serve the web app (disease pages, search, landscape, trackers) and the JSON API."""
    # Imported here: the web stack is not needed by the other commands.
    from hemewatch.web import serve as serve_web

    config = settings()
    serve_web(config, host=host or config.web_host, port=port or config.web_port)
