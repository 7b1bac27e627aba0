"""Request and response bodies of the admin API (they are its OpenAPI schema)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, StrictBool, StrictInt, StrictStr

from byokgate.domain.entities import (
    AuditEvent,
    CacheSettings,
    CreditAccount,
    CreditEntry,
    Limits,
    Project,
    ProjectApiKey,
    ProviderCredential,
)
from byokgate.health.keys import Cooldown
from byokgate.pricing.cost import usd

# At least one non-space character and no C0/C1 control characters (the same rule as services.clean_name).
NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"


class StrictBody(BaseModel):
    """Unknown fields are an error; strings must be JSON strings (no number-to-string coercion)."""

    model_config = ConfigDict(extra="forbid")


class ProjectCreate(StrictBody):
    name: StrictStr = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)


class ProjectUpdate(StrictBody):
    name: StrictStr = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)


class ApiKeyCreate(StrictBody):
    name: StrictStr | None = Field(default=None, min_length=1, max_length=200, pattern=NAME_PATTERN)
    expires_at: AwareDatetime | None = Field(default=None, description="RFC 3339 with a timezone")


class ProviderKeySet(StrictBody):
    api_key: SecretStr = Field(description="The provider's API key; stored encrypted, never returned")
    fields: dict[str, Any] | None = Field(
        default=None,
        description="Non-secret fields the provider's keys carry (e.g. Azure OpenAI: endpoint, api_version, "
        "deployments); a missing or malformed one is a 400 naming it",
    )
    weight: StrictInt = Field(default=1, ge=0, le=1000, description="The key's share of its pool's requests")
    state: Literal["active", "disabled"] = Field(default="active", description="disabled: kept, never used")


class ProviderKeyPatch(StrictBody):
    weight: StrictInt | None = Field(default=None, ge=0, le=1000)
    state: Literal["active", "disabled"] | None = Field(
        default=None, description="active also lifts a cooldown the key is under"
    )


class CooldownOut(BaseModel):
    reason: str = Field(description="429 (until its retry-after) or 401/403 (until the key is replaced)")
    since: datetime
    until: datetime | None = Field(description="None: until the key is replaced or set active again")
    model: str | None = Field(default=None, description="a 429's model (None: the key cools for every model)")

    @classmethod
    def of(cls, cooldown: Cooldown) -> CooldownOut:
        until = None if cooldown.until is None else datetime.fromtimestamp(cooldown.until, UTC)
        since = datetime.fromtimestamp(cooldown.since, UTC)
        return cls(reason=cooldown.reason, since=since, until=until, model=cooldown.model)


class ProjectOut(BaseModel):
    object: Literal["project"] = "project"
    id: str
    name: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, project: Project) -> ProjectOut:
        return cls(
            id=project.id, name=project.name, created_at=project.created_at, updated_at=project.updated_at
        )


class ApiKeyOut(BaseModel):
    object: Literal["project.api_key"] = "project.api_key"
    id: str
    project_id: str
    name: str | None
    prefix: str = Field(description="The first characters of the key, to recognise it")
    status: Literal["active", "revoked", "expired"]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ProjectApiKey, now: datetime) -> ApiKeyOut:
        status: Literal["active", "revoked", "expired"] = (
            "revoked" if key.revoked_at else ("active" if key.is_usable(now) else "expired")
        )
        return cls(
            id=key.id,
            project_id=key.project_id,
            name=key.name,
            prefix=key.display_prefix,
            status=status,
            created_at=key.created_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The full key. Shown once: byokgate keeps only its hash")


class ProjectCreated(ProjectOut):
    api_key: str = Field(description="The project's first API key. Shown once")
    api_key_id: str


class Verification(BaseModel):
    outcome: Literal["valid", "invalid", "rate_limited", "unreachable", "upstream_error"]
    http_status: int | None
    detail: str


class CacheSettingsBody(StrictBody):
    enabled: StrictBool = Field(description="Serve identical requests from the response cache")
    ttl_s: StrictInt = Field(default=3600, ge=1, le=30 * 24 * 3600, description="How long an answer is kept")
    max_entry_bytes: StrictInt = Field(
        default=1024 * 1024, ge=1024, le=16 * 1024 * 1024, description="Larger answers are not stored"
    )
    semantic: StrictBool = Field(
        default=False,
        description="On an exact miss, serve a stored answer whose last user turn is similar enough "
        "(everything else in the request must match exactly); needs an embeddings provider key",
    )
    semantic_threshold: float = Field(
        default=0.95, ge=0.5, le=1.0, strict=True, description="Cosine similarity a semantic hit must reach"
    )
    semantic_max_turns: StrictInt = Field(
        default=3, ge=1, le=50, description="Conversations with more user turns skip the semantic cache"
    )
    semantic_model: StrictStr | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9._:/-]+$",
        description="Embeddings model on the project's own key (default: its first provider with embeddings)",
    )

    def settings(self) -> CacheSettings:
        return CacheSettings(**self.model_dump())


class CacheSettingsOut(BaseModel):
    object: Literal["project.cache_settings"] = "project.cache_settings"
    enabled: bool
    ttl_s: int
    max_entry_bytes: int
    semantic: bool
    semantic_threshold: float
    semantic_max_turns: int
    semantic_model: str | None

    @classmethod
    def of(cls, settings: CacheSettings) -> CacheSettingsOut:
        return cls(**asdict(settings))


class LimitsBody(StrictBody):
    rpm: StrictInt | None = Field(default=None, ge=1, le=10_000_000, description="Requests per minute")
    tpm: StrictInt | None = Field(
        default=None, ge=1, le=10_000_000_000, description="Tokens per minute (prompt + completion)"
    )
    budget_usd: Decimal | None = Field(
        default=None,
        ge=0,
        le=10_000_000,
        decimal_places=6,
        description="List-price spend allowed per period, BYOK spend included (then 429 budget_exceeded)",
    )
    budget_period: Literal["day", "month"] = Field(default="month", description="UTC calendar period")
    soft_pct: StrictInt | None = Field(
        default=80,
        ge=1,
        le=100,
        description="An audit event (budget.soft_limit) once spend passes this share",
    )

    def limits(self) -> Limits:
        budget = None if self.budget_usd is None else int(self.budget_usd * 1_000_000)
        return Limits(self.rpm, self.tpm, budget, self.budget_period, self.soft_pct)


class LimitsOut(BaseModel):
    object: Literal["project.limits"] = "project.limits"
    scope: str = Field(description="project, or the API key id the limits belong to")
    rpm: int | None
    tpm: int | None
    budget_usd: str | None = Field(description="Decimal string of USD")
    budget_period: str
    soft_pct: int | None

    @classmethod
    def of(cls, scope: str, limits: Limits) -> LimitsOut:
        budget = limits.budget_micro_usd
        return cls(
            scope=scope,
            rpm=limits.rpm,
            tpm=limits.tpm,
            budget_usd=None if budget is None else usd(budget),
            budget_period=limits.budget_period,
            soft_pct=limits.soft_pct,
        )


class BillingBody(StrictBody):
    plan: StrictStr | None = Field(default=None, max_length=64, description="A plan this gateway defines")
    policy: Literal["byok_only", "byok_then_pooled", "pooled_only"] | None = Field(
        default=None,
        description="byok_only: never platform credits; byok_then_pooled: the project's key when it has one; "
        "pooled_only: OpenRouter-format names always on the pooled lane",
    )


class BillingOut(BaseModel):
    object: Literal["project.billing"] = "project.billing"
    plan: str
    plan_title: str
    pooled_tiers: list[str] = Field(description="Which pooled-lane model tiers the plan includes")
    included_tokens: int = Field(description="Pooled tokens included per period")
    period: str
    policy: str


class CreditsBody(StrictBody):
    amount_usd: Decimal = Field(gt=0, le=1_000_000, decimal_places=6, description="Credits to add, in USD")
    kind: Literal["grant", "topup", "refund"] = Field(default="topup")
    note: StrictStr | None = Field(default=None, max_length=200)


class CreditEntryOut(BaseModel):
    id: int | None
    at: datetime
    kind: str
    amount_usd: str = Field(description="Positive: credits added; negative: a charge")
    request_id: str | None
    note: str | None


class CreditsOut(BaseModel):
    object: Literal["project.credits"] = "project.credits"
    balance_usd: str
    granted_usd: str = Field(description="Every grant, top-up and refund")
    charged_usd: str = Field(
        description="Every charge written so far (the last second's may still be queued)"
    )
    data: list[CreditEntryOut] = Field(default_factory=list, description="The ledger, newest first")

    @classmethod
    def of(cls, account: CreditAccount, entries: list[CreditEntry]) -> CreditsOut:
        return cls(
            balance_usd=usd(account.balance_micro_usd),
            granted_usd=usd(account.granted_micro_usd),
            charged_usd=usd(account.charged_micro_usd),
            data=[
                CreditEntryOut(
                    id=e.id,
                    at=e.at,
                    kind=e.kind,
                    amount_usd=usd(e.amount_micro_usd),
                    request_id=e.request_id,
                    note=e.note,
                )
                for e in entries
            ],
        )


class UsageReport(BaseModel):
    object: Literal["usage_report"] = "usage_report"
    start: date
    end: date = Field(description="Last UTC day included")
    group_by: list[str]
    data: list[dict[str, Any]] = Field(
        description="One row per group: the group values, requests, errors, cache_hits, tokens, "
        "cost_micro_usd / cost_usd, cost_saved_micro_usd / cost_saved_usd, charged_micro_usd / charged_usd "
        "(platform credits), unpriced_requests"
    )


class CachePurged(BaseModel):
    object: Literal["project.cache_purge"] = "project.cache_purge"
    purged: int = Field(description="Entries removed")


class ProviderKeyOut(BaseModel):
    object: Literal["project.provider_key"] = "project.provider_key"
    provider: str
    credential_id: str
    masked: str
    created_at: datetime
    updated_at: datetime
    fields: dict[str, Any] = Field(default_factory=dict, description="The key's non-secret fields")
    name: str = Field(description="Its name in the project's pool of keys for the provider")
    weight: int
    state: str
    cooldown: CooldownOut | None = Field(
        default=None, description="Set while the data plane skips the key (for every model, else the first)"
    )
    cooldowns: list[CooldownOut] = Field(
        default_factory=list, description="Every cooldown of the key now: for every model, or for one (429)"
    )
    breaker: str = Field(default="closed", description="The key's circuit breaker: closed, open or half_open")
    verification: Verification | None = None

    @classmethod
    def of(
        cls,
        credential: ProviderCredential,
        verification: Verification | None = None,
        cooldowns: Sequence[Cooldown] = (),
        breaker: str = "closed",
    ) -> ProviderKeyOut:
        return cls(
            provider=credential.provider,
            credential_id=credential.id,
            masked=credential.masked,
            created_at=credential.created_at,
            updated_at=credential.updated_at,
            fields=dict(credential.fields),
            name=credential.name,
            weight=credential.weight,
            state=credential.state,
            cooldown=CooldownOut.of(cooldowns[0]) if cooldowns else None,
            cooldowns=[CooldownOut.of(cooldown) for cooldown in cooldowns],
            breaker=breaker,
            verification=verification,
        )


class AuditEventOut(BaseModel):
    object: Literal["audit_event"] = "audit_event"
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

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventOut:
        return cls(**asdict(event))


class ProjectList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ProjectOut]
    has_more: bool
    next_after: str | None = Field(description="Pass as ?after= to get the next page")


class ApiKeyList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ApiKeyOut]


class ProviderKeyList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ProviderKeyOut]


class AuditList(BaseModel):
    object: Literal["list"] = "list"
    data: list[AuditEventOut]
    has_more: bool
    next_before: int | None = Field(description="Pass as ?before= to get the next (older) page")


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorBody(BaseModel):
    error: ErrorDetail
