"""Every setting and every command is documented."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from hemewatch.cli import app
from hemewatch.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def _docs() -> str:
    return "\n".join(
        p.read_text("utf-8") for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    )


def test_every_setting_is_documented() -> None:
    text = (REPO / "docs" / "configuration.md").read_text("utf-8")
    missing = [name for name in Settings.model_fields if f"HEMEWATCH_{name.upper()}" not in text]
    assert missing == []


def test_every_command_is_documented() -> None:
    text = _docs()
    group = get_command(app)
    names = list(group.commands)  # type: ignore[attr-defined]
    assert names
    missing = [name for name in names if f"hemewatch {name}" not in text]
    assert missing == []


def test_readme_opens_with_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    ci = (REPO / ".ci" / "run").read_text("utf-8")
    test_command = "python3 -m pip install -e '.[test]' && python3 -m pytest"
    assert "python3 -m pip install . && hemewatch demo" in readme
    assert test_command in readme
    # CI runs exactly the README's test command first (then the fast tests at the dependency floors).
    commands = [line for line in ci.splitlines() if line.startswith(("python3 ", '"$floors', "PATH="))]
    assert commands[0] == test_command
