"""Property-based API tests from /openapi.json (schemathesis, in process, a bounded number of examples).

Operations are driven through schemathesis' library API with hypothesis directly rather than its
pytest plugin, which depends on pytest internals that change between pytest releases.
"""

from __future__ import annotations

from collections.abc import Callable

import schemathesis
from hypothesis import HealthCheck, given, settings

from hemewatch.settings import Settings
from hemewatch.web import create_app

PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_every_operation_honours_its_documentation(make_settings: Callable[..., Settings]) -> None:
    """No server error, documented status codes, and bodies that match their schema (errors included)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(make_settings()))
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @PROPERTY_SETTINGS
        @given(case=operation.as_strategy())
        def honours_documentation(case: schemathesis.Case) -> None:
            case.call_and_validate()

        honours_documentation()
        checked.append(operation.label)
    assert len(checked) >= 6, checked
