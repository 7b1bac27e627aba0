"""``AnswerCycle`` writes the bytes uvicorn's own cycle writes, refuses what it refuses, and ends a response
the same way; a response with a Content-Length leaves in one write instead of two."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from byokgate.serving.cycle import AnswerCycle

JSON = b'{"id":"chatcmpl-1","object":"chat.completion"}'
GATEWAY = [(b"x-byokgate-request-id", b"req_0123"), (b"x-byokgate-cost-usd", b"0.000007")]


class Wire:
    """A transport that keeps what is written."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def start(status: int, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http.response.start", "status": status, "headers": headers}


def body(data: bytes, more: bool = False) -> dict[str, Any]:
    return {"type": "http.response.body", "body": data, "more_body": more}


def length(data: bytes) -> tuple[bytes, bytes]:
    return (b"content-length", b"%d" % len(data))


CASES: dict[str, tuple[str, bool, list[dict[str, Any]]]] = {  # name: (method, keep-alive, messages)
    "json": (
        "POST",
        True,
        [start(200, [(b"content-type", b"application/json"), *GATEWAY, length(JSON)]), body(JSON)],
    ),
    "json in pieces": ("POST", True, [start(200, [length(JSON)]), body(JSON[:10], True), body(JSON[10:])]),
    "error json": ("POST", True, [start(429, [length(b"{}"), (b"retry-after", b"2")]), body(b"{}")]),
    "stream": (
        "POST",
        True,
        [start(200, [(b"content-type", b"text/event-stream")]), body(b"data: 1\n\n", True), body(b"")],
    ),
    "empty with a length": ("POST", True, [start(200, [length(b"")]), body(b"")]),
    "no content": ("DELETE", True, [start(204, []), body(b"")]),
    "head": ("HEAD", True, [start(200, [length(JSON)]), body(b"")]),
    "http/1.0": ("POST", False, [start(200, [length(JSON)]), body(JSON)]),
    "connection close": (
        "POST",
        True,
        [start(200, [length(JSON), (b"Connection", b"keep-alive, Close")]), body(JSON)],
    ),
    "chunked by the app": (
        "POST",
        True,
        [start(200, [(b"transfer-encoding", b"chunked")]), body(b"x", True), body(b"")],
    ),
    "bad name": ("POST", True, [start(200, [(b"x bad", b"1"), length(JSON)]), body(JSON)]),
    "bad value": (
        "POST",
        True,
        [start(200, [(b"x-model", b"gpt\r\nset-cookie: a=b"), length(JSON)]), body(JSON)],
    ),
    "value with a tab": ("POST", True, [start(200, [(b"x-model", b"a\tb"), length(JSON)]), body(JSON)]),
    "too long": ("POST", True, [start(200, [length(b"{}")]), body(JSON)]),
    "too short": ("POST", True, [start(200, [length(JSON)]), body(b"{}")]),
}


async def run(
    cls: type[RequestResponseCycle], method: str, keep_alive: bool, messages: list[dict[str, Any]]
) -> dict[str, Any]:
    wire, ended = Wire(), []
    cycle = cls(
        scope={"method": method},  # type: ignore[typeddict-item]
        transport=wire,  # type: ignore[arg-type]
        flow=FlowControl(wire),  # type: ignore[arg-type]
        logger=None,  # type: ignore[arg-type]
        access_logger=None,  # type: ignore[arg-type]
        access_log=False,
        default_headers=[(b"server", b"byokgate")],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=keep_alive,
        on_response=lambda: ended.append(True),
    )
    error = None
    try:
        for message in messages:
            await cycle.send(message)  # type: ignore[arg-type]
    except RuntimeError as exc:
        error = str(exc)
    return {
        "bytes": b"".join(wire.writes),
        "writes": len(wire.writes),
        "error": error,
        "complete": cycle.response_complete,
        "ended": ended,
        "closed": wire.closed,
    }


@pytest.mark.parametrize("case", CASES)
async def test_the_same_answer_as_uvicorns_cycle(case: str) -> None:
    method, keep_alive, messages = CASES[case]
    ours, theirs = (
        await run(AnswerCycle, method, keep_alive, messages),
        await run(RequestResponseCycle, method, keep_alive, messages),
    )
    if ours["error"] is None or "Content-Length" not in ours["error"]:
        assert ours["bytes"] == theirs["bytes"]  # (a refused length: uvicorn wrote the head, we held it)
    assert {k: v for k, v in ours.items() if k not in ("bytes", "writes")} == {
        k: v for k, v in theirs.items() if k not in ("bytes", "writes")
    }


@pytest.mark.parametrize(
    ("case", "writes"), [("json", 1), ("error json", 1), ("json in pieces", 2), ("stream", 3)]
)
async def test_a_sized_answer_leaves_with_its_head(case: str, writes: int) -> None:
    ours = await run(AnswerCycle, *CASES[case])
    theirs = await run(RequestResponseCycle, *CASES[case])
    assert ours["writes"] == writes
    assert theirs["writes"] == writes + (1 if case != "stream" else 0)
