"""The app as `hemewatch serve` runs it: long-lived objects are left out of the cycle collector's walks."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi.testclient import TestClient

from hemewatch.settings import Settings
from hemewatch.web.server import served_app


def test_a_served_app_freezes_what_it_loaded_and_still_answers(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", secret_key="k")
    gc.unfreeze()
    try:
        app = served_app(settings)
        # The libraries, the lexicon and the app: far more than the few objects made since.
        assert gc.get_freeze_count() > 50_000
        assert len(gc.get_objects()) < gc.get_freeze_count()
        with TestClient(app) as client:
            assert client.get("/search?q=blinatumomab").status_code == 200
    finally:
        gc.unfreeze()  # this test process goes on collecting as before
