"""One Settings object, read from a TOML file and HEMEWATCH_* environment variables.

Precedence, highest first: explicit keyword arguments, environment variables, the TOML
file (``$HEMEWATCH_CONFIG`` or ``<home>/hemewatch.toml``), defaults.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hemewatch import __version__
from hemewatch.errors import ConfigurationError

DEFAULT_REGISTRY_URL = "https://clinicaltrials.gov/api/v2"
USER_AGENT = f"hemewatch/{__version__} (+https://github.com/hemewatch/hemewatch; self-hosted trial monitor)"


def default_home() -> Path:
    """Return the data folder used when HEMEWATCH_HOME is not set."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "hemewatch"


def _config_file() -> Path:
    explicit = os.environ.get("HEMEWATCH_CONFIG")
    if explicit:
        return Path(explicit)
    home = os.environ.get("HEMEWATCH_HOME")
    return (Path(home) if home else default_home()) / "hemewatch.toml"


class Settings(BaseSettings):
    """Runtime configuration for every hemewatch entry point."""

    model_config = SettingsConfigDict(env_prefix="HEMEWATCH_", extra="forbid", frozen=True)

    home: Path = Field(default_factory=default_home, description="Data folder (database, caches).")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default is a SQLite file in the data folder. "
        "Use postgresql+psycopg://user@host/db for PostgreSQL.",
    )
    registry_url: str = Field(default=DEFAULT_REGISTRY_URL, description="ClinicalTrials.gov API v2 base URL.")
    requests_per_minute: float = Field(default=50, ge=0, description="Client-side rate limit (0 disables).")
    request_timeout: float = Field(
        default=30.0, gt=0, description="Seconds before a registry request times out."
    )
    max_retries: int = Field(default=5, ge=0, description="Retries on timeouts, 429 and 5xx.")
    scope_file: Path | None = Field(
        default=None, description="TOML watch scope; default is the bundled scope."
    )
    page_size: int = Field(default=1000, ge=1, le=1000, description="Studies per registry page.")
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Address of the web app, used for links in mails and feeds.",
    )
    web_host: str = Field(default="127.0.0.1", description="Interface `hemewatch serve` listens on.")
    web_port: int = Field(default=8000, ge=1, le=65535, description="Port `hemewatch serve` listens on.")
    secret_key: str | None = Field(
        default=None,
        description="Key for signing tokens and forms; default: generated once, kept in <home>/secret_key.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="SMTP server for e-mail: smtp://host:25, smtp+starttls://user:pass@host:587, "
        "smtps://user:pass@host:465.",
    )
    mail_from: str = Field(default="hemewatch <hemewatch@localhost>", description="From address of e-mails.")
    webhook_allow_private: bool = Field(
        default=False, description="Allow webhook targets in private, loopback or link-local address ranges."
    )
    delivery_max_attempts: int = Field(
        default=8, ge=1, description="Attempts before a delivery is marked dead."
    )
    delivery_backoff_seconds: float = Field(
        default=60.0, gt=0, description="First retry delay of a failed delivery; doubles with each attempt."
    )
    mails_per_address_per_hour: int = Field(
        default=3,
        ge=1,
        description="Confirmation and notice mails the web forms send one address in an hour.",
    )
    mails_per_client_per_hour: int = Field(
        default=10, ge=1, description="Mails the web forms send on behalf of one client address in an hour."
    )
    mails_per_hour: int = Field(
        default=100, ge=1, description="Mails the web forms send in total in an hour."
    )

    @field_validator("public_url")
    @classmethod
    def _absolute_public_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "must be an absolute http:// or https:// address, e.g. https://trials.example.org"
            )
        return value.strip().rstrip("/")

    @property
    def public_is_https(self) -> bool:
        """True when readers reach the web app over https (cookies are then marked Secure)."""
        return urlsplit(self.public_url).scheme.lower() == "https"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'hemewatch.db'}"


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning invalid configuration into a ConfigurationError."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"Invalid hemewatch configuration: {problems}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"The configuration file {_config_file()} is not valid TOML: {exc}") from exc
