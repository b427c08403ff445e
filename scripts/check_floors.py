"""Check that every direct dependency is installed at exactly its declared floor (`name>=X`).

Run in an environment made with `uv pip install --resolution lowest-direct -e '.[EXTRAS]'`: a
dependency the resolver had to raise above its floor (another package needs a newer one, or the
floor release cannot be installed) is reported, since that floor was then never tested.

Usage: python scripts/check_floors.py [EXTRA ...]   (default: test)
"""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def declared(extras: list[str]) -> list[Requirement]:
    """The [project] dependencies and those of the given extras that apply to this interpreter."""
    project = tomllib.loads(PYPROJECT.read_text("utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project.get("optional-dependencies", {})[extra]
    requirements = [Requirement(line) for line in lines]
    return [r for r in requirements if r.marker is None or r.marker.evaluate()]


def problems(requirements: list[Requirement]) -> list[str]:
    """One line for each requirement without a floor, not installed, or installed above its floor."""
    found = []
    for requirement in requirements:
        floors = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
        if not floors:
            found.append(f"{requirement}: no >= floor declared")
            continue
        try:
            installed = Version(version(requirement.name))
        except PackageNotFoundError:
            found.append(f"{requirement}: not installed")
            continue
        if installed != max(floors):
            found.append(f"{requirement}: {installed} installed, the floor was not tested")
    return found


def main(argv: list[str]) -> int:
    requirements = declared(argv or ["test"])
    found = problems(requirements)
    for line in found:
        print(line, file=sys.stderr)
    print(f"{len(requirements) - len(found)} of {len(requirements)} dependencies at their declared floor")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
