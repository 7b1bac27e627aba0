from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from byokgate.admintoken import AdminTokenConfigError, resolve_admin_token
from byokgate.masterkey import MasterKeyConfigError, resolve_keyring
from byokgate.settings import Settings, normalize_database_url
from byokgate.vault import Keyring


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("BYOKGATE_"):
            monkeypatch.delenv(name)


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.resolved_database_url == "sqlite+aiosqlite:///data/byokgate.db"
    assert (settings.base_urls, settings.platform_keys, settings.providers) == ({}, {}, [])
    assert settings.pooled_provider is None
    assert settings.upstream_timeout_s == 60
    assert (settings.upstream_connect_timeout_s, settings.upstream_total_timeout_s) == (10, 600)
    assert settings.redis_url is None
    assert not settings.is_production


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYOKGATE_DATABASE_URL", "postgresql://u@db:5432/gw")
    monkeypatch.setenv("BYOKGATE_OPENAI_BASE_URL", "http://127.0.0.1:9000/v1/")
    monkeypatch.setenv("BYOKGATE_UPSTREAM_TIMEOUT_S", "12.5")
    monkeypatch.setenv("BYOKGATE_OPENROUTER_API_KEY", "sk-or-v1-pooled")
    monkeypatch.setenv("BYOKGATE_REDIS_URL", "redis://127.0.0.1:6379/0")
    settings = Settings()
    assert settings.resolved_database_url == "postgresql+asyncpg://u@db:5432/gw"
    assert settings.base_urls == {"openai": "http://127.0.0.1:9000/v1/"}  # checked (and trimmed) at start-up
    assert settings.upstream_timeout_s == 12.5
    assert settings.platform_keys["openrouter"].get_secret_value() == "sk-or-v1-pooled"
    assert "sk-or-v1-pooled" not in repr(settings)
    assert settings.redis_url == "redis://127.0.0.1:6379/0"


def test_config_file_with_env_taking_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "byokgate.toml"
    config.write_text('port = 9999\ngroq_base_url = "http://127.0.0.1:7000/openai/v1"\nlog_level = "debug"\n')
    monkeypatch.setenv("BYOKGATE_CONFIG_FILE", str(config))
    monkeypatch.setenv("BYOKGATE_LOG_LEVEL", "warning")
    settings = Settings()
    assert settings.port == 9999
    assert settings.base_urls == {"groq": "http://127.0.0.1:7000/openai/v1"}
    assert settings.log_level == "warning"


def test_missing_config_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BYOKGATE_CONFIG_FILE", str(tmp_path / "nope.toml"))
    with pytest.raises(ValueError, match="not a file"):
        Settings()


def test_provider_settings_given_as_arguments_or_in_the_file_take_the_same_names() -> None:
    settings = Settings(
        openai_base_url="http://a/v1", openrouter_api_key="sk-or-v1-x", base_urls={"groq": "http://g"}
    )
    assert settings.base_urls == {"groq": "http://g", "openai": "http://a/v1"}
    assert set(settings.platform_keys) == {"openrouter"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgres://h/db", "postgresql+asyncpg://h/db"),
        ("postgresql+asyncpg://h/db", "postgresql+asyncpg://h/db"),
    ],
)
def test_database_url_normalisation(url: str, expected: str) -> None:
    assert normalize_database_url(url) == expected


def test_development_master_key_is_generated_once_with_0600(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path)
    with caplog.at_level(logging.WARNING):
        first = resolve_keyring(settings)
    key_file = tmp_path / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "DEVELOPMENT master key" in caplog.text
    assert key_file.read_text().strip().split(":")[1] not in caplog.text
    second = resolve_keyring(settings)
    assert first.ids == second.ids == ["dev"]
    assert first.key("dev") == second.key("dev")


def test_world_readable_development_key_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    resolve_keyring(settings)
    (tmp_path / "master.key").chmod(0o644)
    with pytest.raises(MasterKeyConfigError, match="chmod 600"):
        resolve_keyring(settings)


def test_production_refuses_to_start_without_master_key_or_admin_token(tmp_path: Path) -> None:
    settings = Settings(env="production", data_dir=tmp_path)
    with pytest.raises(MasterKeyConfigError, match="required"):
        resolve_keyring(settings)
    with pytest.raises(AdminTokenConfigError, match="required"):
        resolve_admin_token(settings)
    assert not (tmp_path / "master.key").exists()


def test_explicit_master_key_wins(tmp_path: Path) -> None:
    entry = Keyring.generate_entry("prod1")
    settings = Settings(env="production", data_dir=tmp_path, master_key=entry)
    assert resolve_keyring(settings).active_id == "prod1"


def test_admin_token_rules(tmp_path: Path) -> None:
    with pytest.raises(AdminTokenConfigError, match="at least"):
        resolve_admin_token(Settings(admin_token="short"))
    generated = resolve_admin_token(Settings(data_dir=tmp_path))
    assert len(generated.reveal()) >= 32
    assert stat.S_IMODE((tmp_path / "admin.token").stat().st_mode) == 0o600
    assert resolve_admin_token(Settings(data_dir=tmp_path)) == generated
