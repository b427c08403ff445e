"""Commands import what they need when they run: `--version` and `--help` load no heavy stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.runner import cli_env

# Run the command in-process in a fresh interpreter, then print which modules it loaded.
_PROBE = """
import sys
from hemewatch.cli import main
sys.argv = ["hemewatch", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
sys.stdout.flush()
print("\\nLOADED " + " ".join(sorted(sys.modules)))
"""

HEAVY = (
    "hemewatch.alerts",
    "hemewatch.web",
    "hemewatch.pipeline",
    "hemewatch.classification",
    "hemewatch.storage",
    "hemewatch.settings",
    "sqlalchemy",
    "alembic",
    "fastapi",
)


def _loaded(tmp_path: Path, *args: str) -> tuple[str, set[str]]:
    env = cli_env(tmp_path, f"sqlite:///{tmp_path / 'probe.db'}")
    command = [sys.executable, "-c", _PROBE, *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True)
    printed, _, modules = done.stdout.rpartition("\nLOADED ")
    return printed, set(modules.split())


def _heavy(modules: set[str], stacks: tuple[str, ...] = HEAVY) -> list[str]:
    return sorted(m for m in modules if any(m == s or m.startswith(s + ".") for s in stacks))


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("trackers", "--help"), ("import", "--help")])
def test_version_and_help_import_no_heavy_stack(tmp_path: Path, args: tuple[str, ...]) -> None:
    printed, modules = _loaded(tmp_path, *args)
    assert "hemewatch" in printed  # the command did print its answer
    assert "hemewatch.cli.alerts" in modules  # every command module was loaded (registered)...
    assert _heavy(modules) == []  # ...without what the commands need only when they run


def test_status_loads_the_database_but_not_the_alert_or_web_stacks(tmp_path: Path) -> None:
    printed, modules = _loaded(tmp_path, "status")
    assert "trials:   0 (0 in scope)" in printed
    assert "sqlalchemy" in modules and "hemewatch.pipeline.status" in modules
    assert _heavy(modules, ("hemewatch.alerts", "hemewatch.web", "fastapi", "uvicorn", "jinja2")) == []


def test_the_tracker_options_help_lists_the_alert_stacks_own_values() -> None:
    from hemewatch.alerts.spec import CADENCES, MIN_SEVERITIES
    from hemewatch.cli import alerts

    assert alerts.CADENCES == CADENCES
    assert alerts.MIN_SEVERITIES == MIN_SEVERITIES
