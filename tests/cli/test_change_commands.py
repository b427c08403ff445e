"""`hemewatch changes` and `hemewatch show` on the bundled demo data (two registry days)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.cli.runner import cli_env, hemewatch


@pytest.fixture
def demo_env(tmp_path: Path, db_url: str, demo: Engine) -> dict[str, str]:
    """The commands' environment, on a database holding both bundled registry days (tests/conftest.py)."""
    return cli_env(tmp_path, db_url)


def test_changes_filters_and_json(demo_env: dict[str, str]) -> None:
    every = json.loads(hemewatch("changes", "--json", env=demo_env).stdout)
    assert isinstance(every, list) and len(every) == 10
    assert {
        "nct_id",
        "type",
        "severity",
        "path",
        "before",
        "after",
        "summary",
        "old_version_id",
        "new_version_id",
        "registry_date",
        "detected_at",
    } <= set(every[0])
    statuses = json.loads(hemewatch("changes", "--json", "--type", "status_changed", env=demo_env).stdout)
    assert {c["nct_id"] for c in statuses} == {"NCT04265963", "NCT05464836"}
    one = json.loads(hemewatch("changes", "--json", "--nct", "nct05464836", env=demo_env).stdout)
    assert [c["type"] for c in one] == ["status_changed"]
    assert one[0]["after"]["whyStopped"].startswith("Sponsor decision")
    recent = json.loads(hemewatch("changes", "--json", "--since", "2025-07-08", env=demo_env).stdout)
    assert all(c["registry_date"] >= "2025-07-08" for c in recent) and len(recent) == 10
    none = json.loads(hemewatch("changes", "--json", "--since", "2025-07-09", env=demo_env).stdout)
    assert none == []
    with_admin = json.loads(hemewatch("changes", "--json", "--all", env=demo_env).stdout)
    assert len(with_admin) > len(every)
    assert {c["severity"] for c in with_admin} - {c["severity"] for c in every} == {"administrative"}


def test_show_prints_the_trial_and_its_timeline(demo_env: dict[str, str]) -> None:
    text = hemewatch("show", "NCT03319901", env=demo_env)
    assert text.returncode == 0, text.stderr
    assert "NCT03319901" in text.stdout and "Venetoclax" in text.stdout
    assert "https://clinicaltrials.gov/study/NCT03319901" in text.stdout
    assert "results_posted" in text.stdout
    data = json.loads(hemewatch("show", "--json", "NCT03319901", env=demo_env).stdout)
    assert data["nct_id"] == "NCT03319901" and data["version_count"] == 2
    assert [c["type"] for c in data["changes"]] == ["results_posted"]


BAD_ARGUMENTS = [
    (["show", "NCT0000"], "eight digits"),
    (["show", "NCT00000000"], "not in the local mirror"),
    (["changes", "--type", "bogus"], "unknown event type"),
    (["changes", "--since", "yesterday"], "YYYY-MM-DD"),
]


def test_bad_arguments_get_a_clear_message(demo_env: dict[str, str]) -> None:
    for args, message in BAD_ARGUMENTS:
        done = hemewatch(*args, env=demo_env)
        assert done.returncode in (1, 2), args
        assert message in done.stderr and "Traceback" not in done.stderr, args
