"""An OpenAI-compatible endpoint the operator declares in the config file, with no code: projects store keys
for it and route to it like any provider (plain, streamed, priced from the declaration, listed, audited).

The endpoint is an emulator of a self-hosted server: a vLLM-like record of the generic OpenAI-compatible
emulator profile, serving models no built-in provider knows.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from decimal import Decimal

import openai
import pytest

from byokgate.emulators import EmulatorServer
from byokgate.emulators.compatible import compatible_emulator
from byokgate.emulators.compatible_providers import SPECS
from byokgate.emulators.compatible_spec import ModelSpec
from byokgate.settings import Settings
from tests.proxy.conftest import Gateway, gateway_for
from tests.support.settings import wired

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

KEY = "sk-local-" + "k" * 30
SELF_HOSTED = dataclasses.replace(
    SPECS["together"], name="vllm", models=(ModelSpec("local-llama-8b"), ModelSpec("local-coder"))
)


@pytest.fixture(scope="module")
def self_hosted() -> Iterator[EmulatorServer]:
    with EmulatorServer(compatible_emulator(SELF_HOSTED, [KEY])) as server:
        yield server


def declaration(base_url: str) -> dict[str, object]:
    return {
        "name": "local-vllm",
        "title": "Our vLLM",
        "base_url": base_url,
        "key_prefixes": ["sk-local-"],
        "models": ["local-llama-8b"],
        "model_pattern": "^local-",
        "capabilities": {"tools": True, "json_mode": True},
        "prices": {"local-llama-8b": [{"effective": "2026-01-01", "input": 0.2, "output": 0.6}]},
    }


@pytest.fixture
def gateway(settings: Settings, self_hosted: EmulatorServer) -> Iterator[Gateway]:
    self_hosted.emulator.reset()
    yield from gateway_for(wired(settings, providers=[declaration(self_hosted.base_url)]))


def test_a_declared_provider_takes_keys_and_serves_requests(
    gateway: Gateway, self_hosted: EmulatorServer
) -> None:
    project_id, key = gateway.project(**{"local-vllm": KEY})
    [stored] = gateway.admin.get(f"/projects/{project_id}/provider-keys").json()["data"]
    assert (stored["provider"], stored["masked"]) == ("local-vllm", "sk-local-..." + KEY[-4:])
    client = gateway.client(key)
    ask: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "Hello there"}]
    raw = client.chat.completions.with_raw_response.create(model="local-llama-8b", messages=ask)
    answer = raw.parse()
    assert answer.choices[0].message.content
    assert (raw.headers["x-byokgate-provider"], raw.headers["x-byokgate-lane"]) == ("local-vllm", "byok")
    assert self_hosted.emulator.requests[-1].api_key == KEY  # the project's own key, in its header
    usage = answer.usage
    assert usage is not None
    cost = Decimal(usage.prompt_tokens) * Decimal("0.2") + Decimal(usage.completion_tokens) * Decimal("0.6")
    assert raw.headers["x-byokgate-cost-usd"] == f"{cost / 1_000_000:.6f}"

    streamed = client.chat.completions.create(model="local-coder", messages=ask, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    assert {m.id for m in client.models.list() if m.owned_by == "local-vllm"} == {"local-llama-8b"}
    for _ in range(100):
        audit = gateway.admin.get(f"/projects/{project_id}/audit").json()["data"]
        uses = [event for event in audit if event["action"] == "provider_key.use"]
        if len(uses) == 2:
            break
        time.sleep(0.05)
    assert {event["provider"] for event in uses} == {"local-vllm"}
