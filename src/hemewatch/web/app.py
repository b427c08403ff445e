"""The app factory: `create_app(settings)` builds one self-contained FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hemewatch import __version__
from hemewatch.classification.lexicon import default_lexicon
from hemewatch.settings import Settings
from hemewatch.storage.engine import open_database
from hemewatch.web.api import api_router
from hemewatch.web.cache import DataCache
from hemewatch.web.csrf import CsrfSigner
from hemewatch.web.errors import install_error_handlers
from hemewatch.web.guards import RequestGuardMiddleware
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
from hemewatch.web.secret import load_secret_key
from hemewatch.web.security import SecurityHeadersMiddleware
from hemewatch.web.state import WebState

DESCRIPTION = (
    "Acute leukemia clinical trials mirrored from ClinicalTrials.gov: search by disease, modality, "
    "target, setting, population, phase, status and country; each trial's tags with their evidence "
    "and its change events. Every error has the shape "
    '`{"ok": false, "error": {"status": …, "message": …, "problems": […]}}`.'
)


def create_app(settings: Settings) -> FastAPI:
    """A new app on the configured database (migrated on open); nothing is shared between apps."""
    disease_pages = load_disease_pages()
    engine = open_database(settings.effective_database_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="hemewatch",
        version=__version__,
        description=DESCRIPTION,
        # Swagger UI and ReDoc load their code from a CDN; the API is described in /openapi.json.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.web = WebState(
        settings=settings,
        engine=engine,
        cache=DataCache(),
        lexicon=default_lexicon(),
        disease_pages=disease_pages,
        pages=Pages(disease_pages=disease_pages, secure_cookies=settings.public_is_https),
        csrf=CsrfSigner(load_secret_key(settings)),
    )
    install_error_handlers(app)
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
    return app
