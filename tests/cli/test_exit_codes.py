"""The exit codes the README promises: 0 success, 1 rejected or failed, 2 configuration or usage
error, 75 when another process runs the same job — through the command line, one test per code."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import hemewatch
from hemewatch.errors import HemewatchError
from hemewatch.storage.engine import open_database
from hemewatch.storage.locks import job_lock
from tests.cli.runner import cli_env
from tests.cli.runner import hemewatch as run_hemewatch


@pytest.fixture
def env(tmp_path: Path, sqlite_url: str) -> dict[str, str]:
    return cli_env(tmp_path, sqlite_url)


def test_success_exits_0(env: dict[str, str]) -> None:
    done = run_hemewatch("migrate", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert run_hemewatch("status", env=env).returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import", "no-such-file.jsonl"), "no such file or folder"),
        (("sync",), "error:"),  # the registry cannot be reached
    ],
    ids=["rejected", "failed"],
)
def test_rejected_or_failed_exits_1(env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    done = run_hemewatch(*args, env=env)
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "variables", "message"),
    [
        (("status",), {"HEMEWATCH_DATABASE_URL": "mysql://nowhere/x"}, "Unsupported database 'mysql'"),
        (("status",), {"HEMEWATCH_DATABASE_URL": "not a url"}, "Invalid database URL"),
        (("status",), {"HEMEWATCH_PAGE_SIZE": "5000"}, "page_size"),
        (("add", "NCT123"), {}, "is not a ClinicalTrials.gov identifier"),
        (("trials", "--phase", "7"), {}, "unknown phase '7'"),
        (("sync", "--no-such-option"), {}, "No such option"),
    ],
    ids=["unsupported-database", "invalid-database-url", "bad-setting", "bad-nct-id", "bad-filter", "usage"],
)
def test_configuration_or_usage_errors_exit_2(
    env: dict[str, str], args: tuple[str, ...], variables: dict[str, str], message: str
) -> None:
    done = run_hemewatch(*args, env={**env, **variables})
    assert done.returncode == 2, done.stderr
    assert message in " ".join(done.stderr.split()) and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["sync", "run"])
def test_a_job_already_running_exits_75(env: dict[str, str], sqlite_url: str, command: str) -> None:
    engine = open_database(sqlite_url)
    try:
        with job_lock(engine, "sync"):
            done = run_hemewatch(command, env=env)
    finally:
        engine.dispose()
    assert done.returncode == 75
    assert "another sync has been running" in done.stderr and "--wait" in done.stderr


def test_every_error_names_its_exit_code_and_http_status() -> None:
    for module in pkgutil.walk_packages(hemewatch.__path__, "hemewatch."):
        if ".migrations" not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    kinds = _subclasses(HemewatchError)
    assert len(kinds) > 30
    for kind in kinds:
        assert kind.exit_code in (1, 2, 75), kind
        assert 400 <= kind.http_status < 600, kind


def _subclasses(kind: type[HemewatchError]) -> set[type[HemewatchError]]:
    found = {kind}
    for sub in kind.__subclasses__():
        found |= _subclasses(sub)
    return found
