"""Pytest fixtures: a fresh fake ClinicalTrials.gov API per test, and a client of it that never sleeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hemewatch.registry.client import RegistryClient
from hemewatch.settings import USER_AGENT
from tests.fakeapi.sample import load_sample_studies
from tests.fakeapi.server import FakeRegistryServer


@pytest.fixture
def fake_api() -> Iterator[FakeRegistryServer]:
    """A running fake API on 127.0.0.1 serving the bundled real sample studies."""
    with FakeRegistryServer(load_sample_studies()) as server:
        yield server


@pytest.fixture
def delays() -> list[float]:
    """The back-off delays the ``client`` asked for (recorded, not slept)."""
    return []


@pytest.fixture
def client(fake_api: FakeRegistryServer, delays: list[float]) -> Iterator[RegistryClient]:
    """A client of the fake API with no rate limit and recorded (not slept) back-off delays."""
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
