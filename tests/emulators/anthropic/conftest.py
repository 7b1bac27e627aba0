"""One Anthropic emulator per test module, reset before every test, and SDK clients on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anthropic
import pytest

from byokgate.emulators import EmulatorServer, build

KEY = "sk-ant-api03-test-0123456789"
MODEL = "claude-sonnet-4-6"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(build("anthropic", [KEY])) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(server: EmulatorServer) -> None:
    server.emulator.reset()


@pytest.fixture
def client(server: EmulatorServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
async def async_client(server: EmulatorServer) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:
        yield sdk
