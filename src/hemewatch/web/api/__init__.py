"""The JSON API under /api/v1: one router per resource, every error in the same envelope."""

from __future__ import annotations

from fastapi import APIRouter

from hemewatch.web.api import changes, export, facets, fhir, prescreen, status, trials
from hemewatch.web.schemas import ErrorEnvelope

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorEnvelope, "description": "Not found."},
    422: {"model": ErrorEnvelope, "description": "Invalid parameters."},
    500: {"model": ErrorEnvelope, "description": "Server error."},
    503: {"model": ErrorEnvelope, "description": "The database is unavailable."},
}


def api_router() -> APIRouter:
    """Every /api/v1 route."""
    router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
    router.include_router(trials.router)
    router.include_router(fhir.router)  # /trials/{nct_id}/fhir and /fhir/ResearchStudy
    router.include_router(changes.router)
    router.include_router(facets.router)
    router.include_router(status.router)
    router.include_router(prescreen.router)
    router.include_router(export.router)
    return router
