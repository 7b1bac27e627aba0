"""What a data-plane request leaves behind: its request-log record and the audit of a provider key's use."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from byokgate.domain.entities import KEY_USE, NewAuditEvent, RequestRecord
from byokgate.proxy.exchange import Exchange, as_int, cached_tokens
from byokgate.snapshot.model import KeyEntry
from byokgate.telemetry.metrics import Metrics, RequestFacts
from byokgate.telemetry.writer import BatchWriter

_CACHED_ENDPOINTS = ("chat/completions", "messages")


def record(writer: BatchWriter, exchange: Exchange) -> None:
    """Hand the request's record, the key's last use and (when a provider key was opened) the key-use audit
    event to the batch writer: memory only, written in batches off the request path."""
    key = exchange.key
    if key is None:
        return  # unauthenticated: nothing to attribute it to
    now = datetime.now(UTC)
    writer.key_used(key.key_id, now)
    if writer.keeps_records:
        writer.request(_request_record(exchange, key, now))
    _key_audit(writer, exchange, key, now)


def keep_bodies(writer: BatchWriter, exchange: Exchange) -> None:
    """Hand the request's bodies to the writer when its project keeps them. Called after the answer has
    ended: redacting up to twice the cap is not the client's wait. Journaled with the next commit, so a
    crash can lose the bodies of the last answers (never their records or charges)."""
    capture, key = exchange.capture, exchange.key
    if capture is not None and capture.keep and key is not None and writer.keeps_records:
        writer.body(capture.entry(exchange.request_id, datetime.now(UTC), key.project_id))


def _request_record(exchange: Exchange, key: KeyEntry, now: datetime) -> RequestRecord:
    route = exchange.route
    usage = exchange.usage
    latency_ms = (time.perf_counter() - exchange.started) * 1000
    upstream = exchange.upstream_started
    return RequestRecord(
        id=exchange.request_id,
        created_at=now,
        project_id=key.project_id,
        api_key_id=key.key_id,
        endpoint=exchange.endpoint,
        lane=str(route.lane) if route else None,  # a StrEnum: str() is C, .value a slow property
        provider=route.provider if route else None,
        credential_id=exchange.credential_id,
        requested_model=route.requested_model if route else exchange.model,
        resolved_model=route.upstream_model if route else None,
        stream=exchange.stream,
        status=exchange.status,
        error_code=exchange.error_code,
        latency_ms=latency_ms,
        upstream_ms=exchange.upstream_ms if exchange.upstream_started else None,
        prompt_tokens=as_int(exchange.usage.get("prompt_tokens")),
        completion_tokens=as_int(exchange.usage.get("completion_tokens")),
        total_tokens=as_int(exchange.usage.get("total_tokens")),
        upstream_request_id=exchange.upstream_request_id,
        cache=exchange.cache if exchange.endpoint in _CACHED_ENDPOINTS else None,
        cached_tokens=cached_tokens(exchange.usage),
        cost_micro_usd=exchange.cost_micro,
        cost_saved_micro_usd=exchange.saved_micro,
        charged_micro_usd=exchange.charged(),
        attempts=[a.as_record(exchange.started) for a in exchange.attempts] if exchange.attempts else None,
        trace_id=exchange.trace_id or None,
        error_type=exchange.error_type,
        routing_reason=exchange.routing_reason if route else None,
        overhead_ms=latency_ms - exchange.upstream_ms,
        ttfb_ms=(exchange.first_byte - upstream) * 1000 if exchange.first_byte and upstream else None,
        ttft_ms=(exchange.first_token - exchange.started) * 1000 if exchange.first_token else None,
        cache_write_tokens=_detail(usage, "prompt_tokens_details", "cache_write_tokens"),
        reasoning_tokens=_detail(usage, "completion_tokens_details", "reasoning_tokens"),
        client_ip=exchange.client_ip,
        user_agent=exchange.user_agent,
        tags=exchange.tags,
    )


def _key_audit(writer: BatchWriter, exchange: Exchange, key: KeyEntry, now: datetime) -> None:
    """The audit events of the provider keys the request opened: each use, each cooldown it caused."""
    route = exchange.route
    for attempt in exchange.attempts or ():
        if attempt.credential_id is not None and attempt.action != "answered":
            detail = {
                "status": attempt.status,
                "model": attempt.route.upstream_model,
                "reason": attempt.reason,
            }
            outcome = "auth_failed" if attempt.code == "provider_authentication_failed" else "error"
            use = key_use(
                key, attempt.route.provider, attempt.credential_id, exchange.request_id, outcome, detail, now
            )
            writer.audit(use)
    for provider, credential_id, cooldown in exchange.cooled:
        writer.audit(
            NewAuditEvent(
                actor=f"api_key:{key.key_id}",
                action="provider_key.cooldown",
                project_id=key.project_id,
                provider=provider,
                credential_id=credential_id,
                api_key_id=key.key_id,
                request_id=exchange.request_id,
                outcome=f"cooling_after_{cooldown.reason}",
                detail=cooldown.as_json(),
                at=now,
            )
        )
    if exchange.credential_id is not None and route is not None:
        outcome = (
            "ok"
            if exchange.status < 400
            else ("auth_failed" if exchange.error_code == "provider_authentication_failed" else "error")
        )
        detail = {"status": exchange.status, "model": route.upstream_model}
        writer.audit(
            key_use(key, route.provider, exchange.credential_id, exchange.request_id, outcome, detail, now)
        )


def _detail(usage: dict[str, object], part: str, name: str) -> int | None:
    details = usage.get(part)
    return as_int(details.get(name)) if isinstance(details, dict) else None


def key_use(
    key: KeyEntry,
    provider: str,
    credential_id: str,
    request_id: str,
    outcome: str,
    detail: dict[str, object],
    at: datetime,
) -> NewAuditEvent:
    """The audit event of one use of a project's provider key, made with one of its API keys."""
    return NewAuditEvent(
        actor=f"api_key:{key.key_id}",
        action=KEY_USE,
        project_id=key.project_id,
        provider=provider,
        credential_id=credential_id,
        api_key_id=key.key_id,
        request_id=request_id,
        outcome=outcome,
        detail=detail,
        at=at,
    )


