"""The layers of docs/architecture.md, checked on the code (import-linter's contracts in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "hemewatch"
# import-linter writes a cache folder where it runs unless told not to.
_LINT = (
    "import sys; from importlinter.cli import lint_imports_command; "
    "sys.argv = ['lint-imports', '--no-cache']; lint_imports_command()"
)


def _layers() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    return [name.strip() for layer in contract["layers"] for name in layer.split("|")]


def test_import_contracts_are_kept() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _LINT], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_every_package_has_a_layer() -> None:
    """A new package or top-level module must be placed in the layers, or nothing checks its imports."""
    found = {
        f"hemewatch.{path.stem if path.is_file() else path.name}"
        for path in PACKAGE.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists())
        or (path.suffix == ".py" and path.stem not in {"__init__", "__main__"})
    }
    assert found == set(_layers())


def test_architecture_doc_names_every_layer() -> None:
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [name for name in _layers() if f"`{name.removeprefix('hemewatch.')}`" not in doc]
    assert not missing, f"docs/architecture.md does not describe {missing}"
