"""`byokgate demo`: the product end to end on a machine with no provider keys and no network.

Starts the OpenAI, Groq, Anthropic, Gemini, Mistral and OpenRouter emulators and the gateway on the embedded
default (a throwaway SQLite file), creates a project through the admin API with emulated provider keys,
sends requests through the official OpenAI SDK and prints what the gateway reported for each: provider,
lane, cache, cost, latency.
"""

from __future__ import annotations

import base64
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from byokgate.app import create_app
from byokgate.background import BackgroundServer
from byokgate.emulators.runner import EmulatorServer, build
from byokgate.settings import Settings

if TYPE_CHECKING:
    import httpx
    import openai

# Emulated provider keys: shaped like the real ones, accepted only by the local emulators.
DEMO_KEYS = {
    "openai": "sk-proj-demo" + "0" * 36,
    "groq": "gsk_demo" + "0" * 44,
    "anthropic": "sk-ant-api03-demo" + "0" * 76,
    "gemini": "AIzaSyDemo" + "0" * 29,
    "mistral": "demo" + "0" * 28,
    "openrouter": "sk-or-v1-demo" + "0" * 51,
}
PROJECT_PROVIDERS = ("openai", "groq", "anthropic", "gemini", "mistral")  # the project's own keys (BYOK)


@dataclass(frozen=True, slots=True)
class Step:
    title: str
    model: str
    prompt: str
    stream: bool = False


