"""Property-based API tests from /openapi.json (schemathesis, in process, a bounded number of examples)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.schemas import OpenApiSchema

from hemewatch.settings import Settings
from hemewatch.web import create_app


@pytest.fixture
def api_schema(make_settings: Callable[..., Settings]) -> OpenApiSchema:
    """The app's own OpenAPI document, loaded through the app itself."""
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(make_settings()))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_operation_honours_its_documentation(case: schemathesis.Case) -> None:
    """No server error, documented status codes, and bodies that match their schema (errors included)."""
    case.call_and_validate()
