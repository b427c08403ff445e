"""Secret settings read from files: `_FILE` variables and secrets folders (credentials, /run/secrets)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hemewatch import settings as settings_module
from hemewatch.errors import ConfigurationError
from hemewatch.settings import load_settings

FILE_URL = "sqlite:////srv/from-file.db"
FOLDER_URL = "sqlite:////srv/from-folder.db"
TOML_URL = "sqlite:////srv/from-toml.db"


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No machine configuration: no HEMEWATCH_* variable, no credentials folder, no /run/secrets."""
    for name in list(os.environ):
        if name.startswith("HEMEWATCH_") or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HEMEWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HEMEWATCH_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setattr(settings_module, "CONTAINER_SECRETS", tmp_path / "no-run-secrets")


def folder_with(path: Path, **files: str | bytes) -> Path:
    path.mkdir()
    for name, content in files.items():
        if isinstance(content, bytes):
            (path / name).write_bytes(content)
        else:
            (path / name).write_text(content)
    return path


def test_a_file_variable_names_the_file_holding_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "key"
    secret.write_text("  s3cret-key-value \n")
    monkeypatch.setenv("HEMEWATCH_SECRET_KEY_FILE", str(secret))
    assert load_settings().secret_key == "s3cret-key-value"


@pytest.mark.parametrize("name", ["database_url", "HEMEWATCH_DATABASE_URL", "hemewatch_database_url"])
def test_a_secrets_folder_file_is_named_after_the_setting_or_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    folder = folder_with(tmp_path / "secrets", **{name: FOLDER_URL + "\n"})
    monkeypatch.setenv("HEMEWATCH_SECRETS_DIR", str(folder))
    loaded = load_settings()
    assert loaded.database_url == FOLDER_URL
    assert loaded.smtp_url is None and loaded.secret_key is None


def test_the_setting_s_name_wins_over_the_variable_s_name_in_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = folder_with(tmp_path / "secrets", database_url=FOLDER_URL, HEMEWATCH_DATABASE_URL=FILE_URL)
    monkeypatch.setenv("HEMEWATCH_SECRETS_DIR", str(folder))
    assert load_settings().database_url == FOLDER_URL


def test_precedence_variable_then_file_variable_then_folder_then_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hemewatch.toml"
    config.write_text(f'database_url = "{TOML_URL}"\nsmtp_url = "smtp://toml:25"\nsecret_key = "toml-key"\n')
    monkeypatch.setenv("HEMEWATCH_CONFIG", str(config))
    assert load_settings().database_url == TOML_URL

    folder = folder_with(tmp_path / "secrets", database_url=FOLDER_URL, smtp_url="smtp://folder:25")
    monkeypatch.setenv("HEMEWATCH_SECRETS_DIR", str(folder))
    loaded = load_settings()
    assert (loaded.database_url, loaded.smtp_url, loaded.secret_key) == (
        FOLDER_URL,
        "smtp://folder:25",
        "toml-key",
    )

    by_file = tmp_path / "database_url"
    by_file.write_text(FILE_URL)
    monkeypatch.setenv("HEMEWATCH_DATABASE_URL_FILE", str(by_file))
    assert load_settings().database_url == FILE_URL

    monkeypatch.setenv("HEMEWATCH_DATABASE_URL", "sqlite:////srv/from-environment.db")
    assert load_settings().database_url == "sqlite:////srv/from-environment.db"
    assert (
        load_settings(database_url="sqlite:////srv/argument.db").database_url == "sqlite:////srv/argument.db"
    )


def test_only_secret_settings_are_read_from_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = folder_with(
        tmp_path / "secrets", web_port="9999", HEMEWATCH_MAIL_FROM="x <x@example.org>", secret_key="k"
    )
    monkeypatch.setenv("HEMEWATCH_SECRETS_DIR", str(folder))
    loaded = load_settings()
    assert loaded.secret_key == "k"
    assert loaded.web_port == 8000 and loaded.mail_from == "hemewatch <hemewatch@localhost>"


def test_the_systemd_credentials_folder_is_read_without_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = folder_with(tmp_path / "credentials", secret_key="from-credentials\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    assert load_settings().secret_key == "from-credentials"

    chosen = folder_with(tmp_path / "chosen", smtp_url="smtp://chosen:25")
    monkeypatch.setenv("HEMEWATCH_SECRETS_DIR", str(chosen))
    loaded = load_settings()
    assert loaded.smtp_url == "smtp://chosen:25" and loaded.secret_key is None  # the chosen folder only

    monkeypatch.setenv("HEMEWATCH_SECRETS_DIR", "")
    assert load_settings().secret_key is None  # set and empty: no folder at all


def test_container_secrets_are_read_after_the_credentials_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_secrets = folder_with(tmp_path / "run-secrets", secret_key="from-container", smtp_url="smtp://c:25")
    monkeypatch.setattr(settings_module, "CONTAINER_SECRETS", run_secrets)
    loaded = load_settings()
    assert (loaded.secret_key, loaded.smtp_url) == ("from-container", "smtp://c:25")

    credentials = folder_with(tmp_path / "credentials", secret_key="from-credentials")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    loaded = load_settings()
    assert (loaded.secret_key, loaded.smtp_url) == ("from-credentials", "smtp://c:25")


def test_a_missing_secrets_folder_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEMEWATCH_SECRETS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigurationError, match=r"HEMEWATCH_SECRETS_DIR=.*nowhere is not a folder"):
        load_settings()


def test_an_unreadable_secret_names_its_file_and_where_it_was_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = folder_with(tmp_path / "credentials", HEMEWATCH_SECRET_KEY=b"\xff\xfe not text")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert f"Cannot read the secret file {credentials / 'HEMEWATCH_SECRET_KEY'}" in message
    assert "(from CREDENTIALS_DIRECTORY)" in message

    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    missing = tmp_path / "absent"
    monkeypatch.setenv("HEMEWATCH_SMTP_URL_FILE", str(missing))
    with pytest.raises(
        ConfigurationError, match=r"Cannot read the secret file .*absent \(from HEMEWATCH_SMTP_URL_FILE\)"
    ):
        load_settings()
