"""Fault injection: what can go wrong on purpose, armed ahead of time or asked for per request.

Faults are armed on an emulator (Python: `emulator.arm(Fault(...))`; HTTP: `POST /_emulator/faults` with
the fields of `Fault` as JSON) and consumed by the next `count` matching requests, or given on one request
in the `x-emulator-fault` header: `kind[:a[:b]]`, several separated by commas. The header spellings:

| kind | header | what the client sees |
| --- | --- | --- |
| `429` | `429`, `429:7` (retry after 7 s), `429:none` (no retry hint at all) | the provider's 429 |
| `500` `502` `503` `504` | `503` | the provider's 5xx error body |
| `reset` | `reset` | the connection reset (TCP RST) before any response byte |
| `no_response` | `no_response`, `no_response:120000` (ms) | no byte; the connection closed after the delay |
| `slow_first_byte` / `latency` | `slow_first_byte:250` (ms) | the whole answer delayed |
| `slow_first_token` | `slow_first_token:20000` (ms) | headers and opening events at once, then the delay |
| `disconnect_mid_stream` | `disconnect_mid_stream:3` | N events, then an abrupt close |
| `stream_stall` | `stream_stall:3:30000` (events, ms) | N events, silence with the connection open, close |
| `malformed_chunk` | `malformed_chunk:2` | a broken JSON event in place of event N |
| `no_done` | `no_done` | a complete stream without `data: [DONE]` |
| `context_length` | `context_length` | the provider's context-window error (400) |
| `content_filter` | `content_filter` | the provider's content-policy refusal |
| `529` / `error_event` | `529`, `error_event:3` | Anthropic only: `overloaded_error`, mid-stream error |

Several faults may apply to one request (e.g. latency then a 429): delays come first, then `reset` /
`no_response`, then an error status. Which engines act on which kind, and how, is said in `Fault`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

FaultKind = Literal[
    "429",
    "500",
    "502",
    "503",
    "504",
    "reset",
    "no_response",
    "slow_first_byte",
    "slow_first_token",
    "disconnect_mid_stream",
    "stream_stall",
    "malformed_chunk",
    "no_done",
    "latency",
    "context_length",
    "content_filter",
    "529",
    "error_event",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
ERROR_KINDS = frozenset({"429", "500", "502", "503", "504"})
CONNECTION_KINDS = frozenset({"reset", "no_response"})
CHAT_ONLY_KINDS = frozenset(
    {"context_length", "content_filter"}
)  # endpoints other than chat, responses and completions neither match nor use them
GENERATION_ENDPOINTS = frozenset({"chat", "responses", "completions"})
FILTERED_ENDPOINTS = GENERATION_ENDPOINTS | {"images"}  # where content_filter also acts
Endpoint = Literal[
    "chat",
    "embeddings",
    "models",
    "count_tokens",
    "responses",
    "completions",
    "images",
    "transcriptions",
    "translations",
    "speech",
    "moderations",
]
KIND_DEFAULT = -1  # `delay_ms` left to the kind's default (`DEFAULT_DELAY_MS`)
DEFAULT_DELAY_MS = {"no_response": 120_000, "stream_stall": 30_000, "slow_first_token": 20_000}


class FaultSpecError(ValueError):
    """A fault description (JSON body or header) that does not make sense."""


class ConnectionFault(Exception):
    """Raised by an engine for a `reset` / `no_response` fault: `Emulator.__call__` breaks the connection
    instead of answering."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.kind)
        self.fault = fault


