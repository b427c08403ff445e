"""A registry client for the pipeline tests, pointed at the fake registry and never sleeping."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hemewatch.registry.client import RegistryClient
from hemewatch.settings import USER_AGENT
from tests.fakeapi.server import FakeRegistryServer


@pytest.fixture
def client(fake_api: FakeRegistryServer) -> Iterator[RegistryClient]:
    """A client with no rate limit and recorded (not slept) back-off delays."""
    delays: list[float] = []
    with RegistryClient(
        fake_api.base_url,
        user_agent=USER_AGENT,
        requests_per_minute=0,
        timeout=5.0,
        max_retries=2,
        backoff_base=0.01,
        sleep=delays.append,
    ) as registry:
        yield registry
