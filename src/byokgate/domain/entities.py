"""Control-plane entities as the store returns them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """A project's response-cache settings; projects without a row use ``DEFAULT`` (the cache off)."""

    enabled: bool = False
    ttl_s: int = 3600
    max_entry_bytes: int = 1024 * 1024
    # Semantic cache (opt-in on top of the exact cache): serve a stored answer to a differently worded but
    # similar last user turn when everything else in the request matches exactly.
    semantic: bool = False
    semantic_threshold: float = 0.95  # cosine similarity an answer must reach to be served
    semantic_max_turns: int = 3  # conversations with more user turns than this skip the semantic cache
    semantic_model: str | None = None  # the project's embeddings model; None: its first BYOK embedder


DEFAULT_CACHE_SETTINGS = CacheSettings()


@dataclass(frozen=True, slots=True)
class BillingSettings:
    """A project's plan (None: the gateway's default plan) and billing policy (see ``billing.plans``)."""

    plan: str | None = None
    policy: str = "byok_then_pooled"


DEFAULT_BILLING = BillingSettings()


@dataclass(frozen=True, slots=True)
class CreditAccount:
    """A project's platform credits in micro-USD: everything added, everything charged (balance: the gap)."""

    granted_micro_usd: int = 0
    charged_micro_usd: int = 0

    @property
    def balance_micro_usd(self) -> int:
        return self.granted_micro_usd - self.charged_micro_usd


@dataclass(frozen=True, slots=True)
class CreditEntry:
    """One ledger line: positive adds credits (grant, topup, refund), negative is a charge."""

    project_id: str
    kind: str
    amount_micro_usd: int
    at: datetime
    request_id: str | None = None
    note: str | None = None
    id: int | None = None


@dataclass(slots=True)
class RequestBody:
    """A request's bodies as the client sent them and was answered, kept when its project opts in:
    redacted of credentials, each cut at the size cap (``truncated``)."""

    request_id: str
    created_at: datetime
    project_id: str
    request: str
    response: str
    truncated: bool = False


PROJECT_SCOPE = "project"  # the scope of limits that apply to every key of a project (else: a key id)


@dataclass(frozen=True, slots=True)
class Limits:
    """Rate limits and a spend budget, for a whole project or one of its keys; None: no such limit."""

    rpm: int | None = None  # requests per minute
    tpm: int | None = None  # tokens per minute (prompt + completion, reserved up front, settled after)
    budget_micro_usd: int | None = None  # list-price spend per period, BYOK spend included
    budget_period: str = "month"  # "day" or "month" (UTC calendar periods)
    soft_pct: int | None = 80  # an audit event (budget.soft_limit) once spend passes this share

    @property
    def empty(self) -> bool:
        return self.rpm is None and self.tpm is None and self.budget_micro_usd is None


@dataclass(frozen=True, slots=True)
class ProjectKeyMaterial:
    """A project's wrapped data key, as stored."""

    project_id: str
    wrapped_data_key: bytes
    master_key_id: str


@dataclass(frozen=True, slots=True)
class ProjectApiKey:
    id: str
    project_id: str
    name: str | None
    display_prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def is_usable(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now


DEFAULT_KEY_NAME = "default"  # the name of a pool's key when none is given (and of every pre-pool key)


@dataclass(frozen=True, slots=True)
class ProviderCredential:
    """A stored provider key: the masked view plus its ciphertext (never the plaintext)."""

    id: str
    project_id: str
    provider: str
    masked: str
    ciphertext: bytes = field(repr=False)
    created_at: datetime
    updated_at: datetime
    fields: Mapping[str, Any] = field(default_factory=dict)  # non-secret (an endpoint, deployments)
    name: str = DEFAULT_KEY_NAME  # its name in the project's pool of keys for the provider
    weight: int = 1  # its share of the pool's requests
    state: str = "active"  # or "disabled": kept, never used
    last_used_at: datetime | None = None  # as of the request log's writer (a second or so behind)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    at: datetime
    actor: str
    action: str
    project_id: str | None
    provider: str | None
    credential_id: str | None
    api_key_id: str | None
    request_id: str | None
    outcome: str
    detail: dict[str, Any]


KEY_USE = "provider_key.use"  # the audit action of a provider key's use by the data plane


@dataclass(slots=True)  # made per request: a frozen one's __init__ costs ~2x
class NewAuditEvent:
    """An audit event before the store has given it an id."""

    actor: str
    action: str
    project_id: str | None = None
    provider: str | None = None
    credential_id: str | None = None
    api_key_id: str | None = None
    request_id: str | None = None
    outcome: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None


@dataclass(slots=True)  # made per request: a frozen one's __init__ (36 fields) costs ~2x
class RequestRecord:
    """One data-plane request, success or failure, as the request log keeps it."""

    id: str
    created_at: datetime
    project_id: str
    api_key_id: str
    endpoint: str
    lane: str | None
    provider: str | None
    credential_id: str | None
    requested_model: str | None
    resolved_model: str | None
    stream: bool
    status: int
    error_code: str | None
    latency_ms: float
    upstream_ms: float | None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    upstream_request_id: str | None = None
    cache: str | None = None  # HIT, SEMANTIC-HIT, MISS, REFRESH or BYPASS
    cached_tokens: int | None = None  # prompt tokens read from the provider's prompt cache
    cost_micro_usd: int | None = None  # the provider's list price of the usage (None: price unknown)
    cost_saved_micro_usd: int | None = None  # a cache hit: what the stored answer cost
    charged_micro_usd: int | None = None  # platform credits charged (0 on the BYOK lane)
    # More than one attempt (retries, fallbacks): provider, model, lane, credential_id, status, code,
    # action, reason and ms of each, in order.
    attempts: list[dict[str, Any]] | None = None
    trace_id: str | None = None  # the W3C trace (the client's, or the gateway's own)
    error_type: str | None = None  # the error's type in OpenAI's terms (``error_code`` is its code)
    routing_reason: str | None = None  # why the answering target was chosen (x-byokgate-routing-reason)
    overhead_ms: float | None = None  # the gateway's own time: latency less upstream time
    ttfb_ms: float | None = None  # the answering attempt's upstream time to its response head
    ttft_ms: float | None = None  # a stream: request arrival to its first content sent
    cache_write_tokens: int | None = None  # prompt tokens written to the provider's prompt cache
    reasoning_tokens: int | None = None  # completion tokens spent reasoning
    client_ip: str | None = None
    user_agent: str | None = None  # its first 256 characters
    tags: dict[str, Any] | None = None  # what the client sent to tag it: ``user`` and ``metadata``
