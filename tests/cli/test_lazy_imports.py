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


def test_version_loads_no_command_module(tmp_path: Path) -> None:
    printed, modules = _loaded(tmp_path, "--version")
    assert printed.strip() == "hemewatch 0.1.0"
    assert "hemewatch.cli.app" in modules
    assert sorted(m for m in modules if m.startswith("hemewatch.cli.") and m != "hemewatch.cli.app") == []
    assert _heavy(modules, (*HEAVY, "rich")) == []


@pytest.mark.parametrize("args", [("--help",), ("trackers", "--help"), ("import", "--help")])
def test_help_imports_no_heavy_stack(tmp_path: Path, args: tuple[str, ...]) -> None:
    printed, modules = _loaded(tmp_path, *args)
    assert "hemewatch" in printed  # the command did print its answer
    assert "hemewatch.cli.alerts" in modules  # every command module was loaded (registered)...
    assert _heavy(modules) == []  # ...without what the commands need only when they run


def test_status_loads_the_database_but_not_the_migrations_alerts_or_web(tmp_path: Path) -> None:
    env = cli_env(tmp_path, f"sqlite:///{tmp_path / 'probe.db'}")
    subprocess.run([sys.executable, "-m", "hemewatch", "migrate"], env=env, capture_output=True, check=True)
    printed, modules = _loaded(tmp_path, "status")
    assert "trials:   0 (0 in scope)" in printed
    assert "sqlalchemy" in modules and "hemewatch.pipeline.status" in modules
    # A current schema is recognised without Alembic, the migration scripts or what they import.
    stacks = ("alembic", "mako", "hemewatch.classification", "hemewatch.storage.text_index")
    assert _heavy(modules, stacks) == []
    assert _heavy(modules, ("hemewatch.alerts", "hemewatch.web", "fastapi", "uvicorn", "jinja2")) == []


def test_status_on_a_new_database_creates_the_schema_first(tmp_path: Path) -> None:
    printed, modules = _loaded(tmp_path, "status")
    assert "trials:   0 (0 in scope)" in printed
    assert "alembic" in modules  # the schema was created on opening, as before


def test_the_app_has_every_command_even_after_a_command_module_was_imported_alone() -> None:
    # Importing a command module first binds hemewatch.cli.app (the submodule) on the package:
    # `from hemewatch.cli import app` must still be the application with every command.
    probe = (
        "import hemewatch.cli.mirror, typer\n"
        "from hemewatch.cli import app\n"
        "print(type(app).__name__, *sorted(typer.main.get_command(app).commands))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    kind, *names = done.stdout.split()
    assert kind == "Typer"
    assert {"status", "migrate", "serve", "trackers", "changes", "agents", "worker"} <= set(names)


def test_the_tracker_options_help_lists_the_alert_stacks_own_values() -> None:
    from hemewatch.alerts.spec import CADENCES, MIN_SEVERITIES
    from hemewatch.cli import alerts

    assert alerts.CADENCES == CADENCES
    assert alerts.MIN_SEVERITIES == MIN_SEVERITIES
