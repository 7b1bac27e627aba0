"""Traces: a server span per request and a client span per upstream attempt, exported by the OpenTelemetry
SDK's OTLP/HTTP exporter to a real receiver in the test; the client's W3C ``traceparent`` continued, and
carried upstream."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from starlette.types import Receive, Scope, Send

from byokgate.asgi import send_bytes
from byokgate.proxy.bodies import redact
from byokgate.settings import Settings
from tests.proxy.conftest import Gateway, gateway_for
from tests.proxy.test_end_to_end import OPENAI_KEY_A, USER, Upstreams, _settings
from tests.proxy.test_end_to_end import upstreams as upstreams  # the emulators, shared fixture
from tests.support.server import running_server

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


class Receiver:
    """A small OTLP/HTTP trace receiver: protobuf ``ExportTraceServiceRequest``s on ``POST /v1/traces``."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        assert scope["path"] == "/v1/traces"
        request = ExportTraceServiceRequest.FromString(body)
        with self.lock:
            for resource in request.resource_spans:
                for scoped in resource.scope_spans:
                    self.spans.extend(scoped.spans)
        await send_bytes(send, 200, b"", [(b"content-type", b"application/x-protobuf")])

    def wait_for(self, count: int) -> list[Span]:
        for _ in range(200):
            with self.lock:
                if len(self.spans) >= count:
                    return list(self.spans)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} spans, received {len(self.spans)}")


def attributes(span: Span) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for attribute in span.attributes:
        value = attribute.value
        kind = value.WhichOneof("value")
        if kind == "array_value":
            values[attribute.key] = [v.string_value for v in value.array_value.values]
        else:
            values[attribute.key] = getattr(value, kind)
    return values


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()
    with running_server(receiver) as url:
        yield receiver, url


def traced(
    settings: Settings, upstreams: Upstreams, url: str, monkeypatch: pytest.MonkeyPatch, **env: str
) -> Iterator[Gateway]:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    upstreams.reset()
    return gateway_for(_settings(settings, upstreams))


def test_a_request_is_a_server_span_with_a_client_span_per_attempt(
    settings: Settings, upstreams: Upstreams, receiver: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spans_in, url = receiver
    for gateway in traced(settings, upstreams, url, monkeypatch):
        _, key = gateway.project(openai=OPENAI_KEY_A)
        raw = gateway.client(key).chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=USER,
            extra_headers={"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"},
        )
        request_id = raw.headers["x-byokgate-request-id"]
        sent = upstreams.openai.emulator.requests[-1].headers["traceparent"]
        spans = spans_in.wait_for(2)

    server = next(s for s in spans if s.kind == Span.SPAN_KIND_SERVER)
    client = next(s for s in spans if s.kind == Span.SPAN_KIND_CLIENT)
    assert server.trace_id.hex() == CLIENT_TRACE == client.trace_id.hex()
    assert server.parent_span_id.hex() == CLIENT_SPAN  # the client's span is the parent
    assert client.parent_span_id == server.span_id
    assert sent == f"00-{CLIENT_TRACE}-{client.span_id.hex()}-01"  # upstream continues the attempt's span
    assert server.name == "POST /v1/chat/completions"
    assert client.name == "chat gpt-4o-mini"
    on_server, on_client = attributes(server), attributes(client)
    assert on_server["byokgate.request_id"] == request_id
    assert on_server["http.response.status_code"] == 200
    assert on_server["gen_ai.system"] == "openai"
    assert on_client["gen_ai.system"] == "openai"
    assert "gen_ai.provider.name" not in on_client  # the newer name only when opted in
    assert on_client["gen_ai.operation.name"] == "chat"
    assert on_client["gen_ai.request.model"] == "gpt-4o-mini"
    assert on_client["gen_ai.response.finish_reasons"] == ["stop"]
    assert on_client["gen_ai.usage.input_tokens"] > 0
    assert on_client["gen_ai.usage.output_tokens"] > 0
    assert on_client["server.address"] == "127.0.0.1"
    content = str(USER[0]["content"])
    assert all(content not in str(value) for span in spans for value in attributes(span).values())


