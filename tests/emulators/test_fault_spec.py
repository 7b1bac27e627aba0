"""How the failover fault kinds are spelled: the `x-emulator-fault` header, the control API's JSON, their
defaults, which requests they match, and what they ask of an answer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from byokgate.emulators import EmulatorServer, Fault
from byokgate.emulators.faults import AnswerFaults, FaultSpecError, parse_fault_header
from tests.emulators.wire import Engine


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("504", {"kind": "504", "retry_after_s": 1, "delay_ms": 0}),
        ("429:none", {"kind": "429", "retry_after_s": None}),
        ("429:NONE", {"kind": "429", "retry_after_s": None}),
        ("429:0", {"kind": "429", "retry_after_s": 0}),
        ("reset", {"kind": "reset", "delay_ms": 0}),
        ("no_response", {"kind": "no_response", "delay_ms": 120_000}),
        ("no_response:250", {"kind": "no_response", "delay_ms": 250}),
        ("slow_first_token", {"kind": "slow_first_token", "delay_ms": 20_000}),
        ("slow_first_token:300", {"kind": "slow_first_token", "delay_ms": 300}),
        ("stream_stall", {"kind": "stream_stall", "after_chunks": 2, "delay_ms": 30_000}),
        ("stream_stall:3", {"kind": "stream_stall", "after_chunks": 3, "delay_ms": 30_000}),
        ("stream_stall:3:400", {"kind": "stream_stall", "after_chunks": 3, "delay_ms": 400}),
        ("no_done", {"kind": "no_done"}),
        ("context_length", {"kind": "context_length"}),
        ("content_filter", {"kind": "content_filter"}),
    ],
)
def test_header_spellings(header: str, expected: dict[str, Any]) -> None:
    [fault] = parse_fault_header(header)
    assert {name: fault.to_json()[name] for name in expected} == expected
    assert fault.count == 1


def test_several_faults_in_one_header() -> None:
    faults = parse_fault_header("latency:50, 429:none,stream_stall:1:100")
    assert [(f.kind, f.retry_after_s, f.delay_ms, f.after_chunks) for f in faults] == [
        ("latency", 1, 50, 2),
        ("429", None, 0, 2),
        ("stream_stall", 1, 100, 1),
    ]


@pytest.mark.parametrize(
    "header",
    ["reset:1", "no_done:2", "context_length:5", "504:1", "stream_stall:1:2:3", "no_response:none", "429:x"],
)
def test_bad_header_spellings(header: str) -> None:
    with pytest.raises(FaultSpecError):
        parse_fault_header(header)


def test_json_defaults_and_nulls() -> None:
    assert Fault.from_json({"kind": "429", "retry_after_s": None}).retry_after_s is None
    assert Fault.from_json({"kind": "429"}).retry_after_s == 1  # the old default stays
    assert Fault.from_json({"kind": "no_response", "delay_ms": None}).delay_ms == 120_000
    assert Fault.from_json({"kind": "stream_stall", "after_chunks": 4}).to_json() == {
        "kind": "stream_stall",
        "count": 1,
        "retry_after_s": 1,
        "delay_ms": 30_000,
        "after_chunks": 4,
        "endpoint": None,
        "model": None,
    }
    assert Fault("latency").delay_ms == 0
    assert Fault("no_response", delay_ms=0).delay_ms == 0  # an explicit 0 is kept
    for bad in ({"kind": "reset", "delay_ms": "soon"}, {"kind": "504", "after_chunks": None}):
        with pytest.raises(FaultSpecError):
            Fault.from_json(bad)
    with pytest.raises(FaultSpecError):
        Fault("429", retry_after_s=-1)


def test_rejection_kinds_match_chat_only() -> None:
    kinds: tuple[Any, ...] = ("context_length", "content_filter")
    for kind in kinds:
        fault = Fault(kind)
        assert fault.matches("chat", None)
        assert not fault.matches("models", None)
        assert not fault.matches("embeddings", "gpt-4o")
    assert Fault("reset").matches("models", None)


def test_answer_faults_summary() -> None:
    faults = AnswerFaults.of(
        [Fault("slow_first_token", delay_ms=300), Fault("stream_stall", after_chunks=1), Fault("no_done")]
    )
    assert (faults.first_token_delay_s, faults.stall_after, faults.stall_s, faults.done) == (
        0.3,
        1,
        30.0,
        False,
    )
    assert faults.json_fault == "stall"
    assert AnswerFaults.of([Fault("disconnect_mid_stream"), Fault("stream_stall")]).json_fault == "disconnect"
    assert AnswerFaults.of([Fault("504")]) == AnswerFaults()


def test_control_api_arms_the_new_kinds(engine: Engine) -> None:
    """The control JSON reaches every engine: armed faults come back with their defaults filled in."""
    server: EmulatorServer = engine.server
    armed = httpx.post(
        f"{server.url}/_emulator/faults",
        json=[
            {"kind": "429", "retry_after_s": None},
            {"kind": "no_response"},
            {"kind": "stream_stall", "after_chunks": 3, "delay_ms": 400, "count": None, "model": "x"},
        ],
    )
    assert armed.status_code == 200
    listed = armed.json()["armed"]
    assert [(f["kind"], f["retry_after_s"], f["delay_ms"]) for f in listed] == [
        ("429", None, 0),
        ("no_response", 1, 120_000),
        ("stream_stall", 1, 400),
    ]
    bad = httpx.post(f"{server.url}/_emulator/faults", json={"kind": "reset", "delay_ms": "x"})
    assert bad.status_code == 400
    assert httpx.delete(f"{server.url}/_emulator/faults").json() == {"armed": []}
    httpx.post(f"{server.url}/_emulator/faults", json={"kind": "429", "retry_after_s": None})
    response = engine.post()
    assert response.status_code == 429
    assert "retry-after" not in response.headers
    assert engine.post().status_code == 200
