"""Input token counts and a deterministic prompt cache for the Anthropic emulator.

Counting (`content.count_tokens` for text): each tool its JSON (without `cache_control`); the system prompt
4 + its text; each message 4 + its blocks (text; 85 per image and per PDF / URL / file document; a text
document its text; `tool_use` its name and JSON input; `tool_result` its text and images; `thinking` its
text); plus 3 for reply priming. `count_input_tokens` is what `count_tokens` answers.

Caching (simplified, documented): the prompt is a sequence of segments in the API's cache order (tools,
system, messages). Every block with `cache_control` (and, for a top-level `cache_control`, the last block of
the last message) ends a cacheable prefix, identified by a hash of the model and the prefix content. A
prefix seen before, by this emulator since its last `reset()`, is read (`cache_read_input_tokens`); the
tokens from it to the last breakpoint are written (`cache_creation_input_tokens`, split by each
breakpoint's `ttl` into `cache_creation.ephemeral_5m/1h_input_tokens`). There is no expiry and no minimum
cacheable length. `input_tokens` is the rest (it excludes cached tokens, as in the real API).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from byokgate.emulators import content
from byokgate.emulators.anthropic_blocks import blocks_of
from byokgate.emulators.anthropic_validation import MessagesRequest

PER_MESSAGE = content.TOKENS_PER_MESSAGE
PER_IMAGE = content.TOKENS_PER_IMAGE
PRIMING = content.TOKENS_REPLY_PRIMING


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of the prompt: its tokens, its content (for the cache key), its cache `ttl` if it ends a
    cacheable prefix."""

    tokens: int
    key: bytes
    ttl: str | None = None


@dataclass(frozen=True, slots=True)
class InputUsage:
    input_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key != "cache_control"}


def _ttl(item: Any) -> str | None:
    control = item.get("cache_control") if isinstance(item, dict) else None
    if not isinstance(control, dict):
        return None
    return str(control.get("ttl") or "5m")


def _text_of(value: Any) -> str:
    return value if isinstance(value, str) else content.content_text(value)


def _images(value: Any) -> int:
    if not isinstance(value, list):
        return 0
    return sum(1 for item in value if isinstance(item, dict) and item.get("type") in ("image", "document"))


def block_tokens(block: dict[str, Any]) -> int:
    kind = block.get("type")
    if kind == "text":
        return content.count_tokens(str(block.get("text", "")))
    if kind == "image":
        return PER_IMAGE
    if kind == "document":
        source = block.get("source") or {}
        if source.get("type") == "text":
            return content.count_tokens(str(source.get("data", "")))
        if source.get("type") == "content":
            return content.count_tokens(_text_of(source.get("content"))) + PER_IMAGE * _images(
                source.get("content")
            )
        return PER_IMAGE
    if kind == "tool_use":
        name = str(block.get("name", ""))
        return content.count_tokens(name) + content.count_tokens(orjson.dumps(block.get("input")).decode())
    if kind == "tool_result":
        result = block.get("content")
        return content.count_tokens(_text_of(result)) + PER_IMAGE * _images(result)
    if kind == "thinking":
        return content.count_tokens(str(block.get("thinking", "")))
    if kind == "search_result":
        return content.count_tokens(str(block.get("title", ""))) + content.count_tokens(
            _text_of(block.get("content"))
        )
    if kind == "redacted_thinking":
        return 0
    return content.count_tokens(orjson.dumps(_plain(block)).decode())


def _segments(request: MessagesRequest) -> Iterator[Segment]:
    for tool in request.tools:
        plain = orjson.dumps(_plain(tool))
        yield Segment(content.count_tokens(plain.decode()), plain, _ttl(tool))
    system = request.system
    if isinstance(system, str) and system:
        yield Segment(PER_MESSAGE + content.count_tokens(system), system.encode())
    elif isinstance(system, list) and system:
        yield Segment(PER_MESSAGE, b"system")
        for block in system:
            yield Segment(block_tokens(block), orjson.dumps(_plain(block)), _ttl(block))
    last = len(request.messages) - 1
    for index, message in enumerate(request.messages):
        yield Segment(PER_MESSAGE, str(message["role"]).encode())
        blocks = blocks_of(message)
        for position, block in enumerate(blocks):
            ttl = _ttl(block)
            if ttl is None and index == last and position == len(blocks) - 1:
                ttl = _ttl({"cache_control": request.cache_control})
            yield Segment(block_tokens(block), orjson.dumps(_plain(block)), ttl)


def count_input_tokens(request: MessagesRequest) -> int:
    """All input tokens of a request (cached or not): the `count_tokens` answer."""
    return PRIMING + sum(segment.tokens for segment in _segments(request))


class PromptCache:
    """The prefixes an emulator has cached; thread-safe (reset from a test thread, used by the server)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: set[str] = set()

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()

    def usage(self, request: MessagesRequest, *, store: bool = True) -> InputUsage:
        """The input usage of a request; `store` remembers its prefixes for later requests."""
        digest = hashlib.sha256(request.model.id.encode())
        total = PRIMING
        breakpoints: list[tuple[str, int, str]] = []  # (prefix key, prefix tokens, ttl)
        for segment in _segments(request):
            digest.update(len(segment.key).to_bytes(8, "big") + segment.key)
            total += segment.tokens
            if segment.ttl is not None:
                breakpoints.append((digest.hexdigest(), total - PRIMING, segment.ttl))
        with self._lock:
            hits = [tokens for key, tokens, _ in breakpoints if key in self._keys]
            if store:
                self._keys.update(key for key, _, _ in breakpoints)
        read = max(hits, default=0)
        written = {"5m": 0, "1h": 0}
        covered = read
        for _, tokens, ttl in breakpoints:
            if tokens > covered:
                written[ttl] += tokens - covered
                covered = tokens
        creation = written["5m"] + written["1h"]
        return InputUsage(total - read - creation, creation, read, written["5m"], written["1h"])
