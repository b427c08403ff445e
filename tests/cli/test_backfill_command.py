"""`hemewatch backfill` as a person runs it: real processes against the fake registry, real exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from hemewatch.storage.engine import open_database
from hemewatch.storage.locks import job_lock
from hemewatch.storage.tables import deliveries, study_versions, sync_runs
from tests.cli.runner import cli_env, hemewatch
from tests.fakeapi.history import real_study, serve_built
from tests.fakeapi.server import FakeRegistryServer

ACTT = "NCT04280705"
MYELOMA = "NCT05827016"
SCOPE_FILE = """
name = "backfill-cli-tests"
[[queries]]
"query.cond" = "COVID-19 OR myeloma"
[local]
fields = ["protocolSection.conditionsModule.conditions[]"]
patterns = ['\\bcovid', '\\bmyeloma\\b']
"""


@pytest.fixture
def env(tmp_path: Path, sqlite_url: str, fake_api: FakeRegistryServer) -> dict[str, str]:
    """A mirror of two trials (imported), their record histories served by the fake registry."""
    scope = tmp_path / "scope.toml"
    scope.write_text(SCOPE_FILE)
    environment = cli_env(tmp_path, sqlite_url, fake_api.base_url, HEMEWATCH_SCOPE_FILE=str(scope))
    records = tmp_path / "records.jsonl"
    studies = [
        real_study("data/ctgov/other_studies.jsonl#NCT04280705"),
        real_study("data/ctgov/versions/NCT05827016__2025-07-01.json"),
    ]
    records.write_bytes(b"\n".join(orjson.dumps(s) for s in studies) + b"\n")
    imported = hemewatch("import", str(records), env=environment)
    assert imported.returncode == 0, imported.stderr
    serve_built(fake_api.history, [ACTT, MYELOMA])
    return environment


def test_backfill_named_trials_and_see_their_past(env: dict[str, str], fake_api: FakeRegistryServer) -> None:
    done = hemewatch("backfill", ACTT, MYELOMA.lower(), "--json", env=env)

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["trials"], report["listed"], report["fetched"], report["stored"], report["linked"]) == (
        2,
        4,
        4,
        2,
        2,
    )
    assert report["failures"] == [] and report["events"]["status_changed"] == 2
    assert {t["nct_id"]: t["registered"] for t in report["by_trial"]}[ACTT] == "2020-02-21"
    assert [r.path for r in fake_api.requests if r.path.endswith("/history")] == [
        f"/api/int/studies/{ACTT}/history",
        f"/api/int/studies/{MYELOMA}/history",
    ]

    shown = json.loads(hemewatch("show", ACTT, "--all", "--json", env=env).stdout)
    assert shown["registered"] == "2020-02-21"
    assert shown["changes"] and all(c["from_history"] for c in shown["changes"])
    assert {c["registry_date"] for c in shown["changes"]} == {"2022-03-14"}
    text = hemewatch("show", ACTT, env=env).stdout
    assert "history" in text and "2020-02-21  registered" in text
    assert "Overall status: not yet recruiting → completed" in text

    again = hemewatch("backfill", ACTT, MYELOMA, env=env)
    assert again.returncode == 0, again.stderr
    assert "2 trials" in again.stdout and "0 fetched, 0 stored" in again.stdout
    assert "no new change events" in again.stdout


def test_backfill_the_scope_in_steps(env: dict[str, str], sqlite_url: str) -> None:
    first = json.loads(hemewatch("backfill", "--scope", "--limit", "1", "--json", env=env).stdout)
    assert first["trials"] == 1 and first["complete_skipped"] == 0
    rest = hemewatch("backfill", "--scope", env=env)
    assert rest.returncode == 0, rest.stderr
    assert "backfill #" in rest.stdout and "1 trials (1 in scope complete already, skipped)" in rest.stdout
    assert "never alerted" in rest.stdout
    last = json.loads(hemewatch("backfill", "--scope", "--json", env=env).stdout)
    assert (last["trials"], last["complete_skipped"]) == (0, 2)
    engine = open_database(sqlite_url)
    try:
        with engine.connect() as conn:
            sources = [r.source for r in conn.execute(select(study_versions.c.source))]
            kinds = [r.kind for r in conn.execute(select(sync_runs.c.kind).order_by(sync_runs.c.id))]
            queued = conn.execute(select(func.count()).select_from(deliveries)).scalar_one()
    finally:
        engine.dispose()
    assert sources.count("history") == 2 and kinds == ["import", "backfill", "backfill", "backfill"]
    assert queued == 0


def test_a_failed_trial_is_named_and_the_exit_code_says_so(
    env: dict[str, str], fake_api: FakeRegistryServer
) -> None:
    fake_api.history.remove(MYELOMA)
    done = hemewatch("backfill", MYELOMA, ACTT, env=env)
    assert done.returncode == 1
    assert f"failed {MYELOMA}: ClinicalTrials.gov has no record history for {MYELOMA}." in done.stderr
    assert "2 trials" in done.stdout and "1 failed" in done.stdout and "1 stored" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Name the trials to backfill (NCT ids), or pass --scope"),
        ((ACTT, "--scope"), "not both"),
        ((ACTT, "--limit", "3"), "--limit goes with --scope"),
        (("NCT0428",), "is not a ClinicalTrials.gov identifier"),
    ],
)
def test_wrong_usage_is_refused(env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    done = hemewatch("backfill", *args, env=env)
    assert done.returncode == 2 and message in " ".join(done.stderr.split())


def test_a_running_sync_makes_it_wait_or_step_aside(env: dict[str, str], sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    try:
        with job_lock(engine, "sync"):
            refused = hemewatch("backfill", ACTT, env=env)
    finally:
        engine.dispose()
    assert refused.returncode == 75 and "another sync has been running" in refused.stderr
    assert hemewatch("backfill", ACTT, "--wait", env=env).returncode == 0


def test_a_registry_url_without_the_sites_api_is_a_configuration_error(env: dict[str, str]) -> None:
    done = hemewatch("backfill", ACTT, env={**env, "HEMEWATCH_REGISTRY_URL": "http://127.0.0.1:9/ctgov"})
    assert done.returncode == 2 and "registry_url to end in /api/v2" in done.stderr