@dataclass(frozen=True, slots=True)
class Fault:
    """One armed fault.

    - `kind`:
      - an HTTP error (`"429"`, `"500"`, `"502"`, `"503"`, `"504"`) in the provider's own error shape; a
        429 carries the provider's retry hint (`retry-after: retry_after_s`, Gemini's `RetryInfo`) unless
        `retry_after_s` is None;
      - `reset`: the connection is reset (TCP RST) as soon as the request is read, before any response
        byte; `no_response`: the request is read and never answered, the connection is held open for
        `delay_ms` (default 120 s, or until the client hangs up) and then closed without a byte;
      - `slow_first_byte` / `latency`: wait `delay_ms` before answering; `slow_first_token`: a stream sends
        its headers and opening events (OpenAI role chunk, Azure's filter chunk, Anthropic `message_start`
        .. `ping`; Gemini has none) at once, then waits `delay_ms` (default 20 s) before the first content;
        a JSON answer waits `delay_ms` before answering;
      - `disconnect_mid_stream`: an abrupt close after `after_chunks` SSE events (for a JSON answer, after
        half its body); `stream_stall`: after `after_chunks` events, silence for `delay_ms` (default 30 s)
        with the connection open, then a close without the stream's end (no `[DONE]`, `message_stop`,
        final usage); a JSON answer sends its headers, stalls, then closes without the body;
        `malformed_chunk`: a broken JSON `data:` line in place of event number `after_chunks` (for a JSON
        answer, a truncated body);
      - `no_done`: the stream ends correctly (finish reason, usage when asked) but without `data: [DONE]`
        (OpenAI-format engines; a no-op where the stream never has the sentinel: Anthropic, Gemini,
        Perplexity); a JSON answer is unaffected;
      - `context_length`: the provider's context-window error for the model's real window (400);
        `content_filter`: the provider's content-policy refusal (an error for the OpenAI-format providers;
        Anthropic's 200 with `stop_reason: "refusal"` and Gemini's 200 with `promptFeedback.blockReason`,
        which is how those APIs refuse). Both act on chat requests only (and OpenAI's Responses API and
        legacy completions; `content_filter` the images endpoints too);
      - Anthropic emulator only: `529` (`overloaded_error`), `error_event` (an SSE `event: error` after
        `after_chunks` events; a JSON answer is unaffected).
    - `count`: how many matching requests it applies to; `None` = every one until cleared.
    - `endpoint` / `model`: restrict matching (`None` = any).
    - `delay_ms`: `KIND_DEFAULT` (or null in JSON) takes the kind's default (`DEFAULT_DELAY_MS`, else 0).
    """

    kind: FaultKind
    count: int | None = 1
    retry_after_s: int | None = 1
    delay_ms: int = KIND_DEFAULT
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
        if self.delay_ms == KIND_DEFAULT:
            object.__setattr__(self, "delay_ms", DEFAULT_DELAY_MS.get(self.kind, 0))
        retry = 0 if self.retry_after_s is None else self.retry_after_s
        if self.delay_ms < 0 or self.after_chunks < 0 or retry < 0:
            raise FaultSpecError("delay_ms, after_chunks and retry_after_s must be >= 0")

    @property
    def is_error(self) -> bool:
        return self.kind in ERROR_KINDS

    @property
    def delay_s(self) -> float:
        return self.delay_ms / 1000

    def matches(self, endpoint: str, model: str | None) -> bool:
        filtered = self.kind == "content_filter" and endpoint in FILTERED_ENDPOINTS
        if self.kind in CHAT_ONLY_KINDS and endpoint not in GENERATION_ENDPOINTS and not filtered:
            return False
        return (self.endpoint is None or self.endpoint == endpoint) and (
            self.model is None or self.model == model
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        """Build a fault from the control API's JSON (`{"kind": "429", "retry_after_s": null, ...}`)."""
        if not isinstance(data, Mapping):
            raise FaultSpecError("each fault must be a JSON object")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise FaultSpecError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        values = dict(data)
        values["kind"] = str(values.get("kind", ""))
        for name in ("count", "retry_after_s", "delay_ms", "after_chunks"):
            value = values.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise FaultSpecError(f"{name} must be an integer")
        if values.get("delay_ms", KIND_DEFAULT) is None:
            values["delay_ms"] = KIND_DEFAULT
        if values.get("after_chunks", 0) is None:
            raise FaultSpecError("after_chunks must be an integer")
        return cls(**values)


# The numbers a header spelling may carry, in order (`stream_stall:3:30000` = after 3 events, for 30 s).
_HEADER_PARAMETERS: dict[str, tuple[str, ...]] = {
    "429": ("retry_after_s",),
    "slow_first_byte": ("delay_ms",),
    "latency": ("delay_ms",),
    "slow_first_token": ("delay_ms",),
    "no_response": ("delay_ms",),
    "disconnect_mid_stream": ("after_chunks",),
    "malformed_chunk": ("after_chunks",),
    "error_event": ("after_chunks",),
    "stream_stall": ("after_chunks", "delay_ms"),
}
_NULLABLE = frozenset({"retry_after_s"})  # may be spelled `none`


def _header_value(name: str, text: str, item: str) -> int | None:
    if name in _NULLABLE and text.lower() == "none":
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise FaultSpecError(f"fault parameter must be an integer: {item!r}") from exc


def parse_fault_header(value: str) -> list[Fault]:
    """Faults for one request from `x-emulator-fault: kind[:a[:b]][, kind...]` (see the module table)."""
    faults: list[Fault] = []
    for raw in value.split(","):
        item = raw.strip()
        kind, *numbers = item.split(":")
        if not kind:
            continue
        names = _HEADER_PARAMETERS.get(kind, ())
        if numbers and not names:
            raise FaultSpecError(f"fault {kind!r} takes no parameter")
        if len(numbers) > len(names):
            raise FaultSpecError(f"fault {kind!r} takes at most {len(names)} parameter(s): {item!r}")
        extra = {name: _header_value(name, text, item) for name, text in zip(names, numbers, strict=False)}
        faults.append(Fault.from_json({"kind": kind, **extra}))
    return faults


@dataclass(frozen=True, slots=True)
class AnswerFaults:
    """What the faults of one request do to its successful answer (JSON or stream); see `Fault`."""

    first_token_delay_s: float = 0.0  # slow_first_token
    disconnect_after: int | None = None
    malformed_at: int | None = None
    stall_after: int | None = None
    stall_s: float = 0.0
    error_after: int | None = None  # Anthropic's error_event
    done: bool = True  # False: no_done

    @classmethod
    def of(cls, faults: Sequence[Fault]) -> AnswerFaults:
        """The first fault of each kind decides (as for the existing kinds)."""
        if not faults:  # the common case: nothing to do
            return NO_ANSWER_FAULTS

        def first(kind: str) -> Fault | None:
            return next((fault for fault in faults if fault.kind == kind), None)

        slow, stall = first("slow_first_token"), first("stream_stall")
        disconnect, malformed, error = (
            first("disconnect_mid_stream"),
            first("malformed_chunk"),
            first("error_event"),
        )
        return cls(
            first_token_delay_s=slow.delay_s if slow else 0.0,
            disconnect_after=disconnect.after_chunks if disconnect else None,
            malformed_at=malformed.after_chunks if malformed else None,
            stall_after=stall.after_chunks if stall else None,
            stall_s=stall.delay_s if stall else 0.0,
            error_after=error.after_chunks if error else None,
            done=first("no_done") is None,
        )

    @property
    def json_fault(self) -> str | None:
        """How a JSON answer breaks: `disconnect`, `stall`, `malformed`, or not at all (None)."""
        if self.disconnect_after is not None:
            return "disconnect"
        if self.stall_after is not None:
            return "stall"
        return "malformed" if self.malformed_at is not None else None


NO_ANSWER_FAULTS = AnswerFaults()


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
