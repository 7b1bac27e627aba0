"""Configuration from ``BYOKGATE_*`` environment variables and an optional TOML file.

Precedence (highest first): constructor arguments, environment, ``.env`` is *not* read, the TOML file named
by ``BYOKGATE_CONFIG_FILE``, defaults. Nothing here runs at import time: the composition root builds a
``Settings`` and passes it down.
"""

from __future__ import annotations

import os
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

_ENV_PREFIX = "BYOKGATE_"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


# ``<NAME>_BASE_URL`` / ``<NAME>_API_KEY`` of any provider (names are checked against the registry later).
_PROVIDER_SETTING = re.compile(r"(?P<name>[a-z0-9][a-z0-9_]*?)_(?P<what>base_url|api_key)", re.IGNORECASE)


class ProviderEnv(PydanticBaseSettingsSource):
    """``BYOKGATE_<NAME>_BASE_URL`` and ``BYOKGATE_<NAME>_API_KEY`` for any provider name."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, dict[str, str]] = {}
        for variable, value in os.environ.items():
            name = variable[len(_ENV_PREFIX) :] if variable.upper().startswith(_ENV_PREFIX) else ""
            setting = _PROVIDER_SETTING.fullmatch(name)
            if setting is None or not value or name.lower() in Settings.model_fields:
                continue
            target = "base_urls" if setting["what"].lower() == "base_url" else "platform_keys"
            found.setdefault(target, {})[setting["name"].lower()] = value
        return found


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=_ENV_PREFIX, extra="ignore", frozen=True)

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("data")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    redis_url: str | None = None
    master_key: SecretStr | None = Field(
        default=None, description="base64 of 32 bytes, or comma-separated id:base64 entries (first active)"
    )
    admin_token: SecretStr | None = None

    journal: bool = Field(
        default=True, description="journal records and charges on local disk before answers end (crash-safe)"
    )
    journal_dir: Path | None = Field(
        default=None, description="the journal's folder; default data_dir/journal"
    )
    writer_flush_interval_s: float = Field(
        default=1.0, gt=0, le=3600, description="the batch writer stores what is queued this often"
    )
    writer_priority: Literal["idle", "low", "normal"] = Field(
        default="idle",
        description="the writer process's scheduling: idle (SCHED_IDLE: only spare CPU), low (niceness 10), "
        "normal",
    )
    request_log: bool = Field(
        default=True,
        description="keep a record of every data-plane request (off: no records, usage reports or "
        "/v1/generations; key-use audit events and charges are still written)",
    )
    writer_process: bool = Field(
        default=True,
        description="store the journal from a child process, off the serving process's core (needs the "
        "journal and a database file or server; an in-memory database is written in process)",
    )

    log_retention_days: int = Field(
        default=30, ge=1, le=3650, description="days request records are kept (a project may set its own)"
    )
    metrics_public: bool = Field(
        default=False, description="serve /metrics without the admin token (a scraper on a private network)"
    )

    dashboard_session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="how long a dashboard sign-in lasts"
    )
    dashboard_secure_cookies: Literal["auto", "always"] = Field(
        default="auto",
        description="the session cookie's Secure flag: auto (when the request came over HTTPS, as the "
        "server sees it) or always (behind a TLS-terminating proxy)",
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: str = "info"
    log_format: Literal["json", "text"] = Field(
        default="json", description="stderr log lines: JSON objects (request and trace ids on each) or text"
    )
    # Front-door limits of `byokgate serve` (byokgate.serving; the README's "Front-door limits" says why)
    max_header_bytes: int = Field(
        default=32 * 1024, ge=1024, le=1024 * 1024, description="request line and headers (431 past it)"
    )
    max_header_count: int = Field(default=100, ge=8, le=10_000, description="header fields (431 past it)")
    max_url_bytes: int = Field(
        default=8 * 1024, ge=256, le=1024 * 1024, description="request target length (414 past it)"
    )
    header_timeout_s: float = Field(
        default=15.0, gt=0, le=3600, description="connection open or last response to end of head (408)"
    )
    body_timeout_s: float = Field(
        default=60.0, gt=0, le=86400, description="end of head to end of body (408)"
    )
    keep_alive_timeout_s: int = Field(default=10, ge=1, le=3600, description="idle keep-alive connection")
    max_connections: int = Field(
        default=1000, ge=1, le=1_000_000, description="open connections, requests in progress (503 past it)"
    )
    listen_backlog: int = Field(default=2048, ge=1, le=65535, description="queue of unaccepted connections")

    # Providers are named by their registry names, never by fields of their own: BYOKGATE_<NAME>_BASE_URL
    # overrides a provider's base URL (``base_urls``) and BYOKGATE_<NAME>_API_KEY gives the pooled lane's
    # provider its platform key (``platform_keys``); both are checked against the registry at start-up.
    base_urls: dict[str, str] = Field(default_factory=dict, description="provider name -> base URL")
    platform_keys: dict[str, SecretStr] = Field(
        default_factory=dict, description="provider name -> the platform's own key (the pooled lane's)"
    )
    pooled_provider: str | None = Field(
        default=None, description="provider of the pooled (credits) lane; default: the registry's"
    )
    pooled_api_key: SecretStr | None = Field(
        default=None, description="the pooled lane's platform key (or BYOKGATE_<PROVIDER>_API_KEY)"
    )
    providers: list[dict[str, Any]] = Field(
        default_factory=list,
        description="OpenAI-compatible endpoints declared by the operator (providers/declared.py)",
    )
    upstream_timeout_s: float = Field(
        default=60.0, gt=0, le=3600, description="wait for an upstream's first byte, and for each next one"
    )
    upstream_connect_timeout_s: float = Field(default=10.0, gt=0, le=600)
    upstream_total_timeout_s: float = Field(
        default=600.0, gt=0, le=86400, description="whole upstream exchange, streamed body included"
    )
    retries: int = Field(
        default=2, ge=0, le=10, description="retries per target of a request (docs/routing.md)"
    )
    ttft_timeout_s: float | None = Field(
        default=None, gt=0, le=3600, description="a stream's first content, while another target remains"
    )
    request_deadline_s: float = Field(
        default=600.0, gt=0, le=86400, description="a request's whole chain of attempts, backoffs included"
    )
    retry_backoff_s: float = Field(default=0.5, ge=0, le=60, description="first retry's backoff ceiling")
    breaker_failures: int = Field(default=5, ge=1, le=1000, description="consecutive failures that open it")
    breaker_failure_rate: float = Field(default=0.5, gt=0, le=1, description="or this share of the window's")
    breaker_min_requests: int = Field(default=20, ge=1, le=100_000, description="attempts the rate needs")
    breaker_window_s: float = Field(default=60.0, gt=0, le=3600, description="the failure rate's window")
    breaker_cool_s: float = Field(default=10.0, gt=0, le=3600, description="open this long, then one probe")
    key_selection: Literal["round_robin", "least_in_flight"] = Field(
        default="round_robin", description="how a project's pool of keys for a provider shares requests"
    )
    retry_after_max_s: float = Field(
        default=10.0, ge=0, le=600, description="longest upstream retry-after waited for (else fail over)"
    )
    continue_streams: bool = Field(
        default=False,
        description="a fallback taking an assistant prefill carries on a stream broken mid-answer",
    )

    admin_max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_request_bytes: int = Field(default=32 * 1024 * 1024, ge=1024, description="data-plane body cap")
    snapshot_poll_interval_s: float = Field(default=2.0, gt=0)
    cache_memory_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024 * 1024, description="in-process response cache size (without Redis)"
    )
    plans_file: Path | None = Field(
        default=None, description="a plans file replacing the shipped one (plans, tiers, default plan)"
    )
    prices_file: Path | None = Field(
        default=None, description="a price file whose models replace or add to the shipped price catalog"
    )
    semantic_embedder: Literal["provider", "local"] = Field(
        default="provider",
        description="semantic cache embeddings: the project key, or a local model (semantic-local extra)",
    )
    semantic_index_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024 * 1024, description="in-process semantic index size (without Redis)"
    )
    native_admin_paths: bool = Field(
        default=False,
        description="forward providers' administration APIs on the native routes (/openai/v1/organization)",
    )
    responses_ttl_s: float = Field(
        default=30 * 24 * 3600,
        gt=0,
        description="how long stored Responses (translated models' conversations, response owners) are kept",
    )
    responses_memory_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024 * 1024,
        description="in-process stored Responses size (without Redis)",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, ProviderEnv(settings_cls)]
        config_file = os.environ.get("BYOKGATE_CONFIG_FILE")
        if config_file:
            path = Path(config_file)
            if not path.is_file():
                raise ValueError(f"BYOKGATE_CONFIG_FILE points to {path}, which is not a file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @model_validator(mode="before")
    @classmethod
    def _provider_fields(cls, data: Any) -> Any:
        """``<name>_base_url`` and ``<name>_api_key`` given as arguments or in the config file go to
        ``base_urls`` and ``platform_keys`` (as the environment's do)."""
        if not isinstance(data, dict):
            return data
        moved: dict[str, Any] = {key: value for key, value in data.items() if key in cls.model_fields}
        for key, value in data.items():
            found = _PROVIDER_SETTING.fullmatch(key) if isinstance(key, str) else None
            if found is None or key in cls.model_fields:
                moved.setdefault(key, value)
                continue
            target = "base_urls" if found["what"].lower() == "base_url" else "platform_keys"
            moved[target] = {**(moved.get(target) or {}), found["name"].lower(): value}
        return moved

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL, with the async driver filled in for plain URLs."""
        url = self.database_url or f"sqlite:///{self.data_dir / 'byokgate.db'}"
        return normalize_database_url(url)


def normalize_database_url(url: str) -> str:
    """Map ``sqlite:///`` and ``postgresql://`` URLs onto the async drivers byokgate ships with."""
    replacements = {
        "sqlite://": "sqlite+aiosqlite://",
        "postgresql://": "postgresql+asyncpg://",
        "postgres://": "postgresql+asyncpg://",
    }
    for plain, driver in replacements.items():
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
