"""Claude Code, the real client (from npm, `make clients`), against the gateway's /v1/messages: a wrong
project key ends it at once (the 401 says `x-should-retry: false`, so it does not retry for minutes), an
answer comes back through the native pass-through, and an overloaded provider is retried by the gateway
unseen by the client."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from byokgate.app import create_app
from byokgate.emulators import EmulatorServer, Fault, build
from byokgate.settings import Settings
from tests.conftest import ADMIN_TOKEN
from tests.proxy.conftest import Gateway
from tests.support.server import running_server
from tests.support.settings import wired

CLAUDE = Path(__file__).resolve().parents[2] / "clients" / "node_modules" / ".bin" / "claude"
ANTHROPIC_KEY = "sk-ant-api03-" + "Cc3Dd4Ee5Ff6Gg7Hh8Ii" * 2
MODEL = "claude-sonnet-4-20250514"

pytestmark = [
    pytest.mark.skipif(not CLAUDE.exists(), reason="Claude Code is not installed here: run `make clients`"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


class Counted:
    """The gateway's ASGI app, counting the HTTP requests it is sent by path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths[scope["path"]] += 1
        await self.app(scope, receive, send)


@dataclass
class Setup:
    gateway: Gateway
    counted: Counted
    upstream: EmulatorServer
    home: Path


@pytest.fixture
def setup(settings: Settings, tmp_path: Path) -> Iterator[Setup]:
    with EmulatorServer(build("anthropic", [ANTHROPIC_KEY])) as upstream:
        wired_settings = wired(settings, {"anthropic": upstream.base_url})
        app = create_app(wired_settings.model_copy(update={"snapshot_poll_interval_s": 0.05}))
        counted = Counted(app)
        with running_server(counted) as url:
            headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
            with httpx.Client(base_url=f"{url}/admin/v1", headers=headers, timeout=30) as admin:
                home = tmp_path / "home"
                home.mkdir()
                yield Setup(Gateway(url, admin, app=app), counted, upstream, home)


def claude(setup: Setup, api_key: str, prompt: str = "Say hello.") -> subprocess.CompletedProcess[str]:
    """`claude -p` against the gateway: no tools, no hooks or plugins, one JSON result on stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    env.update(
        HOME=str(setup.home),
        ANTHROPIC_BASE_URL=setup.gateway.url,
        ANTHROPIC_API_KEY=api_key,
        DISABLE_TELEMETRY="1",
        DISABLE_AUTOUPDATER="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
    )
    command = [
        str(CLAUDE),
        "-p",
        prompt,
        "--bare",
        "--tools",
        "",
        "--output-format",
        "json",
        "--model",
        MODEL,
    ]
    return subprocess.run(
        command, env=env, cwd=setup.home, capture_output=True, text=True, timeout=300, check=False
    )


def messages_requests(setup: Setup) -> int:
    return sum(count for path, count in setup.counted.paths.items() if path.startswith("/v1/messages"))


def test_a_wrong_project_key_ends_claude_code_at_once(setup: Setup) -> None:
    ran = claude(setup, "lgw_proj_" + "x" * 40)
    assert ran.returncode != 0
    assert "401" in ran.stdout + ran.stderr
    assert "lgw_proj_" + "x" * 40 not in ran.stdout + ran.stderr  # the key is masked in the error
    assert messages_requests(setup) == 1  # told not to retry, it did not


def test_claude_code_is_answered_through_the_gateway(setup: Setup) -> None:
    _, key = setup.gateway.project("claude-code", anthropic=ANTHROPIC_KEY)
    ran = claude(setup, key)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    result = json.loads(ran.stdout)
    assert result["is_error"] is False
    assert result["result"].strip()
    sent = [r for r in setup.upstream.emulator.requests if r.path.startswith("/v1/messages")]
    assert sent
    assert all(r.api_key == ANTHROPIC_KEY for r in sent)  # the project's key went out, not the gateway's


def test_an_overloaded_provider_is_retried_by_the_gateway_unseen(setup: Setup) -> None:
    _, key = setup.gateway.project("claude-code", anthropic=ANTHROPIC_KEY)
    setup.upstream.emulator.arm(Fault("529", model=MODEL))
    ran = claude(setup, key)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert json.loads(ran.stdout)["is_error"] is False
    answered = [r for r in setup.upstream.emulator.requests if r.path == "/v1/messages"]
    assert len(answered) >= 2  # the 529, then the retry that answered
    assert (
        messages_requests(setup)
        == len([r for r in setup.upstream.emulator.requests if r.path.startswith("/v1/messages")]) - 1
    )  # the client sent one request fewer than the provider received: the retry was the gateway's
