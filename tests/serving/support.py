"""Helpers of the serving tests: a server in a subprocess, raw-socket exchanges, an HTTP response parser."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httptools
import orjson

from tests.support.server import free_port

# What the servers under test run with, where a test does not say otherwise: short timeouts, so that the
# tests wait for them, never for the production defaults.
SHORT_TIMEOUTS = {
    "BYOKGATE_HEADER_TIMEOUT_S": "1",
    "BYOKGATE_BODY_TIMEOUT_S": "1",
    "BYOKGATE_KEEP_ALIVE_TIMEOUT_S": "1",
}
MARGIN_S = 2.0  # how much later than its timeout a connection may close


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def rss_bytes(self) -> int:
        """The server process's resident set size now."""
        return self._status_bytes("VmRSS:")

    def reset_peak_rss(self) -> None:
        """Start measuring the peak resident set size afresh (Linux's clear_refs)."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")

    def peak_rss_bytes(self) -> int:
        """The highest resident set size since start or ``reset_peak_rss``."""
        return self._status_bytes("VmHWM:")

    def _status_bytes(self, key: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no {key} in /proc status")

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


@contextmanager
def server_process(mode: str, app: str, tmp_path: Path, **env: str) -> Iterator[ServerProcess]:
    """``tests/serving/app_server.py`` in a subprocess, ready to serve; its output goes to a log file."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BYOKGATE_")}
    environment.update({"BYOKGATE_DATA_DIR": str(tmp_path / "data"), **SHORT_TIMEOUTS, **env})
    log = tmp_path / f"server-{mode}-{app}-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.serving.app_server", mode, app, str(port)],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
        )
    server = ServerProcess(process, port, log)
    try:
        _wait_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(server: ServerProcess) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert server.process.poll() is None, server.log.read_text()
        try:
            responses = exchange(server, request("GET", "/healthz", close=True), timeout_s=2)
            if responses and responses[0].status == 200:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"server did not become ready:\n{server.log.read_text()}"
        time.sleep(0.05)


def request(
    method: str,
    target: str,
    *,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    close: bool = False,
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    if body or method in ("POST", "PUT"):
        lines.append(f"content-length: {len(body)}")
    if close:
        lines.append("connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_until_closed(sock: socket.socket, timeout_s: float) -> tuple[bytes, bool]:
    """Everything the server sends until it closes the connection (True) or ``timeout_s`` passes (False)."""
    deadline = time.monotonic() + timeout_s
    data = b""
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def exchange(server: ServerProcess, payload: bytes, *, timeout_s: float = 10) -> list[Response]:
    """Send ``payload`` on a new connection and read every response until the server closes it."""
    with server.connect() as sock:
        sock.sendall(payload)
        data, closed = read_until_closed(sock, timeout_s)
    assert closed, f"the server kept the connection open; it sent {data[:200]!r}"
    return parse_responses(data)


@dataclass
class Response:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunked: bool = False

    def json(self) -> dict[str, Any]:
        parsed = orjson.loads(self.body)
        assert isinstance(parsed, dict)
        return parsed


class _Collector:
    """httptools response-parser callbacks, collecting each response of a stream in turn."""

    def __init__(self) -> None:
        self.responses: list[Response] = []
        self.parser = httptools.HttpResponseParser(self)

    def on_message_begin(self) -> None:
        self.responses.append(Response())

    def on_header(self, name: bytes, value: bytes) -> None:
        self.responses[-1].headers[name.decode().lower()] = value.decode()

    def on_headers_complete(self) -> None:
        self.responses[-1].status = self.parser.get_status_code()

    def on_chunk_header(self) -> None:
        self.responses[-1].chunked = True

    def on_body(self, body: bytes) -> None:
        self.responses[-1].body += body


def parse_responses(data: bytes) -> list[Response]:
    collector = _Collector()
    collector.parser.feed_data(data)
    return collector.responses


def assert_refusal(response: Response, status: int, code: str) -> None:
    """A front-door refusal: the status, ``connection: close`` and OpenAI's error shape."""
    assert response.status == status, response
    assert response.headers["connection"] == "close"
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert isinstance(error, dict)
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    assert error["type"] == ("api_error" if status == 503 else "invalid_request_error")
