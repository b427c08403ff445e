"""Run `hemewatch` as a person does: a real process, with its configuration in HEMEWATCH_* variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

UNREACHABLE_REGISTRY = "http://127.0.0.1:9/api/v2"


def cli_env(
    tmp_path: Path, db_url: str, registry: str = UNREACHABLE_REGISTRY, **extra: str
) -> dict[str, str]:
    """The environment of one test's commands: its own data folder and database, no machine config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEMEWATCH_")}
    env.update(
        HEMEWATCH_HOME=str(tmp_path / "home"),
        HEMEWATCH_CONFIG=str(tmp_path / "no-config.toml"),
        HEMEWATCH_DATABASE_URL=db_url,
        HEMEWATCH_REGISTRY_URL=registry,
        HEMEWATCH_REQUESTS_PER_MINUTE="0",
        HEMEWATCH_MAX_RETRIES="1",
        HEMEWATCH_REQUEST_TIMEOUT="5",
        COLUMNS="200",
    )
    env.update(extra)
    return env


def hemewatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one command to its end and capture what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "hemewatch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start a command in the background (to interrupt it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "hemewatch", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
