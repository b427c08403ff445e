"""`hemewatch mcp`: the mirror's read-only tools for language-model clients (Model Context Protocol)."""

from __future__ import annotations

from typing import Annotated

import typer

from hemewatch.cli.app import app, database, settings


@app.command()
def mcp(
    http: Annotated[
        bool,
        typer.Option(
            "--http", help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdin/stdout (stdio)."
        ),
    ] = False,
    host: Annotated[
        str,
        typer.Option(
            "--host", help="Interface to listen on with --http; a non-loopback one is warned about."
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on with --http.")
    ] = 8765,
) -> None:
    """Serve the mirror to MCP clients (Claude Desktop, IDEs, agents): search_trials, get_trial,
    list_changes, landscape and prescreen, read-only, every answer bounded.

    By default the client starts this command and talks to it over stdin/stdout; with --http it
    listens on HOST:PORT (127.0.0.1 unless told otherwise) until interrupted.
    """
    # Imported here: the MCP SDK and the web views are needed by this command only.
    from hemewatch.web.mcp_server import serve

    config = settings()
    with database(config) as engine:
        serve(config, engine, http=http, host=host, port=port)
