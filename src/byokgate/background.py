"""An ASGI app under uvicorn on a loopback port, in a daemon thread: for emulators, the demo and tests.

By default it serves with the gateway's production protocol and front-door limits (``byokgate.serving``),
so that what runs in tests and the demo is what ``byokgate serve`` runs; ``limits=None`` gives plain
uvicorn.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

from byokgate.serving import DEFAULT_LIMITS, FrontDoorLimits, server_config


def uvicorn_config(
    app: ASGIApp, host: str, port: int, limits: FrontDoorLimits | None = None
) -> uvicorn.Config:
    """Quiet (no access log, no logging set-up of its own), with the app's lifespan, quick to stop; with
    ``limits``, the gateway's own config (``byokgate.serving.server_config``), else uvicorn's defaults."""
    if limits is not None:
        return server_config(app, limits, host=host, port=port, graceful_shutdown_s=1)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )


class BackgroundServer:
    """`port=0` picks a free port; read `port` (or `url`) after `start()`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        name: str,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: FrontDoorLimits | None = DEFAULT_LIMITS,
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self._server = uvicorn.Server(uvicorn_config(app, host, port, limits))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 20.0) -> Self:
        self._thread = threading.Thread(target=self._server.run, name=self.name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"{self.name} exited during start-up (port in use?)")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start in time")
            time.sleep(0.005)
        self.port = int(self._server.servers[0].sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=20)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
