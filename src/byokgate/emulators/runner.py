"""Run emulators on loopback ports: in a background thread (tests, benchmarks, the demo) or blocking (CLI).

with EmulatorServer(openai_emulator(["sk-test"])) as server:
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-test")
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from types import TracebackType
from typing import Any, Self

import uvicorn

from byokgate.background import BackgroundServer, uvicorn_config
from byokgate.emulators.anthropic import anthropic_emulator
from byokgate.emulators.azure import azure_emulator
from byokgate.emulators.compatible_providers import SPECS, factory
from byokgate.emulators.gemini import gemini_emulator
from byokgate.emulators.groq import groq_emulator
from byokgate.emulators.openai import openai_emulator
from byokgate.emulators.openai_compat import Emulator
from byokgate.emulators.openrouter import openrouter_emulator

PROVIDERS: dict[str, Callable[..., Emulator]] = {
    "openai": openai_emulator,
    "groq": groq_emulator,
    "openrouter": openrouter_emulator,
    "gemini": gemini_emulator,
    "anthropic": anthropic_emulator,
    **{name: factory(spec) for name, spec in SPECS.items()},
    "azure": azure_emulator,
}


def build(
    provider: str, keys: Iterable[str] = (), *, accept_any_key: bool = False, **options: Any
) -> Emulator:
    """An emulator by provider name (a key of `PROVIDERS`)."""
    try:
        factory = PROVIDERS[provider]
    except KeyError:
        raise ValueError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}") from None
    return factory(keys, accept_any_key=accept_any_key, **options)


class EmulatorServer:
    """One emulator under uvicorn in a daemon thread. `port=0` picks a free port (read `port` after start)."""

    def __init__(self, emulator: Emulator, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        self.host = host
        self._server = BackgroundServer(emulator, name=f"emulator-{emulator.name}", host=host, port=port)

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        """The root URL (the control API lives at `<url>/_emulator/`)."""
        return self._server.url

    @property
    def base_url(self) -> str:
        """What a client uses as its base URL, e.g. `http://127.0.0.1:9001/v1`."""
        return self.url + self.emulator.base_path

    def start(self, timeout_s: float = 20.0) -> Self:
        self._server.start(timeout_s)
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextmanager
def running(*emulators: Emulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[list[EmulatorServer]]:
    """Start several emulators in background threads (on consecutive ports from `port`, or free ports
    when 0); stop them on exit."""
    with ExitStack() as stack:
        servers = [
            stack.enter_context(EmulatorServer(emulator, host=host, port=port + index if port else 0))
            for index, emulator in enumerate(emulators)
        ]
        yield servers


class _SharedSignalsServer(uvicorn.Server):
    """A server that leaves signals alone: `serve` stops all servers together on one Ctrl-C."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def serve(emulators: Sequence[Emulator], *, host: str = "127.0.0.1", port: int = 9001) -> None:
    """Serve emulators in the foreground on `port`, `port + 1`, ... until interrupted (Ctrl-C, SIGTERM)."""
    servers = [
        _SharedSignalsServer(uvicorn_config(emulator, host, port + index))
        for index, emulator in enumerate(emulators)
    ]

    def stop_all() -> None:
        for server in servers:
            server.should_exit = True

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop_all)
        await asyncio.gather(*(server.serve() for server in servers))

    asyncio.run(main())