def observe(metrics: Metrics, exchange: Exchange) -> None:
    """The request in the Prometheus metrics (bounded labels: ``telemetry/metrics.py``)."""
    now = time.perf_counter()
    route = exchange.route
    seconds = now - exchange.started
    attempts: tuple[tuple[str, str, int], ...] | None = ()  # none went upstream
    if exchange.attempts:
        attempts = tuple((a.route.provider, a.action, a.status) for a in exchange.attempts)
    elif route is not None and exchange.upstream_started is not None:
        attempts = None  # the one attempt: the request's own status says how it went
    metrics.request(
        RequestFacts(
            endpoint=exchange.endpoint,
            provider=route.provider if route else None,
            model=route.upstream_model if route else None,
            lane=str(route.lane) if route else None,
            status=exchange.status,
            error_type=exchange.error_type or ("client_closed_request" if exchange.status == 499 else None),
            cache=exchange.cache if exchange.endpoint in _CACHED_ENDPOINTS else None,
            seconds=seconds,
            overhead_s=seconds - exchange.upstream_ms / 1000,
            first_token_s=exchange.first_token - exchange.started if exchange.first_token else None,
            prompt_tokens=as_int(exchange.usage.get("prompt_tokens")),
            completion_tokens=as_int(exchange.usage.get("completion_tokens")),
            cached_tokens=cached_tokens(exchange.usage),
            cost_micro_usd=exchange.cost_micro,
            attempts=attempts,
            fell_back=exchange.routing_reason.startswith("fallback"),
        )
    )
