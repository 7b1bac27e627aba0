"""Table definitions (SQLAlchemy Core). The Alembic migrations must produce exactly this schema."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        """On SQLite, the text SQLAlchemy's own processors make of the naive UTC value ("YYYY-MM-DD
        HH:MM:SS.ffffff"), made in one step: the writer binds one or two per stored row, and the two-step
        chain (this type's, then the dialect's ``%``-formatting of a dict) was its largest cost."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is not UTC:
                if value.tzinfo is None:
                    raise ValueError("naive datetime given to a UTC column")
                value = value.astimezone(UTC)
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ID = String(40)
AutoBigInt = BigInteger().with_variant(Integer, "sqlite")

# Request-log columns added by migration 0014 (the per-request facts of the observability issue).
REQUEST_LOG_FACTS: tuple[tuple[str, Any], ...] = (
    ("trace_id", String(32)),
    ("error_type", String(64)),
    ("routing_reason", String(64)),
    ("overhead_ms", Float()),
    ("ttfb_ms", Float()),
    ("ttft_ms", Float()),
    ("cache_write_tokens", Integer()),
    ("reasoning_tokens", Integer()),
    ("client_ip", String(64)),
    ("user_agent", String(256)),
    ("tags", JSON(none_as_null=True)),
)
# What ``usage_daily`` sums per group.
USAGE_SUMS = (
    "requests",
    "errors",
    "cache_hits",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "cost_micro_usd",
    "cost_saved_micro_usd",
    "charged_micro_usd",
    "unpriced_requests",
)

