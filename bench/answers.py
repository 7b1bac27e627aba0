"""What a correct answer looks like: SSE parsing, the first-content test of each request format (the TTFT
client uses it too), and the checks a target must pass before it is measured."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from bench.config import BenchError, log
from bench.http_client import call_json, http_exchange
from bench.targets import FALLBACK_PROVIDER, Emulator, Target
from bench.workload import CLAUDE_MODEL


def sse_data(raw: bytes) -> list[str]:
    """The payloads of an SSE body's `data:` lines, in order."""
    lines = raw.decode(errors="replace").splitlines()
    return [line[5:].strip() for line in lines if line.startswith("data:")]


def delta_content(line: str) -> bool:
    """Whether an SSE line is a `data:` chunk carrying a non-empty content delta."""
    if not line.startswith("data:"):
        return False
    payload = line[5:].strip()
    if not payload or payload == "[DONE]":
        return False
    try:
        chunk = json.loads(payload)
        content = chunk["choices"][0]["delta"].get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return False
    return isinstance(content, str) and content != ""


def anthropic_text_delta(line: str) -> bool:
    """Whether an SSE line is the `data:` of a `content_block_delta` carrying a non-empty `text_delta`."""
    if not line.startswith("data:"):
        return False
    try:
        event = json.loads(line[5:])
        delta = event["delta"] if event.get("type") == "content_block_delta" else None
        text = delta.get("text") if isinstance(delta, dict) and delta.get("type") == "text_delta" else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    return isinstance(text, str) and text != ""


# Per request format: does this SSE line carry the first content?
CONTENT_DELTA: dict[str, Callable[[str], bool]] = {"openai": delta_content, "anthropic": anthropic_text_delta}


def verify_chat(target: Target) -> None:
    """One request per mode must succeed, with an answer, before wrk hammers the target.

    OpenAI format: `choices[0].message.content`, and a stream with a content delta that ends with
    `data: [DONE]`. Anthropic format: a text block, and a stream with a `text_delta` whose last event is
    `message_stop` (Anthropic streams have no `[DONE]`). A Claude target must answer for a Claude model, any
    other target for another model (so that a Messages request for gpt-4o-mini is not served by Claude).
    A cache target's answers must both say `x-byokgate-cache: <expected>` (HIT, MISS or BYPASS). A target
    with fallback models must be answered by its first target at the first attempt (`check_primary`).
    """
    status, headers, raw = http_exchange(
        target.url, method="POST", headers=target.headers, body=target.body(False)
    )
    if status != 200:
        raise BenchError(f"{target.name}: {target.api} answer HTTP {status}: {raw[:300]!r}")
    check_cache_header(target, "answer", headers)
    check_primary(target, "answer", headers)
    try:
        answer = json.loads(raw)
        if target.api == "anthropic":
            text = "".join(b.get("text", "") for b in answer["content"] if b.get("type") == "text")
        else:
            text = answer["choices"][0]["message"]["content"]
        model = answer["model"]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise BenchError(f"{target.name}: unexpected {target.api} answer ({exc!r}): {raw[:300]!r}") from None
    if not isinstance(text, str) or not text:
        raise BenchError(f"{target.name}: empty {target.api} answer: {raw[:300]!r}")
    if (target.model == CLAUDE_MODEL) != str(model).startswith("claude-"):
        raise BenchError(f"{target.name}: answered for model {model!r}, not {target.model}")

    status, headers, raw = http_exchange(
        target.url, method="POST", headers=target.headers, body=target.body(True)
    )
    if status != 200:
        raise BenchError(f"{target.name}: streaming HTTP {status}: {raw[:300]!r}")
    check_cache_header(target, "stream", headers)
    check_primary(target, "stream", headers)
    data = sse_data(raw)
    has_content = any(CONTENT_DELTA[target.api]("data: " + payload) for payload in data)
    if target.api == "anthropic":
        last = data[-1] if data else ""
        try:
            ended = json.loads(last).get("type") == "message_stop" and "[DONE]" not in data
        except (ValueError, AttributeError):
            ended = False
        if not has_content or not ended:
            raise BenchError(
                f"{target.name}: stream without text_delta or final message_stop: {raw[-300:]!r}"
            )
    elif not has_content or not data or data[-1] != "[DONE]":
        raise BenchError(f"{target.name}: stream without content or final [DONE]: {raw[-300:]!r}")