STEPS = (
    Step("plain request, BYOK on the project's OpenAI key", "gpt-4o-mini", "What is a gateway?"),
    Step(
        "streamed, BYOK on the project's Groq key", "llama-3.3-70b-versatile", "Count to five.", stream=True
    ),
    Step("the first request again: answered from the cache", "gpt-4o-mini", "What is a gateway?"),
    Step("Claude, answered in OpenAI's format (translated both ways)", "claude-3-5-haiku-20241022", "Hi!"),
    Step("Gemini, streamed in OpenAI's format", "gemini-2.5-flash", "Name three rivers.", stream=True),
    Step("Mistral, an OpenAI-compatible provider added as one module", "mistral-small-latest", "Bonjour!"),
    Step("OpenRouter-style name, provider key held: BYOK wins", "openai/gpt-4o-mini", "Say hi."),
    Step("OpenRouter-style name, no provider key: pooled lane", "deepseek/deepseek-chat", "Say hi."),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    step: Step
    status: int
    headers: dict[str, str]
    text: str
    latency_ms: float
    ttft_ms: float | None
    stream_cost: str | None = None  # a stream's cost, from ``usage.cost`` in its usage chunk

    @property
    def cost(self) -> str:
        return self.headers.get("x-byokgate-cost-usd") or self.stream_cost or "n/a"


@contextmanager
def demo_stack(data_dir: Path, port: int = 0) -> Iterator[tuple[str, str]]:
    """Emulators and a gateway wired to them; yields (gateway URL, admin token)."""
    admin_token = secrets.token_urlsafe(24)
    with ExitStack() as stack:
        servers = {
            provider: stack.enter_context(EmulatorServer(build(provider, [key])))
            for provider, key in DEMO_KEYS.items()
        }
        settings = Settings(
            data_dir=data_dir,
            database_url=f"sqlite+aiosqlite:///{data_dir / 'byokgate.db'}",
            admin_token=admin_token,
            master_key=base64.b64encode(os.urandom(32)).decode(),
            base_urls={provider: server.base_url.rstrip("/") for provider, server in servers.items()},
            pooled_api_key=DEMO_KEYS["openrouter"],
            snapshot_poll_interval_s=0.2,
            log_level="warning",
        )
        gateway = stack.enter_context(BackgroundServer(create_app(settings), name="gateway", port=port))
        yield gateway.url, admin_token


def create_demo_project(admin: httpx.Client) -> tuple[str, str]:
    """A project with the response cache on, holding emulated OpenAI, Groq, Anthropic and Gemini keys;
    returns (id, project key)."""
    created = admin.post("/projects", json={"name": "demo"})
    created.raise_for_status()
    project = created.json()
    cache = admin.put(f"/projects/{project['id']}/cache", json={"enabled": True, "ttl_s": 600})
    cache.raise_for_status()
    for provider in PROJECT_PROVIDERS:
        stored = admin.put(
            f"/projects/{project['id']}/provider-keys/{provider}", json={"api_key": DEMO_KEYS[provider]}
        )
        stored.raise_for_status()
    return str(project["id"]), str(project["api_key"])


def wait_until_served(client: openai.OpenAI, timeout_s: float = 10.0) -> None:
    """The data plane reads a snapshot refreshed in the background: wait for it to know the new project."""
    import openai

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            client.models.list()
            return
        except openai.AuthenticationError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def wait_for_records(admin: httpx.Client, project_id: str, expected: int) -> tuple[int, int]:
    """Records are written in batches off the request path: wait (briefly) until they are all in."""
    deadline = time.monotonic() + 5
    while True:
        listed = admin.get(f"/projects/{project_id}/requests").json()["data"]
        records = sum(1 for record in listed if record["endpoint"] == "chat/completions")
        uses = admin.get(f"/projects/{project_id}/audit", params={"action": "provider_key.use"}).json()
        if records >= expected or time.monotonic() > deadline:
            return records, len(uses["data"])
        time.sleep(0.1)


def run_step(client: openai.OpenAI, step: Step) -> Outcome:
    messages: list[Any] = [{"role": "user", "content": step.prompt}]
    started = time.perf_counter()
    if not step.stream:
        raw = client.chat.completions.with_raw_response.create(model=step.model, messages=messages)
        completion = raw.parse()
        latency = (time.perf_counter() - started) * 1000
        text = completion.choices[0].message.content or ""
        return Outcome(step, raw.status_code, dict(raw.headers), text, latency, None)
    ttft: float | None = None
    parts: list[str] = []
    cost: str | None = None
    with client.chat.completions.with_streaming_response.create(
        model=step.model, messages=messages, stream=True, stream_options={"include_usage": True}
    ) as streamed:
        for chunk in streamed.parse():
            for choice in chunk.choices:
                if choice.delta.content:
                    if ttft is None:
                        ttft = (time.perf_counter() - started) * 1000
                    parts.append(choice.delta.content)
            reported = (chunk.usage.model_extra or {}).get("cost") if chunk.usage else None
            if isinstance(reported, int | float):
                cost = f"{reported:.6f}"
        latency = (time.perf_counter() - started) * 1000
        headers = dict(streamed.headers)
        return Outcome(step, streamed.status_code, headers, "".join(parts), latency, ttft, cost)


def render(outcomes: list[Outcome], echo: Callable[[str], None]) -> None:
    columns = ("#", "model", "provider", "lane", "cache", "cost USD", "latency ms", "overhead ms")
    rows = [
        (
            str(index),
            outcome.step.model,
            outcome.headers.get("x-byokgate-provider", "-"),
            outcome.headers.get("x-byokgate-lane", "-"),
            outcome.headers.get("x-byokgate-cache", "-"),
            outcome.cost,
            f"{outcome.latency_ms:.1f}" + (f" (TTFT {outcome.ttft_ms:.1f})" if outcome.ttft_ms else ""),
            outcome.headers.get("x-byokgate-overhead-ms", "-"),
        )
        for index, outcome in enumerate(outcomes, 1)
    ]
    widths = [max(len(cell) for cell in column) for column in zip(columns, *rows, strict=True)]
    for row in (columns, *rows):
        echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def run_demo(echo: Callable[[str], None], *, keep_serving: bool = False, port: int = 0) -> list[Outcome]:
    try:
        import httpx
        import openai
    except ImportError:
        raise click.ClickException(
            "the demo drives the gateway with the official OpenAI SDK: pip install 'byokgate[demo]'"
        ) from None
    with tempfile.TemporaryDirectory(prefix="byokgate-demo-") as tmp, demo_stack(Path(tmp), port) as stack:
        url, admin_token = stack
        emulated = ", ".join(DEMO_KEYS)
        echo(f"gateway on {url} (emulated {emulated} on loopback; data in {tmp})")
        admin_headers = {"authorization": f"Bearer {admin_token}"}
        with httpx.Client(base_url=f"{url}/admin/v1", headers=admin_headers, timeout=30) as admin:
            project_id, project_key = create_demo_project(admin)
            echo(
                f"project {project_id}: response cache on, its own (emulated) keys for "
                + ", ".join(PROJECT_PROVIDERS)
            )
            with openai.OpenAI(base_url=f"{url}/v1", api_key=project_key, max_retries=0) as client:
                wait_until_served(client)
                outcomes = []
                for index, step in enumerate(STEPS, 1):
                    outcome = run_step(client, step)
                    outcomes.append(outcome)
                    echo(f"{index}. {step.title}\n   {step.model} -> {outcome.text[:70]!r}")
            echo("")
            render(outcomes, echo)
            records, uses = wait_for_records(admin, project_id, len(outcomes))
            echo(
                f"\nrequest log: {records} chat completions; audit log: {uses} provider-key uses "
                "(written off the request path: GET /admin/v1/projects/{id}/requests and /audit)"
            )
        if keep_serving:
            echo(
                f"\nStill serving. Try:\n  curl {url}/v1/chat/completions -H 'authorization: Bearer "
                f"{project_key}' -H 'content-type: application/json' "
                """-d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'"""
                "\nCtrl-C to stop."
            )
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return outcomes
