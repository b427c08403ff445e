"""One Settings object, read from a TOML file and HEMEWATCH_* environment variables.

Precedence, highest first: explicit keyword arguments, environment variables, the TOML
file (``$HEMEWATCH_CONFIG`` or ``<home>/hemewatch.toml``), defaults.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hemewatch import __version__
from hemewatch.errors import ConfigurationError

DEFAULT_REGISTRY_URL = "https://clinicaltrials.gov/api/v2"
# Settings that may be read from a file (HEMEWATCH_<NAME>_FILE, or a file in a secrets folder).
SECRET_SETTINGS = ("database_url", "smtp_url", "secret_key")
# Where container engines (Docker, Podman) mount secrets.
CONTAINER_SECRETS = Path("/run/secrets")
USER_AGENT = f"hemewatch/{__version__} (+https://github.com/hemewatch/hemewatch; self-hosted trial monitor)"


def default_home() -> Path:
    """Return the data folder used when HEMEWATCH_HOME is not set."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "hemewatch"


def served_url(host: str, port: int) -> str:
    """The address of a web app listening on host:port, as a reader would type it.

    A wildcard interface (0.0.0.0, ::, empty) is named by this machine's host name.
    """
    name = host.strip().strip("[]")
    if name in ("", "0.0.0.0", "::"):  # noqa: S104  (naming an address, not binding to it)
        name = socket.getfqdn() or "localhost"
    try:
        if ipaddress.ip_address(name).version == 6:
            name = f"[{name}]"
    except ValueError:
        pass  # a host name
    return f"http://{name}:{port}"


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
    web_host: str = Field(default="127.0.0.1", description="Interface `hemewatch serve` listens on.")
    web_port: int = Field(default=8000, ge=1, le=65535, description="Port `hemewatch serve` listens on.")
    # Declared after web_host and web_port: its default is the address they make.
    public_url: str = Field(
        default_factory=lambda data: served_url(data["web_host"], data["web_port"]),
        description="Address of the web app, used for links in mails and feeds; "
        "default: the address the web app is served at.",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Addresses of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are trusted "
        "(comma-separated, * for any); empty: none.",
    )
    web_pages_at_once: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Pages and API answers one web process computes at once; other requests wait their turn.",
    )
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
    digest_max_changes: int = Field(
        default=50,
        ge=1,
        le=500,
        description="Changes an e-mail digest shows; it counts the others and links to them.",
    )
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
    poll_interval: float = Field(
        default=900.0,
        gt=0,
        description="Seconds between two looks of the scheduler at the registry's data timestamp.",
    )
    reconcile_interval: timedelta = Field(
        default=timedelta(days=7),
        ge=timedelta(0),
        description="How often the scheduler reconciles the mirror with the registry; 0 disables.",
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

    @field_validator("reconcile_interval", mode="before")
    @classmethod
    def _seconds_or_duration(cls, value: Any) -> Any:
        # A number is seconds ("604800", "0"); anything else is an ISO 8601 duration ("P7D").
        if isinstance(value, str):
            try:
                return timedelta(seconds=float(value))
            except ValueError:
                return value.strip()
        return value

    @property
    def public_url_is_set(self) -> bool:
        """True when public_url was configured (environment, file or argument), not derived."""
        return "public_url" in self.model_fields_set

    def served_at(self, host: str, port: int) -> Settings:
        """These settings for a web app served on host:port: public_url defaults to that address."""
        update: dict[str, Any] = {"web_host": host, "web_port": port}
        if self.public_url_is_set:
            return self.model_copy(update=update)
        served = self.model_copy(update={**update, "public_url": served_url(host, port)})
        # Still derived, not configured (status says which).
        served.model_fields_set.discard("public_url")
        return served

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
        folders = [
            SecretsFolderSource(settings_cls, folder, prefix=prefix, origin=origin)
            for folder, origin in secrets_folders()
            for prefix in ("", "HEMEWATCH_")
        ]
        return (init_settings, env_settings, SecretFilesSource(settings_cls), *folders, toml)

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'hemewatch.db'}"


class SecretFilesSource(PydanticBaseSettingsSource):
    """Secrets named by `HEMEWATCH_<NAME>_FILE`: the path of a file holding the value.

    Surrounding whitespace (the final newline) is not part of the value.
    """

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: every value is read in __call__."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in SECRET_SETTINGS:
            variable = f"HEMEWATCH_{name.upper()}_FILE"
            explicit = os.environ.get(variable, "").strip()
            if explicit:
                values[name] = _read_secret(Path(explicit), variable)
        return values


class SecretsFolderSource(SecretsSettingsSource):
    """The secret settings from files in a folder, named after the setting or after its variable.

    pydantic-settings finds the file (names compared without regard to case) and strips the value;
    settings other than SECRET_SETTINGS are never read from the folder.
    """

    def __init__(self, settings_cls: type[BaseSettings], folder: Path, *, prefix: str, origin: str) -> None:
        super().__init__(settings_cls, secrets_dir=folder, case_sensitive=False, env_prefix=prefix)
        self.folder = folder
        self.prefix = prefix
        self.origin = origin

    def __call__(self) -> dict[str, Any]:
        try:
            return super().__call__()
        except ValueError as exc:  # pydantic-settings wraps what get_field_value raises in a SettingsError
            if isinstance(exc.__cause__, ConfigurationError):
                raise exc.__cause__ from exc.__cause__.__cause__
            raise

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """The value of a secret setting's file in the folder, if there is one."""
        if field_name not in SECRET_SETTINGS:
            return None, field_name, False
        try:
            return super().get_field_value(field, field_name)
        except (OSError, UnicodeDecodeError) as exc:
            name = f"{self.prefix}{field_name}"
            path = getattr(exc, "filename", None) or self.find_case_path(self.folder, name, False) or name
            raise ConfigurationError(_unreadable(path, self.origin, exc)) from exc


def secrets_folders() -> list[tuple[Path, str]]:
    """The folders secret settings are read from, first one first, each with where it comes from.

    `HEMEWATCH_SECRETS_DIR` when it is set (empty: none), else the systemd credentials folder
    (`$CREDENTIALS_DIRECTORY`) and the container secrets folder (`/run/secrets`) that exist.
    """
    explicit = os.environ.get("HEMEWATCH_SECRETS_DIR")
    if explicit is not None:
        if not explicit.strip():
            return []
        folder = Path(explicit.strip())
        if not folder.is_dir():
            raise ConfigurationError(f"HEMEWATCH_SECRETS_DIR={folder} is not a folder hemewatch can read.")
        return [(folder, "HEMEWATCH_SECRETS_DIR")]
    found = []
    credentials = os.environ.get("CREDENTIALS_DIRECTORY", "").strip()
    if credentials and Path(credentials).is_dir():
        found.append((Path(credentials), "CREDENTIALS_DIRECTORY"))
    if CONTAINER_SECRETS.is_dir():
        found.append((CONTAINER_SECRETS, str(CONTAINER_SECRETS)))
    return found


def _read_secret(path: Path, origin: str) -> str:
    try:
        return path.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(_unreadable(path, origin, exc)) from exc


def _unreadable(path: Path | str, origin: str, exc: OSError | UnicodeDecodeError) -> str:
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"Cannot read the secret file {path} (from {origin}): {why}."


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
