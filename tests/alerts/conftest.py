"""Fixtures for the alert tests: real SMTP and HTTP receivers on 127.0.0.1, and settings pointing at them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hemewatch.settings import Settings, load_settings
from tests.alerts.servers import HttpReceiver, SmtpServer


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on an ephemeral port."""
    with SmtpServer() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    """A real HTTP server that records what it receives."""
    with HttpReceiver() as server:
        yield server


@pytest.fixture
def make_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Settings]]:
    """Build Settings without reading the environment or a configuration file of the machine."""
    for name in list(os.environ):
        if name.startswith("HEMEWATCH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HEMEWATCH_CONFIG", str(tmp_path / "none.toml"))

    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "home": tmp_path / "home",
            "public_url": "https://hemewatch.example.org",
            "mail_from": "hemewatch <alerts@hemewatch.example.org>",
            "webhook_allow_private": True,
            **overrides,
        }
        return load_settings(**values)

    yield build
