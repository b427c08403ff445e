"""The ``fake_api`` pytest fixture: a fresh fake ClinicalTrials.gov API per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakeapi.sample import load_sample_studies
from tests.fakeapi.server import FakeRegistryServer


@pytest.fixture
def fake_api() -> Iterator[FakeRegistryServer]:
    """A running fake API on 127.0.0.1 serving the bundled real sample studies."""
    with FakeRegistryServer(load_sample_studies()) as server:
        yield server
