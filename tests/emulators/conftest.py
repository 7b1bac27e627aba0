"""Emulators under a real uvicorn, started once per session; each test starts with no faults or log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import openai
import pytest

from byokgate.emulators import Emulator, EmulatorServer, build
from tests.emulators.compatible_cases import BY_NAME, CASES, Live
from tests.emulators.wire import ENGINES, Engine, engine_of

KEYS = {
    "openai": "sk-proj-test-0123456789abcdef",
    "groq": "gsk_test0123456789",
    "openrouter": "sk-or-v1-0123abcd",
}
CHAT_MODELS = {"openai": "gpt-4o-mini", "groq": "llama-3.3-70b-versatile", "openrouter": "openai/gpt-4o"}
EMBEDDING_MODELS = {
    "openai": "text-embedding-3-small",
    "groq": None,
    "openrouter": "openai/text-embedding-3-small",
}
PROVIDER_NAMES = tuple(KEYS)


@dataclass(frozen=True)
class Target:
    """One running emulator and what a test needs to talk to it."""

    name: str
    server: EmulatorServer
    key: str
    chat_model: str
    embedding_model: str | None

    @property
    def emulator(self) -> Emulator:
        return self.server.emulator

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def client(self, api_key: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base_url, api_key=api_key or self.key, max_retries=0)

    def async_client(self, api_key: str | None = None) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.base_url, api_key=api_key or self.key, max_retries=0)

    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.key}"}


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, EmulatorServer]]:
    started: dict[str, EmulatorServer] = {}
    try:
        for name in PROVIDER_NAMES:
            started[name] = EmulatorServer(build(name, [KEYS[name]])).start()
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(autouse=True)
def _clean(servers: dict[str, EmulatorServer]) -> None:
    for server in servers.values():
        server.emulator.reset()


def _target(servers: dict[str, EmulatorServer], name: str) -> Target:
    return Target(name, servers[name], KEYS[name], CHAT_MODELS[name], EMBEDDING_MODELS[name])


@pytest.fixture(params=PROVIDER_NAMES)
def target(request: pytest.FixtureRequest, servers: dict[str, EmulatorServer]) -> Target:
    """Each test using it runs once per provider."""
    return _target(servers, str(request.param))


@pytest.fixture(params=[name for name in PROVIDER_NAMES if EMBEDDING_MODELS[name]])
def embedding_target(request: pytest.FixtureRequest, servers: dict[str, EmulatorServer]) -> Target:
    """Each test using it runs once per provider that serves embedding models."""
    return _target(servers, str(request.param))


@pytest.fixture
def get_target(servers: dict[str, EmulatorServer]) -> Callable[[str], Target]:
    return lambda name: _target(servers, name)


@pytest.fixture
def client(target: Target) -> Iterator[openai.OpenAI]:
    with target.client() as sdk:
        yield sdk


@pytest.fixture
async def async_client(target: Target) -> AsyncIterator[openai.AsyncOpenAI]:
    async with target.async_client() as sdk:
        yield sdk


@pytest.fixture(scope="session")
def compatible_servers() -> Iterator[dict[str, EmulatorServer]]:
    """One emulator per OpenAI-compatible provider of `compatible_cases.CASES`, for the session."""
    started: dict[str, EmulatorServer] = {}
    try:
        for case in CASES:
            started[case.name] = EmulatorServer(build(case.name, [case.key])).start()
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(params=[case.name for case in CASES])
def live(request: pytest.FixtureRequest, compatible_servers: dict[str, EmulatorServer]) -> Live:
    """Each test using it runs once per OpenAI-compatible provider, against a clean emulator."""
    server = compatible_servers[str(request.param)]
    server.emulator.reset()
    return Live(BY_NAME[str(request.param)], server)


@pytest.fixture(scope="session")
def wire_servers() -> Iterator[dict[str, EmulatorServer]]:
    """One emulator of every kind (`wire.ENGINES`), any key accepted, for the session."""
    started: dict[str, EmulatorServer] = {}
    try:
        for name in ENGINES:
            started[name] = EmulatorServer(build(name, accept_any_key=True)).start()
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, wire_servers: dict[str, EmulatorServer]) -> Engine:
    """Each test using it runs once per emulator (every engine and compatible record), clean."""
    return engine_of(wire_servers, str(request.param))


@pytest.fixture(params=["openai", "anthropic", "gemini"])
def family_engine(request: pytest.FixtureRequest, wire_servers: dict[str, EmulatorServer]) -> Engine:
    """Each test using it runs once per engine family (OpenAI format, Anthropic, Gemini), clean."""
    return engine_of(wire_servers, str(request.param))
