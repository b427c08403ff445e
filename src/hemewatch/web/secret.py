"""The key that signs form tokens: configured, or generated once and kept in <home>/secret_key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from hemewatch.errors import ConfigurationError
from hemewatch.settings import Settings

KEY_FILE_NAME = "secret_key"


def load_secret_key(settings: Settings) -> str:
    """Return settings.secret_key, else the key in <home>/secret_key, creating it on first use."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.home / KEY_FILE_NAME
    existing = _read(path)
    if existing:
        return existing
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: when two processes start at once, exactly one writes and both read the same key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path) or _unusable(path, "it is empty")
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot create the secret key file {path}: {exc.strerror}; set HEMEWATCH_SECRET_KEY instead."
        ) from exc
    key = secrets.token_urlsafe(48)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def _read(path: Path) -> str | None:
    try:
        return path.read_text("ascii").strip() or None
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        _unusable(path, str(exc))
        raise AssertionError("unreachable") from exc


def _unusable(path: Path, why: str) -> str:
    raise ConfigurationError(
        f"The secret key file {path} cannot be used ({why}); delete it or set HEMEWATCH_SECRET_KEY."
    )
