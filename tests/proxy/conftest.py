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
from tests.support.providers import BY_NAME, CASES
from tests.support.server import running_server
from tests.support.settings import wired


@dataclass
class Gateway:
    url: str
    admin: httpx.Client
    clients: list[openai.OpenAI] = field(default_factory=list)
    app: GatewayApp | None = None  # the running app, for tests that wait on its snapshot
    key_fields: dict[str, dict[str, str]] = field(default_factory=dict)  # the fields stored with a key

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
            body: dict[str, Any] = {"api_key": key}
            if self.key_fields.get(provider):
                body["fields"] = self.key_fields[provider]
            response = self.admin.put(f"/projects/{created['id']}/provider-keys/{provider}", json=body)
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

CHAT_KEYS = {case.name: case.key for case in CASES}
CHAT_MODELS = {case.name: case.chat_model for case in CASES}


@pytest.fixture(scope="module")
def chat_upstreams() -> Iterator[dict[str, EmulatorServer]]:
    """Every chat provider's emulator (``tests/support/providers.py``), one set per test module."""
    servers = {case.name: EmulatorServer(build(case.name, [case.key])).start() for case in CASES}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def chat_gateway(settings: Settings, chat_upstreams: dict[str, EmulatorServer]) -> Iterator[Gateway]:
    """A gateway wired to those emulators (their request logs and faults reset)."""
    yield from chat_gateway_for(settings, chat_upstreams)


def chat_gateway_for(
    settings: Settings, upstreams: dict[str, EmulatorServer], **extra: Any
) -> Iterator[Gateway]:
    """A gateway wired to the chat emulators (reset first), which stores each provider's key with the
    fields its record names; ``extra`` settings on top."""
    for server in upstreams.values():
        server.emulator.reset()
    urls = {name: server.base_url for name, server in upstreams.items()}
    for gateway in gateway_for(wired(settings, urls, **extra)):
        gateway.key_fields = {name: BY_NAME[name].key_fields(up.url) for name, up in upstreams.items()}
        yield gateway


@pytest.fixture(params=list(CHAT_KEYS))
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)