def test_the_newest_genai_names_are_used_when_opted_in(
    settings: Settings, upstreams: Upstreams, receiver: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spans_in, url = receiver
    latest = {"OTEL_SEMCONV_STABILITY_OPT_IN": "http,gen_ai_latest_experimental"}
    for gateway in traced(settings, upstreams, url, monkeypatch, **latest):
        _, key = gateway.project(openai=OPENAI_KEY_A)
        stream = gateway.client(key).chat.completions.create(
            model="gpt-4o-mini", messages=USER, stream=True, stream_options={"include_usage": True}
        )
        assert list(stream)
        spans = spans_in.wait_for(2)
    client = attributes(next(s for s in spans if s.kind == Span.SPAN_KIND_CLIENT))
    assert client["gen_ai.provider.name"] == "openai"
    assert "gen_ai.system" not in client
    assert client["gen_ai.response.time_to_first_chunk"] > 0
    assert client["gen_ai.response.finish_reasons"] == ["stop"]


@pytest.mark.parametrize("opt_in", ["true", "SPAN_ONLY"])
def test_message_content_is_on_the_server_span_only_when_opted_in(
    settings: Settings,
    upstreams: Upstreams,
    receiver: tuple[Receiver, str],
    monkeypatch: pytest.MonkeyPatch,
    opt_in: str,
) -> None:
    spans_in, url = receiver
    secret = "sk-proj-" + "S3cr3t" * 6
    opted = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": opt_in}
    asked = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": f"Tell me about the sea. My key: {secret}"},
    ]
    for gateway in traced(settings, upstreams, url, monkeypatch, **opted):
        project_id, key = gateway.project(openai=OPENAI_KEY_A)
        client = gateway.client(key)
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=asked)  # type: ignore[arg-type]
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
        streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        spans = spans_in.wait_for(4)
        kept = gateway.admin.get(f"/projects/{project_id}/log-bodies").json()

    servers = [attributes(s) for s in spans if s.kind == Span.SPAN_KIND_SERVER]
    plain = next(a for a in servers if "gen_ai.system_instructions" in a)
    assert json.loads(plain["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief."}]
    (asked_in,) = json.loads(plain["gen_ai.input.messages"])
    assert asked_in["role"] == "user"
    assert asked_in["parts"][0]["content"].startswith("Tell me about the sea. My key: sk-proj-")
    assert secret not in plain["gen_ai.input.messages"]  # redacted, like kept bodies
    assert secret in str(answer.choices[0].message.content)  # the emulator echoes it: redacted below too
    (output,) = json.loads(plain["gen_ai.output.messages"])
    assert output == {
        "role": "assistant",
        "parts": [{"type": "text", "content": redact(str(answer.choices[0].message.content))}],
        "finish_reason": "stop",
    }
    streaming = next(a for a in servers if a is not plain)
    (streamed_out,) = json.loads(streaming["gen_ai.output.messages"])
    assert streamed_out["parts"] == [{"type": "text", "content": streamed}]
    assert streamed_out["finish_reason"] == "stop"
    assert kept["enabled"] is False  # content on spans keeps no bodies in the database
    clients = [attributes(s) for s in spans if s.kind == Span.SPAN_KIND_CLIENT]
    assert all("gen_ai.input.messages" not in a for a in clients)


def test_without_otlp_upstream_requests_still_carry_the_trace(
    settings: Settings, upstreams: Upstreams
) -> None:
    upstreams.reset()
    for gateway in gateway_for(_settings(settings, upstreams)):
        _, key = gateway.project(openai=OPENAI_KEY_A)
        client = gateway.client(key)
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=USER,
            extra_headers={"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"},
        )
        continued = upstreams.openai.emulator.requests[-1].headers["traceparent"]
        client.chat.completions.create(
            model="gpt-4o-mini", messages=USER, extra_headers={"traceparent": "00-not-a-valid-header"}
        )
        fresh = upstreams.openai.emulator.requests[-1].headers["traceparent"]
    version, trace_id, span_id, flags = continued.split("-")
    assert (version, trace_id, flags) == ("00", CLIENT_TRACE, "01")
    assert span_id != CLIENT_SPAN
    assert len(span_id) == 16
    assert fresh.split("-")[1] not in (CLIENT_TRACE, "0" * 32)
