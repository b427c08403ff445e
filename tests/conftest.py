"""Shared fixtures: the bundled real records (tests/realdata.py), and databases on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from hemewatch.storage.engine import open_database
from tests.realdata import real_data

pytest_plugins = ["tests.fakeapi.fixtures"]

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("HEMEWATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def real_records() -> Path:
    """The read-only real ClinicalTrials.gov records and gold labels."""
    return real_data()


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[str]:
    """A reachable PostgreSQL server's admin URL; skips only when none answers and CI is not set."""
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and did not answer at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"no PostgreSQL server answers at {PG_ADMIN_URL}")
    yield PG_ADMIN_URL


def _sqlalchemy_url(admin_url: str, database: str) -> str:
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{database}"


@pytest.fixture
def postgres_url(postgres_admin: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"hemewatch_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _sqlalchemy_url(postgres_admin, name)
    finally:
        with psycopg.connect(postgres_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file for one test."""
    return f"sqlite:///{tmp_path / 'hemewatch.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each storage test runs once on SQLite and once on the real PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database on SQLite or PostgreSQL."""
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()
