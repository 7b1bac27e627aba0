"""Floods against the real gateway in a subprocess: its memory stays flat and slowloris connections close.

Each test also runs against plain uvicorn (what ``byokgate serve`` ran before the front-door limits), where
it must fail: 8 clients with 32 MiB of headers each push its peak RSS up by ~180 MiB, and slowloris
connections stay open as long as their clients like.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.serving.support import (
    MARGIN_S,
    ServerProcess,
    exchange,
    parse_responses,
    server_process,
)

MiB = 1024 * 1024
RSS_BOUND = 32 * MiB
FLOODERS, FLOOD_BYTES, FLOOD_LINE = 8, 32 * MiB, 64 * 1024
SLOWLORIS = 200
HEADER_TIMEOUT_S = 1.0  # SHORT_TIMEOUTS in support.py

PLAIN_FAILS = pytest.mark.xfail(
    strict=True, raises=AssertionError, reason="plain uvicorn has no header limits or header timeout"
)


@pytest.fixture(scope="module", params=["front-door", pytest.param("plain", marks=PLAIN_FAILS)])
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    mode = request.param
    with server_process(mode, "gateway", tmp_path_factory.mktemp(mode)) as server:
        for _ in range(3):  # warm up: the unauthenticated path the floods take
            assert exchange(server, _request_line() + b"connection: close\r\n\r\n")[0].status == 401
        yield server


def _request_line() -> bytes:
    return b"GET /v1/models HTTP/1.1\r\nhost: 127.0.0.1\r\n"


def _first_status(sock: socket.socket, timeout_s: float) -> int | None:
    """The status of the first response on ``sock``, whether or not the server closes after it."""
    sock.settimeout(timeout_s)
    data = b""
    try:
        while not (responses := parse_responses(data)) or not responses[0].status:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
    except OSError:
        return None
    return responses[0].status


def _flood(port: int, statuses: list[int | None]) -> None:
    """One unauthenticated request whose head is FLOOD_BYTES of header lines, streamed in 64 KiB writes."""
    line = b"x-flood: " + b"a" * (FLOOD_LINE - 11) + b"\r\n"
    with socket.create_connection(("127.0.0.1", port)) as sock:
        try:
            sock.sendall(_request_line())
            for _ in range(FLOOD_BYTES // len(line)):
                sock.sendall(line)
            sock.sendall(b"\r\n")
        except OSError:
            pass  # the front door answered and closed before the head was over
        statuses.append(_first_status(sock, 30))


def test_a_header_flood_leaves_the_gateway_rss_flat(gateway: ServerProcess) -> None:
    before = gateway.rss_bytes()
    gateway.reset_peak_rss()
    statuses: list[int | None] = []
    threads = [threading.Thread(target=_flood, args=(gateway.port, statuses)) for _ in range(FLOODERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(0.3)
    peak, after = gateway.peak_rss_bytes(), gateway.rss_bytes()
    print(f"header flood: RSS {before / MiB:.1f} -> {after / MiB:.1f} MiB, peak {peak / MiB:.1f} MiB")
    assert peak - before < RSS_BOUND
    assert after - before < RSS_BOUND
    assert statuses == [431] * FLOODERS


def test_slowloris_connections_are_closed_at_the_header_timeout(gateway: ServerProcess) -> None:
    before = gateway.rss_bytes()
    started = time.monotonic()
    selector = selectors.DefaultSelector()
    received: dict[socket.socket, bytes] = {}
    for _ in range(SLOWLORIS):
        sock = socket.create_connection(("127.0.0.1", gateway.port))
        sock.sendall(_request_line())
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        received[sock] = b""
    open_ = set(received)
    try:
        while open_ and time.monotonic() < started + HEADER_TIMEOUT_S + MARGIN_S:
            for sock in list(open_):
                with contextlib.suppress(OSError):  # a header line now and then, never the end of the head
                    sock.send(b"x-slow: 1\r\n")
            for key, _ in selector.select(timeout=0.2):
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                try:
                    chunk = ready.recv(65536)
                except OSError:
                    chunk = b""
                received[ready] += chunk
                if not chunk:
                    open_.discard(ready)
                    selector.unregister(ready)
        after = gateway.rss_bytes()
        closed = SLOWLORIS - len(open_)
        print(f"slowloris: {closed} of {SLOWLORIS} closed; RSS {before / MiB:.1f} -> {after / MiB:.1f} MiB")
        assert not open_, f"{len(open_)} slowloris connections still open {HEADER_TIMEOUT_S + MARGIN_S} s on"
        assert after - before < RSS_BOUND
        assert {parse_responses(data)[0].status for data in received.values()} == {408}
    finally:
        for sock in received:
            sock.close()
        selector.close()
