"""`hemewatch trials` filters and `hemewatch values` as a person runs them: any spelling, unknown refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.cli.runner import cli_env, hemewatch


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory, sqlite_demo_template: Path) -> dict[str, str]:
    """A database with the bundled demo days, copied once for the module (the tests only read it)."""
    folder = tmp_path_factory.mktemp("demo")
    shutil.copyfile(sqlite_demo_template, folder / "hemewatch.db")
    return cli_env(folder, f"sqlite:///{folder / 'hemewatch.db'}")


def _trials(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    done = hemewatch("trials", "--json", "--limit", "500", *args, env=env)
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def _ids(env: dict[str, str], *args: str) -> set[str]:
    return {trial["nct_id"] for trial in _trials(env, *args)}


def test_phase_2_finds_the_phase_2_trials(demo_env: dict[str, str]) -> None:
    every = _trials(demo_env)
    phase_2 = {t["nct_id"] for t in every if "PHASE2" in t["phases"]}
    assert phase_2 and len(phase_2) < len(every)
    for spelling in ("2", "phase 2", "Phase 2", "PHASE2", "phase2"):
        assert _ids(demo_env, "--phase", spelling) == phase_2, spelling
    phase_1 = {t["nct_id"] for t in every if "PHASE1" in t["phases"]}
    assert _ids(demo_env, "--phase", "1", "--phase", "phase 2") == phase_1 | phase_2
    early = {t["nct_id"] for t in every if "EARLY_PHASE1" in t["phases"]}
    assert _ids(demo_env, "--phase", "early phase 1") == early


def test_the_table_counts_the_phase_2_trials(demo_env: dict[str, str]) -> None:
    every = _trials(demo_env)
    total = sum("PHASE2" in t["phases"] for t in every)
    done = hemewatch("trials", "--phase", "2", "--limit", "3", env=demo_env)
    assert done.returncode == 0, done.stderr
    assert f"3 of {total} trials" in done.stdout and "Phase 2" in done.stdout


def test_statuses_in_words(demo_env: dict[str, str]) -> None:
    every = _trials(demo_env)
    waiting = {t["nct_id"] for t in every if t["overall_status"] == "NOT_YET_RECRUITING"}
    assert waiting
    for spelling in ("not yet recruiting", "Not yet recruiting", "NOT_YET_RECRUITING", "not-yet-recruiting"):
        assert _ids(demo_env, "--status", spelling) == waiting, spelling


def test_a_brand_name_finds_the_agent(demo_env: dict[str, str]) -> None:
    blincyto = _trials(demo_env, "--agent", "Blincyto")
    assert blincyto and all("blinatumomab" in t["agents"] for t in blincyto)
    assert {t["nct_id"] for t in blincyto} == _ids(demo_env, "--agent", "blinatumomab")
    assert _ids(demo_env, "--disease", "b-all", "--modality", "t cell engager") == _ids(
        demo_env, "--disease", "B-ALL", "--modality", "T-cell engager"
    )


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--disease", "AMLL", ["unknown disease 'AMLL' (did you mean AML", "`hemewatch values disease`"]),
        ("--target", "CD999", ["unknown target 'CD999'", "targets are known, e.g. CD19"]),
        ("--modality", "CAR-X", ["unknown modality 'CAR-X' (did you mean CAR-T", "modalities are known"]),
        ("--phase", "9", ["unknown phase '9'", "valid phases are EARLY_PHASE1, PHASE1, PHASE2"]),
        ("--phase", "1/2", ["phase '1/2' names two phases"]),
        ("--status", "open", ["unknown status 'open'", "valid statuses are NOT_YET_RECRUITING, RECRUITING"]),
        (
            "--agent",
            "Blincito",
            ["unknown agent 'Blincito' (did you mean blinatumomab?)", "agents are known"],
        ),
    ],
)
def test_unknown_values_are_refused_with_exit_code_2(
    tmp_path: Path, sqlite_url: str, option: str, value: str, expected: list[str]
) -> None:
    done = hemewatch("trials", option, value, env=cli_env(tmp_path, sqlite_url))
    assert done.returncode == 2
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ")
    for text in expected:
        assert text in done.stderr, done.stderr


def test_trackers_refuse_unknown_values(tmp_path: Path, sqlite_url: str) -> None:
    env = cli_env(tmp_path, sqlite_url)
    args = ("trackers", "add", "--name", "n", "--email", "a@example.org", "--no-feed")
    done = hemewatch(*args, "--disease", "AMLL", "--agent", "Blincito", "--status", "open", env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    for text in ("unknown disease 'AMLL'", "unknown agent 'Blincito'", "unknown status 'open'"):
        assert text in done.stderr, done.stderr
    added = hemewatch(*args, "--agent", "Blincyto", "--phase", "2", "--json", env=env)
    assert added.returncode == 0, added.stderr
    assert "blinatumomab" in added.stdout and "PHASE2" in added.stdout


def test_values_lists_what_filters_accept(tmp_path: Path, sqlite_url: str) -> None:
    env = cli_env(tmp_path, sqlite_url)
    counts = json.loads(hemewatch("values", "--json", env=env).stdout)
    assert list(counts) == [
        "disease",
        "modality",
        "drug_class",
        "target",
        "setting",
        "population",
        "role",
        "agent",
        "phase",
        "status",
    ]
    assert counts["phase"] == 6 and counts["agent"] > 100
    agents = json.loads(hemewatch("values", "agent", "--json", env=env).stdout)
    assert {"value": "blinatumomab", "label": "blinatumomab"} in agents
    phases = hemewatch("values", "phase", env=env)
    assert phases.returncode == 0 and "PHASE2  (Phase 2)" in phases.stdout
    assert hemewatch("values", "drug-class", env=env).returncode == 0
    wrong = hemewatch("values", "colour", env=env)
    assert wrong.returncode == 2 and "'colour' is not one of disease" in wrong.stderr
