"""Fault injection: what can go wrong on purpose, armed ahead of time or asked for per request.

Faults are armed on an emulator (Python: `emulator.arm(Fault(...))`; HTTP: `POST /_emulator/faults`) and
consumed by the next `count` matching requests, or given on one request in the `x-emulator-fault` header
(`429:2`, `503`, `slow_first_byte:250`, `disconnect_mid_stream:3`, `malformed_chunk:2`, `latency:100`;
several separated by commas). Several faults may apply to one request (e.g. latency then a 429). `529` and
`error_event:N` are Anthropic's (only its emulator acts on them).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

FaultKind = Literal[
    "429",
    "500",
    "502",
    "503",
    "slow_first_byte",
    "disconnect_mid_stream",
    "malformed_chunk",
    "latency",
    "529",
    "error_event",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
ERROR_KINDS = frozenset({"429", "500", "502", "503"})
Endpoint = Literal["chat", "embeddings", "models", "count_tokens"]


class FaultSpecError(ValueError):
    """A fault description (JSON body or header) that does not make sense."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One armed fault.

    - `kind`: an HTTP error (`"429"`, `"500"`, `"502"`, `"503"`, answered with the provider's error body;
      429 carries `retry-after: retry_after_s`), `slow_first_byte` / `latency` (wait `delay_ms` before
      answering), `disconnect_mid_stream` (close the connection abruptly after `after_chunks` SSE events;
      for a JSON answer, after half its body), `malformed_chunk` (a broken JSON `data:` line in place of
      event number `after_chunks`; for a JSON answer, a truncated body). Anthropic emulator only: `529`
      (`overloaded_error`), `error_event` (an SSE `event: error` after `after_chunks` events; a JSON
      answer is unaffected).
    - `count`: how many matching requests it applies to; `None` = every one until cleared.
    - `endpoint` / `model`: restrict matching (`None` = any).
    """

    kind: FaultKind
    count: int | None = 1
    retry_after_s: int = 1
    delay_ms: int = 0
    after_chunks: int = 2
    endpoint: Endpoint | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultSpecError(
                f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}"
            )
        if self.count is not None and self.count < 1:
            raise FaultSpecError("count must be >= 1 (or null for every request)")
        if self.delay_ms < 0 or self.after_chunks < 0 or self.retry_after_s < 0:
            raise FaultSpecError("delay_ms, after_chunks and retry_after_s must be >= 0")

    @property
    def is_error(self) -> bool:
        return self.kind in ERROR_KINDS

    def matches(self, endpoint: str, model: str | None) -> bool:
        return (self.endpoint is None or self.endpoint == endpoint) and (
            self.model is None or self.model == model
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        """Build a fault from the control API's JSON (`{"kind": "429", "retry_after_s": 2, ...}`)."""
        if not isinstance(data, Mapping):
            raise FaultSpecError("each fault must be a JSON object")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise FaultSpecError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        values = dict(data)
        values["kind"] = str(values.get("kind", ""))
        for name in ("count", "retry_after_s", "delay_ms", "after_chunks"):
            if name in values and values[name] is not None and not isinstance(values[name], int):
                raise FaultSpecError(f"{name} must be an integer")
        return cls(**values)


_HEADER_PARAMETER = {
    "429": "retry_after_s",
    "slow_first_byte": "delay_ms",
    "latency": "delay_ms",
    "disconnect_mid_stream": "after_chunks",
    "malformed_chunk": "after_chunks",
    "error_event": "after_chunks",
}


def parse_fault_header(value: str) -> list[Fault]:
    """Faults for one request from `x-emulator-fault: kind[:number][, kind[:number]...]`."""
    faults: list[Fault] = []
    for item in value.split(","):
        kind, _, number = item.strip().partition(":")
        if not kind:
            continue
        parameter = _HEADER_PARAMETER.get(kind)
        if number and parameter is None:
            raise FaultSpecError(f"fault {kind!r} takes no parameter")
        try:
            extra = {parameter: int(number)} if number and parameter else {}
        except ValueError as exc:
            raise FaultSpecError(f"fault parameter must be an integer: {item.strip()!r}") from exc
        faults.append(Fault.from_json({"kind": kind, **extra}))
    return faults


class FaultBook:
    """The armed faults of one emulator; thread-safe (tests arm from their thread, the server consumes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[list[Any]] = []  # [fault, remaining or None]

    def arm(self, *faults: Fault) -> None:
        with self._lock:
            self._armed.extend([fault, fault.count] for fault in faults)

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def armed(self) -> list[Fault]:
        with self._lock:
            return [entry[0] for entry in self._armed]

    def take(self, endpoint: str, model: str | None) -> list[Fault]:
        """The faults that apply to this request, each consumed once."""
        if not self._armed:  # the common benchmark case: no lock, no work
            return []
        taken: list[Fault] = []
        with self._lock:
            for entry in self._armed:
                fault, remaining = entry[0], entry[1]
                if not fault.matches(endpoint, model):
                    continue
                taken.append(fault)
                if remaining is not None:
                    entry[1] = remaining - 1
            self._armed = [entry for entry in self._armed if entry[1] is None or entry[1] > 0]
        return taken
