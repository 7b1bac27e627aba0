"""Deterministic content: token counts, replies, tool arguments and embeddings derived from the request.

Everything here is a pure function of its input, so a test can predict exactly what an emulator answers
(`reply_for(messages)` gives the text of a chat reply, `count_tokens(text)` the token count) and the same
request always yields the same content, whatever the process or the provider.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"\w+")
_PIECE = re.compile(r"\S+\s*")
# Words the deterministic reply is built from (64 of them: one byte of the digest picks one).
_VOCAB = [
    "the",
    "answer",
    "depends",
    "on",
    "context",
    "and",
    "careful",
    "reasoning",
    "about",
    "every",
    "relevant",
    "detail",
    "in",
    "this",
    "question",
    "so",
    "here",
    "is",
    "a",
    "short",
    "summary",
    "with",
    "clear",
    "steps",
    "simple",
    "examples",
    "useful",
    "notes",
    "honest",
    "limits",
    "practical",
    "advice",
    "general",
    "guidance",
    "specific",
    "facts",
    "quick",
    "checks",
    "friendly",
    "tone",
    "plain",
    "words",
    "brief",
    "caveats",
    "extra",
    "ideas",
    "final",
    "thoughts",
    "next",
    "actions",
    "open",
    "questions",
    "good",
    "luck",
    "today",
]
TOKENS_PER_MESSAGE = 4
TOKENS_REPLY_PRIMING = 3
TOKENS_PER_IMAGE = 85
STREAM_WORDS_PER_CHUNK = 3


def count_tokens(text: str) -> int:
    """Approximate a tokenizer: one token per word (run of \\w) and one per punctuation mark."""
    return len(_TOKEN.findall(text))


def truncate_to_tokens(text: str, limit: int) -> str:
    """The prefix of `text` that holds exactly `limit` tokens (the whole text when it has fewer)."""
    if limit <= 0:
        return ""
    for index, match in enumerate(_TOKEN.finditer(text)):
        if index == limit - 1:
            return text[: match.end()]
    return text


def content_text(content: Any) -> str:
    """The text of a message's `content`: a string, or the text parts of a list joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part.get("text", "") for part in content if isinstance(part, dict) and "text" in part]
        return "\n".join(text for text in texts if isinstance(text, str))
    return ""


def _image_parts(content: Any) -> int:
    if not isinstance(content, list):
        return 0
    return sum(1 for part in content if isinstance(part, dict) and part.get("type") == "image_url")


def prompt_tokens(messages: Sequence[Mapping[str, Any]], tools: Any = None) -> int:
    """Prompt size: per message 4 + its text tokens (+85 per image, + tool-call names and arguments),
    3 for reply priming, plus the tokens of the serialised `tools` list when there is one."""
    total = TOKENS_REPLY_PRIMING
    for message in messages:
        total += TOKENS_PER_MESSAGE + count_tokens(content_text(message.get("content")))
        total += TOKENS_PER_IMAGE * _image_parts(message.get("content"))
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                total += count_tokens(str(function.get("name", ""))) + count_tokens(
                    str(function.get("arguments", ""))
                )
    if tools:
        total += count_tokens(orjson.dumps(tools).decode())
    return total


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text of the last `user` message (of the last message when there is no user message)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return content_text(messages[-1].get("content")) if messages else ""


def reply_text(user_text: str) -> str:
    """The answer to a user message: `Echo: <its first 8 words, trailing punctuation stripped>. ` then
    8-16 words picked from a fixed vocabulary by its SHA-256, capitalised, ending with a full stop.

    e.g. `reply_text("Hello there!")` starts with `Echo: Hello there. ` and always ends the same way.
    """
    digest = hashlib.sha256(user_text.encode()).digest()
    length = 8 + digest[0] % 9
    words = [_VOCAB[byte % len(_VOCAB)] for byte in digest[1 : 1 + length]]
    sentence = " ".join(words)
    echo = " ".join(user_text.split()[:8]).rstrip(".!?,;:") or "(empty)"
    return f"Echo: {echo}. {sentence[0].upper()}{sentence[1:]}."


