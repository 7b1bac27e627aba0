"""Trace context and OpenTelemetry traces.

Every request has a W3C trace context: the client's ``traceparent`` when it sent a valid one, else a new
trace id. The trace id is on the request's record and log lines, and every upstream request carries a
``traceparent`` of that trace. When OTLP is configured (the OpenTelemetry SDK's own variables:
``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, ``OTEL_EXPORTER_OTLP_HEADERS``,
``OTEL_SERVICE_NAME``, ``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*`` and friends; ``OTEL_SDK_DISABLED=true``
turns it off), ``Tracing`` exports a server span per request and a client span per upstream attempt, with
the GenAI semantic conventions' attributes as released (``gen_ai.system``), or their newest names
(``gen_ai.provider.name``, cache and reasoning token counts, time to first chunk) under
``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``. Message content is not put on spans unless
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` is ``true`` (or ``span_only``, ``span_and_event``, as
the GenAI instrumentations spell it): then the server span carries the request's messages and the answer
(``gen_ai.input.messages``, ``gen_ai.output.messages``), redacted of credentials and capped
(``proxy/span_content.py``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags

from byokgate.domain.ids import random_hex

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16
LATEST = "gen_ai_latest_experimental"
_CONTENT_ON_SPANS = frozenset({"true", "span_only", "span_and_event"})


@dataclass(frozen=True, slots=True)
class TraceContext:
    trace_id: str  # 32 lowercase hex digits
    parent_id: str | None  # the client's span (16 hex digits), when it sent a traceparent
    flags: str = "01"  # sampled


def incoming(value: bytes | None) -> TraceContext:
    """The trace a request belongs to: the client's ``traceparent`` if valid (W3C Trace Context level 1),
    else a new trace."""
    if value is not None:
        match = _TRACEPARENT.fullmatch(value.decode("latin-1").strip())
        if match is not None:
            version, trace_id, parent_id, flags = match.groups()
            if version != "ff" and trace_id != _ZERO_TRACE and parent_id != _ZERO_SPAN:
                return TraceContext(trace_id, parent_id, flags)
    return TraceContext(random_hex(32), None)


def traceparent(trace_id: str, span_id: str | None, flags: str = "01") -> str:
    """The ``traceparent`` an upstream request carries (a new span id when the gateway records none)."""
    return f"00-{trace_id}-{span_id or random_hex(16)}-{flags}"


def span_ids(span: Span) -> tuple[str, str]:
    context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


class Tracing:
    """Spans exported over OTLP/HTTP by the SDK's batch processor (off the request path)."""

    def __init__(self, provider: TracerProvider, *, latest: bool, content: bool = False) -> None:
        self._provider = provider
        self.tracer = provider.get_tracer("byokgate")
        self.latest = latest
        self.content = content  # message content on the server span (opted in)
        self.system = "gen_ai.provider.name" if latest else "gen_ai.system"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Tracing | None:
        env = os.environ if environ is None else environ
        if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
            return None
        if not (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or "byokgate"})
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        opted = {part.strip() for part in env.get("OTEL_SEMCONV_STABILITY_OPT_IN", "").split(",")}
        content = env.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").strip().lower()
        return cls(provider, latest=LATEST in opted, content=content in _CONTENT_ON_SPANS)

    def server(self, name: str, context: TraceContext, attributes: dict[str, Any]) -> Span:
        parent = None
        if context.parent_id is not None:
            remote = SpanContext(
                int(context.trace_id, 16),
                int(context.parent_id, 16),
                is_remote=True,
                trace_flags=TraceFlags(int(context.flags, 16)),
            )
            parent = trace.set_span_in_context(NonRecordingSpan(remote))
        return self.tracer.start_span(name, context=parent, kind=SpanKind.SERVER, attributes=attributes)

    def client(self, parent: Span, name: str, attributes: dict[str, Any]) -> Span:
        context = trace.set_span_in_context(parent)
        return self.tracer.start_span(name, context=context, kind=SpanKind.CLIENT, attributes=attributes)

    def shutdown(self) -> None:
        """Export what is batched, then stop."""
        self._provider.shutdown()
