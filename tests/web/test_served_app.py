"""The app as `hemewatch serve` runs it: long-lived objects are left out of the cycle collector's walks."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi.testclient import TestClient

from hemewatch.settings import Settings
from hemewatch.web.server import served_app


def test_a_served_app_freezes_what_it_loaded_and_still_answers(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", secret_key="k")
    # The test session froze what collection loaded (tests/conftest.py); the app adds its own objects.
    frozen = gc.get_freeze_count()
    app = served_app(settings)
    assert gc.get_freeze_count() > frozen + 1_000
    assert gc.get_count()[0] < 100  # collected before freezing: nothing young left over
    with TestClient(app) as client:
        assert client.get("/search?q=blinatumomab").status_code == 200