def tool_results_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The answer after tool results: their contents (the trailing `tool` messages) quoted in order."""
    results: list[str] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.append(content_text(message.get("content")))
    return "Based on the tool results: " + "; ".join(reversed(results)) + "."


def reply_for(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text an emulator answers to these messages (before any `max_tokens` truncation)."""
    if messages and messages[-1].get("role") == "tool":
        return tool_results_text(messages)
    return reply_text(last_user_text(messages))


def stream_pieces(text: str, words_per_piece: int = STREAM_WORDS_PER_CHUNK) -> list[str]:
    """Split text into stream deltas of a few words each; the pieces concatenate back to `text`."""
    words = _PIECE.findall(text)
    lead = text[: len(text) - len(text.lstrip())]
    pieces = ["".join(words[i : i + words_per_piece]) for i in range(0, len(words), words_per_piece)]
    if lead:
        pieces = [lead + pieces[0], *pieces[1:]] if pieces else [lead]
    return pieces


def split_evenly(text: str, parts: int) -> list[str]:
    """Split a string (e.g. JSON tool arguments) into `parts` non-empty fragments, in order."""
    size = max(1, math.ceil(len(text) / max(parts, 1)))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _proper_noun(user_text: str) -> str | None:
    """The last run of capitalised words that does not start the text (`in New York?` -> `New York`)."""
    words = _WORD.findall(user_text)
    best: str | None = None
    run: list[str] = []
    for index, word in enumerate(words):
        if index > 0 and word[:1].isupper():
            run.append(word)
            continue
        if run:
            best = " ".join(run)
        run = []
    return " ".join(run) if run else best


def _value_for(name: str, schema: Mapping[str, Any], user_text: str, depth: int) -> Any:
    if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "integer":
        return 3
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "array":
        items = schema.get("items")
        return [_value_for(name, items if isinstance(items, dict) else {}, user_text, depth + 1)]
    if kind == "object":
        return arguments_for(schema, user_text, depth + 1)
    return _proper_noun(user_text) or f"{name}_value"


def arguments_for(schema: Any, user_text: str, depth: int = 0) -> dict[str, Any]:
    """Tool-call arguments built from a JSON schema: the `required` properties (all properties when
    none is required). Strings take the last capitalised words of the user text (else `<name>_value`),
    integers 3, numbers 1.5, booleans true, enums their first value, `default` when given."""
    if not isinstance(schema, dict) or depth > 4:
        return {}
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    required = schema.get("required")
    names = [n for n in required if n in properties] if isinstance(required, list) and required else []
    names = names or list(properties)
    return {
        name: _value_for(
            name, properties[name] if isinstance(properties[name], dict) else {}, user_text, depth
        )
        for name in names
    }


# Embeddings ------------------------------------------------------------------------------------------


def _features(text: str) -> Iterable[tuple[str, float]]:
    for word in _WORD.findall(text.lower()):
        yield "w:" + word, 1.0
        padded = f" {word} "
        for i in range(len(padded) - 2):
            yield "c:" + padded[i : i + 3], 0.5


def embed(item: str | Sequence[int], dimensions: int) -> list[float]:
    """An L2-normalised vector: words and character trigrams (token ids for token input) hashed with
    CRC-32 into `dimensions` buckets with a hashed sign, so texts sharing words are cosine-close."""
    vector = [0.0] * dimensions
    features: Iterable[tuple[str, float]]
    features = _features(item) if isinstance(item, str) else ((f"t:{token}", 1.0) for token in item)
    for feature, weight in features:
        digest = zlib.crc32(feature.encode())
        vector[digest % dimensions] += weight if (digest // dimensions) & 1 else -weight
    norm = math.sqrt(sum(value * value for value in vector))
    if norm == 0.0:
        vector[0] = 1.0
        return vector
    return [value / norm for value in vector]


def encode_base64(vector: Sequence[float]) -> str:
    """The base64 of the vector as little-endian float32, which is what `encoding_format=base64` sends."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
