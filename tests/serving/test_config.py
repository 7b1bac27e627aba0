"""The limits come from Settings (``BYOKGATE_*``), reach uvicorn's config, and ``byokgate serve`` runs with
them; the open-file limit is raised to what the connection limit needs."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from byokgate.serving import DEFAULT_LIMITS, FrontDoorLimits, FrontDoorProtocol, server_config
from byokgate.settings import Settings
from tests.serving.app_server import echo
from tests.serving.support import (
    MARGIN_S,
    ServerProcess,
    assert_refusal,
    exchange,
    parse_responses,
    read_until_closed,
    request,
)
from tests.support.server import free_port

ENVIRONMENT = {
    "BYOKGATE_MAX_HEADER_BYTES": "4096",
    "BYOKGATE_MAX_HEADER_COUNT": "20",
    "BYOKGATE_MAX_URL_BYTES": "1024",
    "BYOKGATE_HEADER_TIMEOUT_S": "0.5",
    "BYOKGATE_BODY_TIMEOUT_S": "0.75",
    "BYOKGATE_KEEP_ALIVE_TIMEOUT_S": "3",
    "BYOKGATE_MAX_CONNECTIONS": "64",
    "BYOKGATE_LISTEN_BACKLOG": "128",
}


def _clear_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith("BYOKGATE_"):
            monkeypatch.delenv(name)


def test_the_defaults_are_the_documented_production_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear_environment(monkeypatch)
    assert FrontDoorLimits.from_settings(Settings()) == DEFAULT_LIMITS
    documented = FrontDoorLimits(
        max_header_bytes=32 * 1024,
        max_header_count=100,
        max_url_bytes=8 * 1024,
        header_timeout_s=15.0,
        body_timeout_s=60.0,
        keep_alive_timeout_s=10,
        max_connections=1000,
        listen_backlog=2048,
    )
    assert documented == DEFAULT_LIMITS


def test_each_limit_is_set_by_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear_environment(monkeypatch)
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    limits = FrontDoorLimits.from_settings(Settings())
    assert dataclasses.asdict(limits) == {
        name.removeprefix("BYOKGATE_").lower(): float(value) if name.endswith("_S") else int(value)
        for name, value in ENVIRONMENT.items()
        if name != "BYOKGATE_KEEP_ALIVE_TIMEOUT_S"
    } | {"keep_alive_timeout_s": 3}


def test_the_uvicorn_config_runs_the_front_door_protocol_with_the_limits() -> None:
    limits = dataclasses.replace(DEFAULT_LIMITS, max_connections=7, listen_backlog=99, keep_alive_timeout_s=4)
    config = server_config(echo, limits, host="127.0.0.1", port=1)
    config.load()
    protocol = config.http_protocol_class
    assert issubclass(protocol, FrontDoorProtocol)
    assert protocol.limits is limits
    assert (config.backlog, config.timeout_keep_alive, config.limit_concurrency) == (99, 4, 7)
    assert not config.server_header


def test_the_open_file_limit_is_raised_to_what_the_connection_limit_needs() -> None:
    script = (
        "import resource, dataclasses;"
        "from byokgate.serving import DEFAULT_LIMITS, ensure_file_limit;"
        "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1];"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard));"
        "ensure_file_limit(dataclasses.replace(DEFAULT_LIMITS, max_connections=1000));"
        "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True)
    soft, hard = map(int, result.stdout.split())
    assert soft == min(2 * 1000 + 256, hard)


def test_byokgate_serve_answers_with_the_limits_of_its_environment(tmp_path: Path) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BYOKGATE_")}
    environment.update({"BYOKGATE_DATA_DIR": str(tmp_path / "data"), **ENVIRONMENT})
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "byokgate", "serve", "--port", str(port)],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    server = ServerProcess(process, port, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if exchange(server, request("GET", "/healthz", close=True))[0].status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        too_big = request("GET", "/healthz", headers=[("x-pad", "a" * 4096)], close=True)
        assert_refusal(exchange(server, too_big)[0], 431, "request_header_fields_too_large")
        too_many = request("GET", "/healthz", headers=[(f"x-{i}", "v") for i in range(19)], close=True)
        assert_refusal(exchange(server, too_many)[0], 431, "request_header_fields_too_large")
        assert_refusal(exchange(server, request("GET", "/" + "a" * 1024, close=True))[0], 414, "uri_too_long")
        with server.connect() as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n")
            data, closed = read_until_closed(sock, 0.5 + MARGIN_S)
        assert closed
        assert_refusal(parse_responses(data)[0], 408, "request_timeout")
        most = request("GET", "/healthz", headers=[(f"x-{i}", "v") for i in range(18)], close=True)
        assert exchange(server, most)[0].status == 200
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert "Refused a request head larger than 4096 bytes" in log.read_text()