def check_cache_header(target: Target, what: str, headers: dict[str, str]) -> None:
    if target.expect_cache is None:
        return
    got = headers.get("x-byokgate-cache")
    if got != target.expect_cache:
        raise BenchError(f"{target.name}: {what} says x-byokgate-cache: {got}, not {target.expect_cache}")


def check_primary(target: Target, what: str, headers: dict[str, str]) -> None:
    """A target with fallbacks, with no fault armed: answered by the plan's first target, at the first
    attempt (`x-byokgate-routing-reason: pinned`, `x-byokgate-attempts: 1`)."""
    if not target.fallbacks:
        return
    reason, attempts = headers.get("x-byokgate-routing-reason"), headers.get("x-byokgate-attempts")
    if reason != "pinned" or attempts != "1":
        raise BenchError(
            f"{target.name}: {what} not from the first target at once "
            f"(x-byokgate-routing-reason: {reason}, x-byokgate-attempts: {attempts})"
        )


def armed_faults(emulator: Emulator) -> list[object]:
    """The faults armed on an emulator (`GET /_emulator/faults`)."""
    armed = call_json(f"{emulator.control_url}/faults", "GET", {})["armed"]
    return list(armed) if isinstance(armed, list) else [armed]


def verify_fallback(target: Target, primary: Emulator, retries: int = 2) -> None:
    """That the gateway really planned a second target for a target with fallbacks: with the primary's
    emulator answering 503 to the first attempt and every retry (`1 + retries`, armed through its control
    API), a plain and a streamed request must both be answered by the fallback's provider, after a
    fallback. Then no fault may remain armed on the primary (the measurement must see none)."""
    faults = f"{primary.control_url}/faults"
    call_json(faults, "DELETE", {})
    try:
        for stream in (False, True):
            call_json(faults, "POST", {}, {"kind": "503", "count": 1 + retries})
            status, headers, raw = http_exchange(
                target.url, method="POST", headers=target.headers, body=target.body(stream)
            )
            provider = headers.get("x-byokgate-provider")
            reason, attempts = headers.get("x-byokgate-routing-reason"), headers.get("x-byokgate-attempts")
            what = "stream" if stream else "answer"
            left = armed_faults(primary)
            if status != 200 or provider != FALLBACK_PROVIDER or not str(reason).startswith("fallback_"):
                raise BenchError(
                    f"{target.name}: with the first target failing, the {what} was HTTP {status} from "
                    f"{provider} (x-byokgate-routing-reason: {reason}, x-byokgate-attempts: {attempts}), "
                    f"not a fallback to {FALLBACK_PROVIDER}: {raw[:300]!r}"
                )
            if left:
                raise BenchError(f"{target.name}: {len(left)} fault(s) left unused on the primary: {left}")
            log(
                f"{target.name}: with 503 x{1 + retries} armed on the primary, the {what} came from "
                f"{provider} (x-byokgate-routing-reason: {reason}, x-byokgate-attempts: {attempts})"
            )
    finally:
        call_json(faults, "DELETE", {})
    if armed_faults(primary):
        raise BenchError(f"{target.name}: faults still armed on the primary after clearing them")


def prime_cache(target: Target) -> None:
    """A hit target's entry: the first plain request stores it (MISS); then both modes must say HIT.

    A streamed request is answered from the entry a plain one filled, so one entry serves both modes.
    """
    if target.expect_cache != "HIT":
        return
    deadline = time.perf_counter() + 10
    seen: dict[bool, str | None] = {}
    while True:
        for stream in (False, True):
            status, headers, raw = http_exchange(
                target.url, method="POST", headers=target.headers, body=target.body(stream)
            )
            if status != 200:
                raise BenchError(f"{target.name}: priming the cache: HTTP {status}: {raw[:300]!r}")
            seen[stream] = headers.get("x-byokgate-cache")
        if seen[False] == seen[True] == "HIT":
            return
        if time.perf_counter() > deadline:
            raise BenchError(
                f"{target.name}: no cache hit after 10 s (plain: {seen[False]}, stream: {seen[True]})"
            )
        time.sleep(0.05)
