"""The app as `hemewatch serve` runs it: long-lived objects left out of the cycle collector's walks, and
the facet index rebuilt in advance when the data change."""

from __future__ import annotations

import gc
import shutil
import time
from pathlib import Path

from fastapi.testclient import TestClient

from hemewatch.pipeline.importing import import_files
from hemewatch.registry.scope import load_scope
from hemewatch.settings import Settings
from hemewatch.storage.engine import open_database
from hemewatch.storage.facet_index import FacetIndex
from hemewatch.storage.runs import data_stamp
from hemewatch.web.server import served_app
from hemewatch.web.state import WebState
from tests.web.data import HOSTILE_ID, hostile_record


class NotBuilt(Exception):
    """The facet index was asked for but nobody had built it."""


def _built_index(state: WebState, deadline: float = 20.0) -> FacetIndex:
    """The facet index of the current data, once the app's own thread has built it (no request asks)."""

    def refuse() -> FacetIndex:
        raise NotBuilt

    give_up = time.monotonic() + deadline
    while True:
        with state.engine.connect() as conn:
            stamp = data_stamp(conn)
        try:
            return state.cache.get_or_compute(("facet-index",), stamp, refuse, keep=True)
        except NotBuilt:
            if time.monotonic() > give_up:
                raise
            time.sleep(0.05)


def test_a_served_app_freezes_what_it_loaded_and_keeps_its_facet_index_warm(
    tmp_path: Path, sqlite_demo_template: Path
) -> None:
    database = tmp_path / "db.sqlite"
    shutil.copyfile(sqlite_demo_template, database)
    url = f"sqlite:///{database}"
    settings = Settings(home=tmp_path, database_url=url, secret_key="k")
    # The test session froze what collection loaded (tests/conftest.py); the app adds its own objects.
    frozen = gc.get_freeze_count()
    app = served_app(settings, warm_every=0.1)
    assert gc.get_freeze_count() > frozen + 1_000
    state: WebState = app.state.web
    with TestClient(app) as client:
        before = _built_index(state)
        assert before.size > 0 and HOSTILE_ID not in before.positions
        # New data: the index is rebuilt without a visitor asking for it.
        engine = open_database(url)
        try:
            import_files(engine, [hostile_record(tmp_path)], scope=load_scope(), in_scope_only=True)
        finally:
            engine.dispose()
        after = _built_index(state)
        assert HOSTILE_ID in after.positions and after.size == before.size + 1
        assert client.get("/search?q=blinatumomab").status_code == 200
    # Stopping the app stops its thread.
    assert state.stopped.is_set()
