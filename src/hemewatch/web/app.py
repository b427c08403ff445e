"""The app factory: `create_app(settings)` builds one self-contained FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from hemewatch import __version__
from hemewatch.classification.lexicon import default_lexicon
from hemewatch.settings import Settings
from hemewatch.storage.engine import open_database
from hemewatch.web.api import api_router
from hemewatch.web.cache import DataCache
from hemewatch.web.errors import install_error_handlers
from hemewatch.web.guards import RequestGuardMiddleware
from hemewatch.web.http_cache import ConditionalGetMiddleware
from hemewatch.web.layouts import load_disease_pages
from hemewatch.web.pages import Pages
from hemewatch.web.routes import (
    changes,
    diseases,
    feeds,
    home,
    landscape,
    prescreen,
    search,
    trackers,
    trials,
    watch,
)
from hemewatch.web.routes.status import router as status_router
from hemewatch.web.security import CsrfSigner, SecurityHeadersMiddleware, load_secret_key
from hemewatch.web.state import PageSlots, WebState

DESCRIPTION = (
    "Acute leukemia clinical trials mirrored from ClinicalTrials.gov: search by disease, modality, "
    "target, setting, population, phase, status and country; each trial's tags with their evidence "
    "and its change events. Every error has the shape "
    '`{"ok": false, "error": {"status": …, "message": …, "problems": […]}}`.'
)


# The API docs page: Swagger UI 5 from the installed fastapi-offline package (which bundles it so
# that nothing loads from a CDN), started by a script of its own (the Content-Security-Policy allows
# no inline script).
DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>hemewatch API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
"""
DOCS_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
});
"""


def operation_id(route: APIRoute) -> str:
    """A readable operation id from the route's name: `api_trial_changes` -> `getTrialChanges`.

    The names are the route functions' (`api_` dropped), prefixed by the method: stable as long as
    the functions keep their names; tests/web/test_openapi_ids.py lists them.
    """
    method = min(route.methods or {"GET"}).lower()
    words = route.name.removeprefix("api_").split("_")
    return method + "".join(word[:1].upper() + word[1:] for word in words if word)


def _mount_api_docs(app: FastAPI) -> None:
    assets = resources.files("fastapi_offline") / "static"

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)

    @app.get("/api/docs/init.js", include_in_schema=False)
    def api_docs_init() -> Response:
        return Response(DOCS_INIT, media_type="text/javascript; charset=utf-8")

    app.mount("/api/docs/assets", StaticFiles(directory=str(assets)), name="api_docs_assets")


def create_app(settings: Settings) -> FastAPI:
    """A new app on the configured database (migrated on open); nothing is shared between apps."""
    disease_pages = load_disease_pages()
    engine = open_database(settings.effective_database_url)
    lexicon = default_lexicon()
    lexicon.matcher.compile()  # before the first search needs it (once per process, ~0.3 s)

    @asynccontextmanager
    async def lifespan(served: FastAPI) -> AsyncIterator[None]:
        yield
        served.state.web.stopped.set()
        engine.dispose()

    app = FastAPI(
        title="hemewatch",
        version=__version__,
        description=DESCRIPTION,
        # FastAPI's own docs pages load their code from a CDN: /api/docs serves the packaged Swagger UI.
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
    )
    app.state.web = WebState(
        settings=settings,
        engine=engine,
        cache=DataCache(),
        lexicon=lexicon,
        disease_pages=disease_pages,
        pages=Pages(disease_pages=disease_pages, secure_cookies=settings.public_is_https),
        csrf=CsrfSigner(load_secret_key(settings)),
        page_slots=PageSlots(settings.web_pages_at_once),
    )
    install_error_handlers(app)
    # Innermost: it sees HEAD as the GET the guard turns it into, and its 304s get the security headers.
    app.add_middleware(ConditionalGetMiddleware)
    app.add_middleware(RequestGuardMiddleware)
    # Added last, so outermost: the guard's own answers carry the security headers too.
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(packages=[("hemewatch.web", "static")]), name="static")
    for router in (
        home.router,
        diseases.router,
        trials.router,
        search.router,
        landscape.router,
        changes.router,
        prescreen.router,
        trackers.router,
        feeds.router,
        watch.router,
        status_router,
    ):
        app.include_router(router)
    app.include_router(api_router())
    _mount_api_docs(app)
    return app
