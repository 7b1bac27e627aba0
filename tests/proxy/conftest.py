from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest

from byokgate.app import Gateway as GatewayApp
from byokgate.app import create_app
from byokgate.emulators import EmulatorServer, build
from byokgate.settings import Settings
from byokgate.snapshot.model import Snapshot
from tests.conftest import ADMIN_TOKEN
from tests.support.server import running_server


@dataclass
class Gateway:
    url: str
    admin: httpx.Client
    clients: list[openai.OpenAI] = field(default_factory=list)
    app: GatewayApp | None = None  # the running app, for tests that wait on its snapshot

    def wait_for_snapshot(self, ready: Callable[[Snapshot], bool]) -> None:
        """Wait until the data plane snapshot satisfies ``ready`` (admin changes reach it asynchronously)."""
        assert self.app is not None
        for _ in range(400):
            if ready(self.app.components.snapshot.current):
                return
            time.sleep(0.01)
        raise AssertionError("the change never reached the data plane's snapshot")

    def client(self, key: str) -> openai.OpenAI:
        """An SDK client on the data plane, closed when the gateway fixture ends."""
        client = openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0)
        self.clients.append(client)
        return client

    def project(self, name: str = "p", **provider_keys: str) -> tuple[str, str]:
        """A project with the given provider keys; returns (project id, project API key)."""
        created = self.admin.post("/projects", json={"name": name}).json()
        for provider, key in provider_keys.items():
            response = self.admin.put(
                f"/projects/{created['id']}/provider-keys/{provider}", json={"api_key": key}
            )
            assert response.status_code == 200, response.text
        return created["id"], created["api_key"]


def gateway_for(settings: Settings) -> Iterator[Gateway]:
    fast = settings.model_copy(update={"snapshot_poll_interval_s": 0.05})
    app = create_app(fast)
    with running_server(app) as url:
        headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
        with httpx.Client(base_url=f"{url}/admin/v1", headers=headers, timeout=30) as admin:
            gateway = Gateway(url, admin, app=app)
            try:
                yield gateway
            finally:
                for client in gateway.clients:
                    client.close()


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    yield from gateway_for(settings)


# --- every chat provider behind the gateway (the conformance suite and the /v1/messages tests) ---------

CHAT_KEYS = {
    "openai": "sk-proj-" + "c" * 40,
    "groq": "gsk_" + "c" * 52,
    "anthropic": "sk-ant-api03-" + "c" * 80,
    "gemini": "AIza" + "c" * 35,
}
CHAT_MODELS = {
    "openai": "gpt-4o",
    "groq": "llama-3.3-70b-versatile",
    "anthropic": "claude-3-5-sonnet-20241022",
    "gemini": "gemini-2.5-flash",
}
_BASE_URL_SETTINGS = {name: f"{name}_base_url" for name in CHAT_KEYS}


@pytest.fixture(scope="module")
def chat_upstreams() -> Iterator[dict[str, EmulatorServer]]:
    """The OpenAI, Anthropic and Gemini emulators, one set per test module."""
    servers = {name: EmulatorServer(build(name, [key])).start() for name, key in CHAT_KEYS.items()}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def chat_gateway(settings: Settings, chat_upstreams: dict[str, EmulatorServer]) -> Iterator[Gateway]:
    """A gateway wired to those emulators (their request logs and faults reset)."""
    update: dict[str, Any] = {}
    for name, server in chat_upstreams.items():
        server.emulator.reset()
        update[_BASE_URL_SETTINGS[name]] = server.base_url.rstrip("/")
    yield from gateway_for(settings.model_copy(update=update))


@pytest.fixture(params=list(CHAT_KEYS))
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)
