"""Helpers for the fault tests that run against every emulator (this module holds no tests): one chat
request per engine as raw HTTP, the events of its stream with their arrival times, raw sockets, and the
SDK client each family is used through."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import anthropic
import httpx
import openai
from google import genai
from google.genai import types

from byokgate.emulators import SPECS, Emulator, EmulatorServer
from tests.emulators.compatible_cases import BY_NAME

Family = Literal["openai", "anthropic", "gemini"]
KEY = "test-key-0123456789"
QUESTION = "Hello there, how are you doing today?"
# name -> (the model requests use, another model of the same emulator)
MODELS = {
    "openai": ("gpt-4o-mini", "gpt-4o"),
    "groq": ("llama-3.3-70b-versatile", "llama-3.1-8b-instant"),
    "openrouter": ("openai/gpt-4o", "openai/gpt-4o-mini"),
    "azure": ("gpt-4o-mini", "gpt-4o"),
    "anthropic": ("claude-sonnet-4-6", "claude-opus-4-7"),
    "gemini": ("gemini-2.0-flash", "gemini-2.5-flash"),
    **{
        name: (
            BY_NAME[name].chat_model,
            next(
                model.id
                for model in spec.models
                if model.kind == "chat" and model.id != BY_NAME[name].chat_model
            ),
        )
        for name, spec in SPECS.items()
    },
}
ENGINES = tuple(MODELS)


@dataclass(frozen=True)
class Engine:
    """One running emulator (any key accepted) and how to ask it for a chat answer."""

    name: str
    server: EmulatorServer
    model: str
    other_model: str
    extra: dict[str, Any] = field(default_factory=dict)  # added to OpenAI-format bodies

    @property
    def family(self) -> Family:
        return "anthropic" if self.name == "anthropic" else "gemini" if self.name == "gemini" else "openai"

    @property
    def emulator(self) -> Emulator:
        return self.server.emulator

    def request(
        self, *, stream: bool = False, model: str | None = None, fault: str | None = None
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """URL, headers and JSON body of a chat request (`fault`: an `x-emulator-fault` value)."""
        model = model or self.model
        headers = {"x-emulator-fault": fault} if fault else {}
        root = self.server.url
        if self.family == "anthropic":
            body: dict[str, Any] = {
                "model": model,
                "max_tokens": 256,
                "messages": [{"role": "user", "content": QUESTION}],
            }
            if stream:
                body["stream"] = True
            return (
                f"{root}/v1/messages",
                {"x-api-key": KEY, "anthropic-version": "2023-06-01", **headers},
                body,
            )
        if self.family == "gemini":
            rpc = "streamGenerateContent?alt=sse" if stream else "generateContent"
            body = {"contents": [{"role": "user", "parts": [{"text": QUESTION}]}]}
            return f"{root}/v1beta/models/{model}:{rpc}", {"x-goog-api-key": KEY, **headers}, body
        base = f"{root}/openai/v1" if self.name == "azure" else self.server.base_url
        body = {"model": model, "messages": [{"role": "user", "content": QUESTION}], **self.extra}
        if stream:
            body["stream"] = True
        return f"{base}/chat/completions", {"authorization": f"Bearer {KEY}", **headers}, body

    def post(
        self, *, stream: bool = False, model: str | None = None, fault: str | None = None
    ) -> httpx.Response:
        url, headers, body = self.request(stream=stream, model=model, fault=fault)
        return httpx.post(url, json=body, headers=headers, timeout=10)

    def raw_request(self, *, stream: bool = False, fault: str | None = None) -> bytes:
        """The same request as HTTP/1.1 bytes, for a raw socket."""
        url, headers, body = self.request(stream=stream, fault=fault)
        target = url[len(self.server.url) :]
        payload = json.dumps(body).encode()
        head = [
            f"POST {target} HTTP/1.1",
            f"host: 127.0.0.1:{self.server.port}",
            "content-type: application/json",
        ]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head.append(f"content-length: {len(payload)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + payload

    def connect(self, *, stream: bool = False, fault: str | None = None) -> socket.socket:
        """A raw socket that has sent the request."""
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        sock.sendall(self.raw_request(stream=stream, fault=fault))
        return sock


@dataclass
class Timeline:
    """A streamed answer as it arrived: seconds from the request to the headers, to each `data:` line and
    to the body's end, and the error that ended the body, if any."""

    status: int
    headers_at: float
    lines: list[tuple[float, str]]
    error: Exception | None
    ended_at: float

    def events(self) -> list[Any]:
        """The `data:` payloads, JSON-decoded (`[DONE]` kept as the string)."""
        return [data if data == "[DONE]" else json.loads(data) for _, data in self.lines]

    def first(self, predicate: Any) -> int:
        """The index of the first event `predicate` accepts."""
        return next(index for index, event in enumerate(self.events()) if predicate(event))


