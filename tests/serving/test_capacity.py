"""The connection cap: one connection too many is answered 503 at once, idle or not, and so is a request
while as many are in progress (even for clients that have gone)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.serving.support import (
    ServerProcess,
    assert_refusal,
    exchange,
    parse_responses,
    read_until_closed,
    request,
    server_process,
)

CAP = 3


@pytest.fixture
def capped(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {"BYOKGATE_MAX_CONNECTIONS": str(CAP), "BYOKGATE_HEADER_TIMEOUT_S": "5"}
    with server_process("front-door", "echo", tmp_path, **env) as server:
        yield server


def test_a_connection_past_the_cap_gets_503_at_once_while_idle_ones_hold_the_others(
    capped: ServerProcess,
) -> None:
    with ExitStack() as stack:
        idle = [stack.enter_context(capped.connect()) for _ in range(CAP)]
        time.sleep(0.2)  # the server has accepted them all
        with capped.connect() as extra:
            data, closed = read_until_closed(extra, 1)  # sends nothing, is answered anyway
        assert closed
        [refused] = parse_responses(data)
        assert_refusal(refused, 503, "service_unavailable")
        assert refused.headers["retry-after"] == "1"
        assert "open connections" in str(refused.json()["error"])
        idle.pop().close()
        time.sleep(0.2)
        [served] = exchange(capped, request("GET", "/", close=True))
        assert served.status == 200


def test_a_request_past_the_cap_of_requests_in_progress_gets_503(capped: ServerProcess) -> None:
    for _ in range(CAP):  # requests whose clients hang up at once: each keeps running for 2 s
        with capped.connect() as sock:
            sock.sendall(request("GET", "/slow?s=2"))
    time.sleep(0.3)
    [refused] = exchange(capped, request("GET", "/", close=True))
    assert_refusal(refused, 503, "service_unavailable")
    assert "requests in progress" in str(refused.json()["error"])
    deadline = time.monotonic() + 5
    while exchange(capped, request("GET", "/", close=True))[0].status != 200:
        assert time.monotonic() < deadline, "the server did not recover once the requests had finished"
        time.sleep(0.1)
