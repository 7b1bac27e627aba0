"""A request's OpenTelemetry spans: the server span (opened and closed by the data plane) and a client span
per upstream attempt (the executor's), with the GenAI conventions' attributes (``telemetry/tracing.py``),
and the ``traceparent`` every upstream request carries."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from opentelemetry.trace import Span, Status, StatusCode

from byokgate.domain.upstream import UpstreamRequest
from byokgate.errors import ApiError
from byokgate.providers.base import ProviderAdapter
from byokgate.proxy.exchange import Exchange, as_int, cached_tokens
from byokgate.proxy.span_content import span_content
from byokgate.routing.policy import Route
from byokgate.telemetry.tracing import Tracing, span_ids, traceparent

# gen_ai.operation.name of each endpoint (others have no GenAI operation)
OPERATIONS = {"chat/completions": "chat", "messages": "chat", "embeddings": "embeddings"}


def server_started(tracing: Tracing, exchange: Exchange, method: str, path: str) -> None:
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "url.path": path,
        "byokgate.request_id": exchange.request_id,
    }
    span = tracing.server(f"{method} {path}", exchange.trace, attributes)
    exchange.span = span
    exchange.trace_id = span_ids(span)[0]
    exchange.capture_content = tracing.content


def server_ended(tracing: Tracing, exchange: Exchange) -> None:
    span = exchange.span
    if span is None:
        return
    route = exchange.route
    attributes: dict[str, Any] = {
        "http.response.status_code": exchange.status,
        "byokgate.cache": exchange.cache,
        "byokgate.attempts": exchange.attempt_count,
        "byokgate.routing_reason": exchange.routing_reason,
    }
    if exchange.key is not None:
        attributes["byokgate.project_id"] = exchange.key.project_id
    if route is not None:
        attributes["byokgate.lane"] = str(route.lane)
        attributes["gen_ai.request.model"] = route.requested_model
        attributes["gen_ai.response.model"] = route.upstream_model
        attributes[tracing.system] = route.provider
    operation = OPERATIONS.get(exchange.endpoint)
    if operation is not None:
        attributes["gen_ai.operation.name"] = operation
    _usage(tracing, exchange, attributes)
    if exchange.capture is not None and tracing.content:
        request, response = exchange.capture.texts()
        attributes.update(span_content(request, response, exchange.stream))
    if exchange.cost_micro is not None:
        attributes["byokgate.cost_usd"] = exchange.cost_micro / 1_000_000
    if exchange.status >= 400:
        attributes["error.type"] = exchange.error_code or exchange.error_type or str(exchange.status)
        if exchange.status >= 500:
            span.set_status(Status(StatusCode.ERROR))
    span.set_attributes(attributes)
    span.end()


def attempt_started(
    tracing: Tracing, exchange: Exchange, adapter: ProviderAdapter, route: Route, upstream: UpstreamRequest
) -> Span | None:
    if exchange.span is None:
        return None
    operation = OPERATIONS.get(exchange.endpoint, exchange.endpoint)
    url = urlsplit(upstream.url)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        tracing.system: adapter.telemetry_name or adapter.name,
        "gen_ai.request.model": route.upstream_model,
        "server.address": url.hostname or "",
        "server.port": url.port or (443 if url.scheme == "https" else 80),
        "http.request.method": upstream.method,
        "byokgate.lane": str(route.lane),
        "byokgate.provider": route.provider,
    }
    return tracing.client(exchange.span, f"{operation} {route.upstream_model}", attributes)


def attempt_ended(tracing: Tracing, span: Span, exchange: Exchange, failure: BaseException | None) -> None:
    attributes: dict[str, Any] = {}
    if isinstance(failure, ApiError):
        attributes["http.response.status_code"] = failure.status
        attributes["error.type"] = failure.code or failure.type
        span.set_status(Status(StatusCode.ERROR, failure.message[:200]))
    elif failure is not None:
        attributes["error.type"] = type(failure).__name__
        span.set_status(Status(StatusCode.ERROR))
    else:
        attributes["http.response.status_code"] = exchange.status
        if exchange.route is not None:
            attributes["gen_ai.response.model"] = exchange.route.upstream_model
        if exchange.finish_reason is not None:
            attributes["gen_ai.response.finish_reasons"] = (exchange.finish_reason,)
        if exchange.upstream_request_id is not None:
            attributes["gen_ai.response.id"] = exchange.upstream_request_id
        _usage(tracing, exchange, attributes)
        if tracing.latest and exchange.first_token is not None and exchange.upstream_started is not None:
            attributes["gen_ai.response.time_to_first_chunk"] = (
                exchange.first_token - exchange.upstream_started
            )
    span.set_attributes(attributes)
    span.end()


def _usage(tracing: Tracing, exchange: Exchange, attributes: dict[str, Any]) -> None:
    usage = exchange.usage
    prompt, completion = as_int(usage.get("prompt_tokens")), as_int(usage.get("completion_tokens"))
    if prompt is not None:
        attributes["gen_ai.usage.input_tokens"] = prompt
    if completion is not None:
        attributes["gen_ai.usage.output_tokens"] = completion
    if tracing.latest:
        cached = cached_tokens(usage)
        if cached is not None:
            attributes["gen_ai.usage.cache_read.input_tokens"] = cached
        details = usage.get("completion_tokens_details")
        reasoning = as_int(details.get("reasoning_tokens")) if isinstance(details, dict) else None
        if reasoning is not None:
            attributes["gen_ai.usage.reasoning.output_tokens"] = reasoning


def with_traceparent(upstream: UpstreamRequest, exchange: Exchange, span: Span | None) -> UpstreamRequest:
    """``upstream`` carrying the request's trace (the attempt's span as its parent, when it has one)."""
    context = exchange.trace
    span_id = span_ids(span)[1] if span is not None else None
    value = traceparent(exchange.trace_id, span_id, context.flags)
    return UpstreamRequest(
        upstream.method, upstream.url, {**upstream.headers, "traceparent": value}, upstream.body
    )
