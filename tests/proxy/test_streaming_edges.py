"""Stream edges against a scripted upstream: client disconnects cancel upstream, mid-stream error events."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionChunk
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from byokgate.background import BackgroundServer
from byokgate.settings import Settings
from tests.proxy.conftest import Gateway, gateway_for
from tests.support.settings import wired

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

OPENAI_KEY = "sk-proj-" + "s" * 40


class ScriptedUpstream:
    """An OpenAI-format chat endpoint whose streams follow a script set per test."""

    def __init__(self) -> None:
        self.mode = "endless"
        self.stream_closed = threading.Event()
        self.chunks_sent = 0
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])

    async def chat(self, request: Request) -> StreamingResponse:
        await request.body()
        return StreamingResponse(self._events(), media_type="text/event-stream")

    async def _events(self) -> AsyncIterator[bytes]:
        head = '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":'
        try:
            for index in range(500):
                delta = '[{"index":0,"delta":{"content":"tick "},"finish_reason":null}]'
                yield f"data: {head}{delta}}}\n\n".encode()
                self.chunks_sent += 1
                if self.mode == "error" and index == 1:
                    yield (
                        b'data: {"error":{"message":"The server is overloaded.","type":"server_error",'
                        b'"param":null,"code":"overloaded"}}\n\n'
                    )
                    return
                await asyncio.sleep(0.02)
        finally:
            self.stream_closed.set()


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[ScriptedUpstream, str]]:
    upstream = ScriptedUpstream()
    with BackgroundServer(upstream.app, name="scripted-upstream") as server:
        yield upstream, f"{server.url}/v1"


@pytest.fixture
def gateway(settings: Settings, scripted: tuple[ScriptedUpstream, str]) -> Iterator[Gateway]:
    upstream, base_url = scripted
    upstream.mode, upstream.chunks_sent = "endless", 0
    upstream.stream_closed.clear()
    yield from gateway_for(wired(settings, {"openai": base_url}))


def _first_records(gateway: Gateway, project_id: str) -> list[dict[str, object]]:
    """The request log is written off the request path: wait for it to show something."""
    for _ in range(100):
        records: list[dict[str, object]] = gateway.admin.get(f"/projects/{project_id}/requests").json()[
            "data"
        ]
        if records:
            return records
        time.sleep(0.05)
    return []


def test_a_client_that_leaves_mid_stream_cancels_the_upstream_request(
    gateway: Gateway, scripted: tuple[ScriptedUpstream, str]
) -> None:
    upstream, _ = scripted
    project_id, key = gateway.project(openai=OPENAI_KEY)
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "go"}], "stream": True}
    headers = {"authorization": f"Bearer {key}"}
    with (
        httpx.Client(timeout=10) as client,
        client.stream("POST", f"{gateway.url}/v1/chat/completions", json=body, headers=headers) as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
    # The client hung up after one event; the gateway must drop the upstream stream, not drain it.
    assert upstream.stream_closed.wait(timeout=5)
    assert upstream.chunks_sent < 100

    records = _first_records(gateway, project_id)
    assert [(r["status"], r["error_code"]) for r in records] == [(499, "client_closed_request")]


def test_an_error_event_mid_stream_is_raised_by_the_sdk(
    gateway: Gateway, scripted: tuple[ScriptedUpstream, str]
) -> None:
    upstream, _ = scripted
    upstream.mode = "error"
    project_id, key = gateway.project(openai=OPENAI_KEY)
    received: list[str] = []

    def _contents(chunks: Iterable[ChatCompletionChunk]) -> Iterator[str]:
        for chunk in chunks:
            content = chunk.choices[0].delta.content or ""
            received.append(content)
            yield content

    stream = gateway.client(key).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "go"}], stream=True
    )
    with pytest.raises(openai.APIError, match="The server is overloaded"):
        list(_contents(stream))
    assert received == ["tick ", "tick "]  # what came before the error still arrived

    records = _first_records(gateway, project_id)
    assert [(r["status"], r["error_code"]) for r in records] == [(502, "upstream_stream_error")]
