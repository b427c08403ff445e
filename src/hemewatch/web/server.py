"""Run the app under uvicorn: `hemewatch serve` and `hemewatch demo` call `serve`."""

from __future__ import annotations

import uvicorn

from hemewatch.settings import Settings
from hemewatch.web.app import create_app


def serve(settings: Settings, *, host: str, port: int) -> None:
    """Serve the web app and JSON API until interrupted."""
    app = create_app(settings)
    config = uvicorn.Config(
        app, host=host, port=port, server_header=False, proxy_headers=False, log_level="info"
    )
    uvicorn.Server(config).run()
