"""The admin API's request-log shapes: one record, a page of them, one request's trace."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from byokgate.admin.schemas import AuditEventOut
from byokgate.domain.entities import RequestRecord


class RequestOut(BaseModel):
    object: Literal["request"] = "request"
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
    error_type: str | None = None
    latency_ms: float
    upstream_ms: float | None
    overhead_ms: float | None = Field(default=None, description="The gateway's own time")
    ttfb_ms: float | None = Field(default=None, description="Upstream time to the answering attempt's head")
    ttft_ms: float | None = Field(default=None, description="A stream: arrival to its first content")
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    cached_tokens: int | None = Field(default=None, description="Prompt tokens read from the provider cache")
    cache_write_tokens: int | None = Field(default=None, description="Prompt tokens written to it")
    reasoning_tokens: int | None = None
    upstream_request_id: str | None
    cache: str | None = Field(default=None, description="HIT, SEMANTIC-HIT, MISS, REFRESH or BYPASS")
    cost_micro_usd: int | None = Field(
        default=None, description="Provider list price of the usage, micro-USD (null: price unknown)"
    )
    cost_saved_micro_usd: int | None = Field(
        default=None, description="On a cache hit: what the stored answer cost, micro-USD"
    )
    charged_micro_usd: int | None = Field(
        default=None, description="Platform credits charged, micro-USD (0 on the BYOK lane)"
    )
    routing_reason: str | None = None
    trace_id: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None
    tags: dict[str, Any] | None = Field(default=None, description="The client's user and metadata")
    attempts: list[dict[str, Any]] | None = Field(
        default=None, description="More than one attempt: each one's provider, model, status, action, ms"
    )

    @classmethod
    def of(cls, record: RequestRecord) -> RequestOut:
        return cls(**asdict(record))


class RequestList(BaseModel):
    object: Literal["list"] = "list"
    data: list[RequestOut]
    has_more: bool
    next_before: str | None = Field(description="Pass as ?before= to get the next (older) page")


class BodiesOut(BaseModel):
    """A request's bodies as kept: credentials redacted, each cut at the size cap (``truncated``)."""

    request: str
    response: str
    truncated: bool


class RequestTrace(BaseModel):
    """One request's whole story: its record, its attempts on a timeline and the key uses it caused."""

    object: Literal["request.trace"] = "request.trace"
    request: RequestOut
    timeline: list[dict[str, Any]] = Field(
        description="Each attempt with its start and end (ms from the request's arrival), then the answer"
    )
    key_uses: list[AuditEventOut]
    bodies: BodiesOut | None = Field(
        default=None, description="The request and response bodies, when the project keeps them"
    )