def timeline(engine: Engine, *, fault: str | None = None, stream: bool = True) -> Timeline:
    """Send the engine's request with httpx and time what arrives (the body's end or its error)."""
    url, headers, body = engine.request(stream=stream, fault=fault)
    started = time.perf_counter()
    lines: list[tuple[float, str]] = []
    error: Exception | None = None
    with (
        httpx.Client(timeout=10) as client,
        client.stream("POST", url, json=body, headers=headers) as response,
    ):
        headers_at = time.perf_counter() - started
        try:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    lines.append((time.perf_counter() - started, line[len("data: ") :]))
        except httpx.HTTPError as exc:
            error = exc
        ended_at = time.perf_counter() - started
    return Timeline(response.status_code, headers_at, lines, error, ended_at)


def has_content(event: Any) -> bool:
    """Whether a stream event carries answer content (text, a tool call, a Gemini candidate)."""
    if not isinstance(event, dict):
        return False
    if event.get("type") == "content_block_delta" or event.get("candidates"):
        return True
    for choice in event.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content") or delta.get("tool_calls"):
            return True
    return False


def is_terminator(event: Any) -> bool:
    """`[DONE]`, Anthropic's `message_stop`, or a finish reason (the events a stall must not reach)."""
    if event == "[DONE]":
        return True
    if not isinstance(event, dict):
        return False
    if event.get("type") in ("message_delta", "message_stop"):
        return True
    candidates = event.get("candidates") or ()
    choices = event.get("choices") or ()
    return any(item.get("finishReason") for item in candidates) or any(
        item.get("finish_reason") for item in choices
    )


def held_requests(server: EmulatorServer) -> int:
    """How many requests the server is still running (uvicorn's own count of ASGI tasks)."""
    return len(server._server._server.server_state.tasks)


def wait_until(condition: Any, timeout_s: float = 5.0) -> bool:
    """Poll `condition()` until it is true or `timeout_s` passes; its last value."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def recv_all(sock: socket.socket) -> tuple[bytes, str]:
    """Everything the server sends until it closes: (bytes, `"eof"` or `"reset"`)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        return received, "reset"
    return received, "eof"


@dataclass(frozen=True)
class Clients:
    """The official SDK clients of one engine (no retries), for the family it belongs to."""

    engine: Engine
    timeout: float = 10.0

    def openai(self) -> openai.OpenAI:
        if self.engine.name == "azure":
            return openai.AzureOpenAI(
                azure_endpoint=self.engine.server.url,
                api_key=KEY,
                api_version="2024-10-21",
                max_retries=0,
                timeout=self.timeout,
            )
        return openai.OpenAI(
            base_url=self.engine.server.base_url, api_key=KEY, max_retries=0, timeout=self.timeout
        )

    def anthropic(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            base_url=self.engine.server.url, api_key=KEY, max_retries=0, timeout=self.timeout
        )

    def gemini(self) -> genai.Client:
        options = types.HttpOptions(base_url=self.engine.server.url, timeout=int(self.timeout * 1000))
        return genai.Client(api_key=KEY, http_options=options)


def sdk_chat(engine: Engine, *, timeout: float = 10.0, stream: bool = False, model: str | None = None) -> Any:
    """One chat call through the engine's SDK (a stream is read to its end); what the SDK returned."""
    model = model or engine.model
    clients = Clients(engine, timeout)
    if engine.family == "anthropic":
        with clients.anthropic() as client:
            if stream:
                with client.messages.stream(
                    model=model, max_tokens=256, messages=[{"role": "user", "content": QUESTION}]
                ) as events:
                    return events.get_final_message()
            return client.messages.create(
                model=model, max_tokens=256, messages=[{"role": "user", "content": QUESTION}]
            )
    if engine.family == "gemini":
        with clients.gemini() as client:
            if stream:
                return list(client.models.generate_content_stream(model=model, contents=QUESTION))
            return client.models.generate_content(model=model, contents=QUESTION)
    with clients.openai() as client:
        answer = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": QUESTION}],
            stream=stream,
            extra_body=engine.extra or None,
        )
        return list(answer) if stream else answer


def engine_of(servers: dict[str, EmulatorServer], name: str) -> Engine:
    """The `Engine` of one of `servers` (by emulator name), reset: no faults, no log."""
    server = servers[name]
    server.emulator.reset()
    model, other = MODELS[name]
    extra = dict(BY_NAME[name].plain_extra) if name in BY_NAME else {}
    return Engine(name, server, model, other, extra)