projects = Table(
    "projects",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("wrapped_data_key", LargeBinary, nullable=False),
    Column("master_key_id", String(32), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("log_retention_days", Integer, nullable=True),  # None: the gateway's default
    Column("log_bodies_days", Integer, nullable=True),  # None: bodies are not kept (the default)
)

project_cache_settings = Table(
    "project_cache_settings",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("ttl_s", Integer, nullable=False),
    Column("max_entry_bytes", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("semantic", Boolean, nullable=False, server_default=false()),
    Column("semantic_threshold", Float, nullable=False, server_default=text("0.95")),
    Column("semantic_max_turns", Integer, nullable=False, server_default=text("3")),
    Column("semantic_model", String(200), nullable=True),
)

# Plan and billing policy of projects that left the defaults.
project_billing = Table(
    "project_billing",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("plan", String(64), nullable=True),
    Column("policy", String(32), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Platform credits (micro-USD): what was added (grants, top-ups, refunds) and what was charged, kept equal
# to the sums of the ledger in the same transaction as each ledger entry.
credit_accounts = Table(
    "credit_accounts",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("granted_micro_usd", BigInteger, nullable=False),
    Column("charged_micro_usd", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Append-only: positive amounts add credits (grant, topup, refund), negative ones are charges.
credit_ledger = Table(
    "credit_ledger",
    metadata,
    Column("id", AutoBigInt, primary_key=True, autoincrement=True),
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount_micro_usd", BigInteger, nullable=False),
    Column("request_id", String(64), nullable=True),
    Column("note", String(200), nullable=True),
    Index("ix_credit_ledger_project_id_id", "project_id", "id"),
)

# Rate limits and budgets: scope "project" (every key) or a project key's id (that key).
project_limits = Table(
    "project_limits",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("scope", String(64), primary_key=True),
    Column("rpm", Integer, nullable=True),
    Column("tpm", Integer, nullable=True),
    Column("budget_micro_usd", BigInteger, nullable=True),
    Column("budget_period", String(8), nullable=False),
    Column("soft_pct", Integer, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

# A project's routes (domain/routes.py): the route as its JSON form, which the admin API validated.
project_routes = Table(
    "project_routes",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("config", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

project_api_keys = Table(
    "project_api_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("display_prefix", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
)

provider_credentials = Table(
    "provider_credentials",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("masked", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("fields", JSON, nullable=True),  # non-secret fields the provider's keys carry (never the key)
    # A project's keys for one provider are a pool: each has a name, a weight and a state.
    Column("name", String(64), nullable=False, server_default="default"),
    Column("weight", Integer, nullable=False, server_default="1"),
    Column("state", String(16), nullable=False, server_default="active"),  # active or disabled
    Column("last_used_at", UTCDateTime, nullable=True),  # from the key-use events the writer stores
    UniqueConstraint("project_id", "provider", "name"),
)

# Append-only. No foreign key: the trail outlives the project it describes.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", AutoBigInt, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(64), nullable=False),
    Column("project_id", ID, nullable=True),
    Column("provider", String(32), nullable=True),
    Column("credential_id", ID, nullable=True),
    Column("api_key_id", ID, nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("outcome", String(32), nullable=False),
    Column("detail", JSON, nullable=False),
    Index("ix_audit_events_project_id_id", "project_id", "id"),
)

# The data plane's request log, written in batches off the request path. On PostgreSQL it is partitioned
# by day of ``created_at`` (store/partitions.py; the key includes it, as partitioning requires), so that
# retention drops whole partitions.
request_log = Table(
    "request_log",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", UTCDateTime, primary_key=True),
    Column("project_id", ID, nullable=False),
    Column("api_key_id", ID, nullable=False),
    Column("endpoint", String(32), nullable=False),
    Column("lane", String(16), nullable=True),
    Column("provider", String(32), nullable=True),
    Column("credential_id", ID, nullable=True),
    Column("requested_model", String(200), nullable=True),
    Column("resolved_model", String(200), nullable=True),
    Column("stream", Boolean, nullable=False),
    Column("status", Integer, nullable=False),
    Column("error_code", String(64), nullable=True),
    Column("latency_ms", Float, nullable=False),
    Column("upstream_ms", Float, nullable=True),
    Column("prompt_tokens", Integer, nullable=True),
    Column("completion_tokens", Integer, nullable=True),
    Column("total_tokens", Integer, nullable=True),
    Column("upstream_request_id", String(128), nullable=True),
    Column("cache", String(16), nullable=True),
    Column("cached_tokens", Integer, nullable=True),
    Column("cost_micro_usd", BigInteger, nullable=True),
    Column("cost_saved_micro_usd", BigInteger, nullable=True),
    Column("charged_micro_usd", BigInteger, nullable=True),
    Column("attempts", JSON(none_as_null=True), nullable=True),  # more than one attempt: each one's outcome
    *(Column(name, type_, nullable=True) for name, type_ in REQUEST_LOG_FACTS),
    Index("ix_request_log_project_id_created_at", "project_id", "created_at"),
    postgresql_partition_by="RANGE (created_at)",
)

# Request and response bodies of the projects that opt in (redacted, capped), with a retention of their
# own; partitioned by day on PostgreSQL like the log.
request_bodies = Table(
    "request_bodies",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("created_at", UTCDateTime, primary_key=True),
    Column("project_id", ID, nullable=False),
    Column("request", Text, nullable=False),
    Column("response", Text, nullable=False),
    Column("truncated", Boolean, nullable=False),
    Index("ix_request_bodies_project_id_created_at", "project_id", "created_at"),
    postgresql_partition_by="RANGE (created_at)",
)

# Usage by UTC day, project, project key, provider, model and lane, kept as records land (in the same
# transaction), so that usage reports and charts never scan the request log. "" stands for "none".
usage_daily = Table(
    "usage_daily",
    metadata,
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD (UTC)
    Column("project_id", ID, primary_key=True),
    Column("api_key_id", ID, primary_key=True),
    Column("provider", String(32), primary_key=True),
    Column("model", String(200), primary_key=True),
    Column("lane", String(16), primary_key=True),
    *(Column(name, BigInteger, nullable=False, server_default="0") for name in USAGE_SUMS),
)

# Monotonic counters, e.g. the configuration version the hot-path snapshot follows.
gateway_state = Table(
    "gateway_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# The batch writer's journal segments whose entries are in the database (written in the same transaction as
# the entries): a segment found here after a crash is removed, not replayed. Rows older than a week go.
journal_segments = Table(
    "journal_segments",
    metadata,
    Column("name", String(96), primary_key=True),
    Column("stored_at", UTCDateTime(), nullable=False),
)

# Dashboard users (sign-in with a password: an argon2id hash, never the password), their sessions (the
# SHA-256 of the cookie's token, never the token) and the projects a member may see (``read``) or change
# (``write``). A gateway admin sees and changes every project.
users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),  # stored lower-cased
    Column("password_hash", String(200), nullable=False),
    Column("is_admin", Boolean, nullable=False, server_default=false()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("password_changed_at", UTCDateTime(), nullable=False),
)

user_sessions = Table(
    "user_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

project_members = Table(
    "project_members",
    metadata,
    Column("project_id", ID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("role", String(8), nullable=False),  # read or write
)
