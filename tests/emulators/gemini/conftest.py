"""One Gemini emulator per test module and a google-genai client on it, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google import genai

from byokgate.emulators import EmulatorServer, gemini_emulator
from tests.emulators.gemini.support import KEY, sdk


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(gemini_emulator([KEY])) as running:
        yield running


@pytest.fixture
def client(server: EmulatorServer) -> Iterator[genai.Client]:
    server.emulator.reset()
    with sdk(server) as sdk_client:
        yield sdk_client
