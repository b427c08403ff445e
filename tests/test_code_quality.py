"""Lint and type checks are part of the test suite, so they fail the build."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)


def test_ruff_finds_nothing() -> None:
    if shutil.which("ruff") is None:
        pytest.fail("ruff is not installed: install the test extras (pip install -e '.[test]')")
    done = _run("ruff", "check", "src", "tests", "bench", "scripts")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_passes() -> None:
    done = _run(sys.executable, "-m", "mypy", "src/hemewatch")
    assert done.returncode == 0, done.stdout + done.stderr
