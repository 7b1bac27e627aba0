"""Run an ASGI app under a real uvicorn server on a loopback port, in a background thread."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp

from byokgate.background import BackgroundServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(app: ASGIApp, *, startup_timeout_s: float = 20.0) -> Iterator[str]:
    server = BackgroundServer(app, name="gateway-under-test").start(startup_timeout_s)
    try:
        yield server.url
    finally:
        server.stop()
