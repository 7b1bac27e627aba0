"""Codex CLI, the real client (from npm, `make clients`), against the gateway's /v1/responses: Codex speaks
only the Responses API, streamed, resending the whole conversation each turn (``store: false``). An OpenAI
model goes to the OpenAI emulator's own Responses API on the project's key; a Claude model is translated
(Codex's tools, its ``namespace`` group included, become chat functions and back). Each runs a plain
exchange and one where the model calls Codex's shell tool and answers from its output."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from byokgate.emulators import EmulatorServer, build
from byokgate.settings import Settings
from tests.proxy.conftest import Gateway, gateway_for
from tests.support.settings import wired

CODEX = Path(__file__).resolve().parents[2] / "clients" / "node_modules" / ".bin" / "codex"
KEYS = {
    "openai": "sk-proj-" + "Cc3Dd4Ee5Ff6Gg7Hh8Ii" * 2,
    "anthropic": "sk-ant-api03-" + "Cc3Dd4Ee5F" * 8,
    "gemini": "AIza" + "Cc3Dd4Ee5F" * 3 + "Gg7Hh",
}
MODELS = {"openai": "o4-mini", "anthropic": "claude-3-5-sonnet-20241022", "gemini": "gemini-2.5-flash"}

pytestmark = [
    pytest.mark.skipif(not CODEX.exists(), reason="Codex CLI is not installed here: run `make clients`"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@dataclass
class Setup:
    gateway: Gateway
    upstreams: dict[str, EmulatorServer]
    key: str
    home: Path
    work: Path


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, EmulatorServer]]:
    servers = {name: EmulatorServer(build(name, [key])).start() for name, key in KEYS.items()}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def setup(settings: Settings, upstreams: dict[str, EmulatorServer], tmp_path: Path) -> Iterator[Setup]:
    for server in upstreams.values():
        server.emulator.reset()
    urls = {name: server.base_url for name, server in upstreams.items()}
    for gateway in gateway_for(wired(settings, urls)):
        _, key = gateway.project(**KEYS)
        home, work = tmp_path / "codex-home", tmp_path / "work"
        home.mkdir()
        work.mkdir()
        yield Setup(gateway, upstreams, key, home, work)


def codex(setup: Setup, model: str, prompt: str, key: str | None = None) -> tuple[int, list[dict[str, Any]]]:
    """`codex exec --json` against the gateway, nothing sent anywhere else; its exit code and events."""
    provider = (
        f'{{name="byokgate", base_url="{setup.gateway.url}/v1", env_key="BYOKGATE_API_KEY", '
        'wire_api="responses", request_max_retries=0, stream_max_retries=0, '
        "stream_idle_timeout_ms=30000, supports_websockets=false}"
    )
    settings = [
        "model_provider=byokgate",
        f"model={model}",
        f"model_providers.byokgate={provider}",
        "approval_policy=never",
        "sandbox_mode=danger-full-access",
        "check_for_update_on_startup=false",
        "web_search=disabled",
        "analytics.enabled=false",
        "feedback.enabled=false",
        "history.persistence=none",
    ]
    command = [str(CODEX), "exec", "--skip-git-repo-check", "--ephemeral", "--json"]
    for setting in settings:
        command += ["-c", setting]
    command += ["--disable", "plugins", "--disable", "unbounded_connection_retries", prompt]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEX_"))}
    env.update(CODEX_HOME=str(setup.home), BYOKGATE_API_KEY=key or setup.key, NO_COLOR="1")
    done = subprocess.run(
        command,
        cwd=setup.work,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, events


def _items(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e["item"] for e in events if e.get("type") == "item.completed" and e["item"]["type"] == kind]


@pytest.mark.parametrize("provider", list(MODELS))
def test_a_plain_exchange(setup: Setup, provider: str) -> None:
    code, events = codex(setup, MODELS[provider], "Say hello to the sea.")
    assert code == 0, events
    messages = _items(events, "agent_message")
    assert messages
    assert messages[-1]["text"]
    turn = next(e for e in events if e["type"] == "turn.completed")
    assert turn["usage"]["output_tokens"] > 0  # the usage came through response.completed
    sent = setup.upstreams[provider].emulator.requests[-1]
    assert sent.api_key == KEYS[provider]  # the project's own key went upstream


@pytest.mark.parametrize("provider", list(MODELS))
def test_a_tool_calling_exchange(setup: Setup, provider: str) -> None:
    # The emulated model calls the tools the last user message mentions: here Codex's `exec_command`.
    code, events = codex(setup, MODELS[provider], "Run a command: exec echo hello-from-codex")
    assert code == 0, events
    assert _items(events, "command_execution")  # Codex ran what the model asked for
    assert _items(events, "agent_message")  # and the model answered from its output
    requests = [r for r in setup.upstreams[provider].emulator.requests if r.method == "POST"]
    assert len(requests) == 2
    follow_up = requests[-1].body
    if provider == "openai":  # the Responses body went as Codex sent it
        kinds = [item.get("type") for item in follow_up["input"]]
        assert kinds[-2:] == ["function_call", "function_call_output"]
        assert follow_up["store"] is False
    elif provider == "gemini":  # translated: a functionCall part and its functionResponse
        parts = [part for content in follow_up["contents"] for part in content["parts"]]
        calls = [part["functionCall"] for part in parts if "functionCall" in part]
        answers = [part["functionResponse"] for part in parts if "functionResponse" in part]
        assert [call["name"] for call in calls] == ["exec_command"]
        assert [answer["name"] for answer in answers] == ["exec_command"]
    else:  # translated: the call and its output, as Anthropic's tool_use and tool_result blocks
        blocks = [
            block for m in follow_up["messages"] if isinstance(m["content"], list) for block in m["content"]
        ]
        used = [block for block in blocks if block["type"] == "tool_use"]
        results = [block for block in blocks if block["type"] == "tool_result"]
        assert [block["name"] for block in used] == ["exec_command"]
        assert [block["tool_use_id"] for block in results] == [used[0]["id"]]
    ran = _items(events, "command_execution")[0]
    assert ran["command"]
    assert ran["status"] == "completed" or ran["exit_code"] is not None


def test_a_wrong_key_ends_the_turn(setup: Setup) -> None:
    code, events = codex(setup, MODELS["anthropic"], "Say hello.", key="lgw_proj_wrong")
    assert code == 1
    failed = next(e for e in events if e["type"] == "turn.failed")
    assert "401" in failed["error"]["message"]
    assert not setup.upstreams["anthropic"].emulator.requests
