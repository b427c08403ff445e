"""`hemewatch add / remove / watched / reconcile` as a person runs them: real processes, the fake registry."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from hemewatch.storage.engine import open_database
from hemewatch.storage.locks import job_lock
from hemewatch.storage.tables import trials, watched_trials
from tests.cli.runner import cli_env, hemewatch
from tests.fakeapi.server import FakeRegistryServer

OUTSIDE = "NCT05466149"  # a real lung cancer trial: outside the watch scope
ALIAS, ALIASED = "NCT00075127", "NCT00057759"
UNKNOWN = "NCT09999999"


def _watched(db_url: str) -> list[str]:
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            return [row.nct_id for row in conn.execute(select(watched_trials.c.nct_id).order_by("nct_id"))]
    finally:
        engine.dispose()


def test_add_list_and_remove_a_trial_outside_the_scope(
    tmp_path: Path, db_url: str, fake_api: FakeRegistryServer
) -> None:
    env = cli_env(tmp_path, db_url, registry=fake_api.base_url)

    added = hemewatch("add", OUTSIDE.lower(), "--note", "EGFR exon 20 <b>", "--json", env=env)
    assert added.returncode == 0, added.stderr
    (result,) = json.loads(added.stdout)
    assert result["nct_id"] == OUTSIDE and result["outcome"] == "added"
    assert result["new_to_mirror"] and result["in_scope"] is False and "Furmonertinib" in result["title"]

    listed = json.loads(hemewatch("watched", "--json", env=env).stdout)
    assert [(i["nct_id"], i["in_scope"], i["note"], i["added_by"]) for i in listed] == [
        (OUTSIDE, False, "EGFR exon 20 <b>", "cli")
    ]
    table = hemewatch("watched", env=env)
    assert table.returncode == 0 and OUTSIDE in table.stdout and "outside" in table.stdout
    assert "1 watched trial" in table.stdout

    again = hemewatch("add", OUTSIDE, env=env)
    assert again.returncode == 0 and f"already watching {OUTSIDE}" in again.stdout

    removed = hemewatch("remove", OUTSIDE, env=env)
    assert removed.returncode == 0, removed.stderr
    assert f"stopped watching {OUTSIDE}" in removed.stdout and "no longer synced" in removed.stdout
    assert _watched(db_url) == []
    twice = hemewatch("remove", OUTSIDE, "--json", env=env)
    assert twice.returncode == 1 and json.loads(twice.stdout)[0]["outcome"] == "not_watched"
    empty = hemewatch("watched", env=env)
    assert empty.returncode == 0 and "no trial is watched" in empty.stdout


def test_an_invalid_id_stops_the_command_before_anything_happens(
    tmp_path: Path, sqlite_url: str, fake_api: FakeRegistryServer
) -> None:
    env = cli_env(tmp_path, sqlite_url, registry=fake_api.base_url)
    done = hemewatch("add", OUTSIDE, "NCT123", env=env)
    assert done.returncode == 2
    assert "'NCT123' is not a ClinicalTrials.gov identifier" in done.stderr and "Traceback" not in done.stderr
    assert fake_api.requests == []
    assert hemewatch("remove", "12345678", env=env).returncode == 2


def test_an_unknown_id_is_named_and_the_others_are_still_added(
    tmp_path: Path, sqlite_url: str, fake_api: FakeRegistryServer
) -> None:
    env = cli_env(tmp_path, sqlite_url, registry=fake_api.base_url)
    done = hemewatch("add", UNKNOWN, OUTSIDE, env=env)
    assert done.returncode == 1
    assert f"ClinicalTrials.gov has no study {UNKNOWN}; nothing was stored." in done.stderr
    assert f"watching {OUTSIDE}" in done.stdout
    assert _watched(sqlite_url) == [OUTSIDE]
    engine = open_database(sqlite_url)
    try:
        with engine.connect() as conn:
            stored = [row.nct_id for row in conn.execute(select(trials.c.nct_id))]
    finally:
        engine.dispose()
    assert stored == [OUTSIDE]


def test_an_alias_is_followed_to_its_current_record_and_said(
    tmp_path: Path, sqlite_url: str, fake_api: FakeRegistryServer
) -> None:
    env = cli_env(tmp_path, sqlite_url, registry=fake_api.base_url)
    done = hemewatch("add", ALIAS, env=env)
    assert done.returncode == 0, done.stderr
    assert f"{ALIAS} is now {ALIASED} on ClinicalTrials.gov" in done.stdout
    assert _watched(sqlite_url) == [ALIASED]


def test_reconcile_reports_what_it_found(tmp_path: Path, db_url: str, fake_api: FakeRegistryServer) -> None:
    env = cli_env(tmp_path, db_url, registry=fake_api.base_url)
    assert hemewatch("sync", env=env).returncode == 0
    gone = "NCT05918692"
    fake_api.set_studies(
        [s for s in fake_api.studies if s["protocolSection"]["identificationModule"]["nctId"] != gone]
    )

    done = hemewatch("reconcile", "--json", env=env)

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "completed" and report["checked"] == 28 and report["removed"] == 1
    assert report["changes"] == [{"nct_id": gone, "outcome": "removed", "into": None}]
    again = hemewatch("reconcile", env=env)
    assert again.returncode == 0, again.stderr
    assert (
        "completed: checked 28 followed trials: 0 updated, 0 left scope, 0 merged, 0 removed" in again.stdout
    )
    changes = json.loads(hemewatch("changes", "--type", "record_removed", "--json", env=env).stdout)
    assert [(c["nct_id"], c["severity"]) for c in changes] == [(gone, "critical")]


def test_the_commands_wait_for_a_running_sync_or_say_so(
    tmp_path: Path, sqlite_url: str, fake_api: FakeRegistryServer
) -> None:
    env = cli_env(tmp_path, sqlite_url, registry=fake_api.base_url)
    engine = open_database(sqlite_url)
    try:
        with job_lock(engine, "sync"):
            for command in (("add", OUTSIDE), ("remove", OUTSIDE), ("reconcile",)):
                busy = hemewatch(*command, env=env)
                assert busy.returncode == 75, command
                assert "another sync has been running" in busy.stderr and "--wait" in busy.stderr
    finally:
        engine.dispose()
    assert _watched(sqlite_url) == []
