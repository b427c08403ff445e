"""One error envelope for the API, one error page for people; the same status codes for both.

A HemewatchError answers with the status its class names (`http_status`, see hemewatch.errors).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from hemewatch.errors import HemewatchError
from hemewatch.web.schemas import ErrorDetail, ErrorEnvelope
from hemewatch.web.security import security_headers

log = logging.getLogger("hemewatch.web")


class PageNotFound(HemewatchError):
    """There is no page at this address."""

    http_status = 404


_JSON_PREFIXES: Final = ("/api/", "/feeds/", "/healthz")
_JSON_PATHS: Final = frozenset({"/openapi.json"})


def wants_json(request: Request) -> bool:
    """True for API paths, exports and clients that ask for JSON rather than HTML."""
    path = request.url.path
    if path.startswith(_JSON_PREFIXES) or path in _JSON_PATHS:
        return True
    if request.query_params.get("format") in ("json", "csv"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _problems(exc: RequestValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body"))
        problems.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return problems


def error_response(
    request: Request, status: int, message: str, problems: list[str] | None = None
) -> Response:
    """The envelope or the error page, with the security headers."""
    if wants_json(request):
        body = ErrorEnvelope(error=ErrorDetail(status=status, message=message, problems=problems or []))
        response: Response = JSONResponse(body.model_dump(), status_code=status)
    else:
        pages = request.app.state.web.pages
        response = pages.error(request, status=status, message=message, problems=problems or [])
    response.headers.update(security_headers(response.headers.get("content-type")))
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else HTTPStatus(status).phrase
    if status == 404 and message == "Not Found":
        message = PageNotFound().message
    response = error_response(request, status, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = _problems(exc)
    return error_response(request, 422, "Invalid request: " + "; ".join(problems), problems)


async def _hemewatch_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HemewatchError)
    status = exc.http_status
    if status >= 500:
        log.error("request failed: %s", exc.message)
    return error_response(request, status, exc.message)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        request, 500, "Internal server error: the problem was logged; please try again later."
    )


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of failure to the envelope (API) or the error page (HTML)."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HemewatchError, _hemewatch_error)
    app.add_exception_handler(Exception, _server_error)
