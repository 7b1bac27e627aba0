"""The Anthropic-format front door for non-Claude models: Messages in, OpenAI chat completions inside. Pure.

A ``/v1/messages`` request for ``gpt-4o``, a Llama or a Gemini model is turned into an OpenAI chat-completions
body (the gateway's internal lingua franca, which every adapter speaks); the answer comes back as an
Anthropic ``Message`` and a stream as Anthropic events (``OpenAIToAnthropicEvents``).

Gateway choices: each ``tool_result`` block becomes its own ``tool`` message (before the user text of the
same turn); ``thinking`` blocks sent back by the client are dropped (other providers cannot verify them);
``top_k`` and ``thinking`` have no OpenAI-format equivalent and are dropped; a stream always asks upstream
for usage so that ``message_delta`` can report it; OpenAI ``stop`` -> ``end_turn``, ``length`` ->
``max_tokens``, ``tool_calls`` -> ``tool_use``, ``content_filter`` -> ``refusal``.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from byokgate.providers.translation import ChatStream, TranslationError

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
# Client-facing error types by HTTP status, in Anthropic's vocabulary.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_body(status: int, message: str, request_id: str | None) -> dict[str, Any]:
    kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}


def message_id() -> str:
    return f"msg_{secrets.token_urlsafe(18)}"


def to_chat_payload(body: dict[str, Any], *, max_tokens_field: str = "max_tokens") -> dict[str, Any]:
    """An OpenAI chat-completions body for an Anthropic Messages body."""
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if isinstance(system, str) and system:
        messages.append({"role": "system", "content": system})
    elif isinstance(system, list) and system:
        messages.append({"role": "system", "content": _text_parts(system, "system")})
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise TranslationError("messages: at least one message is required", param="messages")
    for index, message in enumerate(raw):
        where = f"messages.{index}"
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if role == "user":
            messages.extend(_user_messages(content, where))
        elif role == "assistant":
            messages.append(_assistant_message(content, where))
        elif role == "system":
            messages.append({"role": "system", "content": _text_parts(content, where)})
        else:
            raise TranslationError(f"{where}.role: unexpected role {role!r}", param=f"{where}.role")
    payload: dict[str, Any] = {
        "model": body["model"],
        "messages": messages,
        max_tokens_field: body["max_tokens"],
    }
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            payload[name] = body[name]
    if body.get("stop_sequences"):
        payload["stop"] = body["stop_sequences"]
    user = (body.get("metadata") or {}).get("user_id")
    if isinstance(user, str) and user:
        payload["user"] = user
    tools = body.get("tools")
    if tools:
        payload["tools"] = [_tool(tool, i) for i, tool in enumerate(tools)]
    _tool_choice(body.get("tool_choice"), payload)
    if body.get("stream") is True:
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
    return payload


def _text_parts(content: Any, where: str) -> list[dict[str, Any]] | str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise TranslationError(f"{where}: expected a string or a list of text blocks", param=where)
    parts = []
    for block in content:
        if not isinstance(block, dict) or block.get("type") != "text":
            raise TranslationError(f"{where}: only text blocks are allowed here", param=where)
        parts.append({"type": "text", "text": str(block.get("text", ""))})
    return parts


def _user_messages(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    if not isinstance(content, list):
        raise TranslationError(
            f"{where}.content: expected a string or a list of blocks", param=f"{where}.content"
        )
    results: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for number, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        at = f"{where}.content.{number}"
        if kind == "text":
            parts.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "image":
            parts.append({"type": "image_url", "image_url": {"url": _source_url(block.get("source"), at)}})
        elif kind == "document":
            parts.append({"type": "file", "file": {"file_data": _source_url(block.get("source"), at)}})
        elif kind == "tool_result":
            results.append(_tool_message(block, at))
        else:
            raise TranslationError(f"{at}: blocks of type {kind!r} cannot be sent to this model", param=at)
    return results + ([{"role": "user", "content": parts}] if parts else [])


def _source_url(source: Any, where: str) -> str:
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "base64":
        return f"data:{source.get('media_type')};base64,{source.get('data')}"
    if kind == "url" and isinstance(source.get("url"), str):
        return str(source["url"])
    raise TranslationError(f"{where}.source: only base64 and url sources are supported here", param=where)


def _tool_message(block: dict[str, Any], where: str) -> dict[str, Any]:
    content = block.get("content")
    if isinstance(content, list):
        content = "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    text = "" if content is None else str(content)
    if block.get("is_error"):
        text = f"Error: {text}"
    tool_use_id = block.get("tool_use_id")
    if not isinstance(tool_use_id, str):
        raise TranslationError(f"{where}.tool_use_id: required", param=where)
    return {"role": "tool", "tool_call_id": tool_use_id, "content": text}


def _assistant_message(content: Any, where: str) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    if not isinstance(content, list):
        raise TranslationError(
            f"{where}.content: expected a string or a list of blocks", param=f"{where}.content"
        )
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            function = {"name": block.get("name"), "arguments": arguments}
            calls.append({"id": block.get("id"), "type": "function", "function": function})
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _tool(tool: Any, index: int) -> dict[str, Any]:
    if (
        not isinstance(tool, dict)
        or not isinstance(tool.get("name"), str)
        or tool.get("type") not in (None, "custom")
    ):
        raise TranslationError(
            f"tools.{index}: only client tools can be sent to this model", param=f"tools.{index}"
        )
    function: dict[str, Any] = {
        "name": tool["name"],
        "parameters": tool.get("input_schema") or {"type": "object"},
    }
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _tool_choice(choice: Any, payload: dict[str, Any]) -> None:
    if not isinstance(choice, dict):
        return
    kind = choice.get("type")
    if kind == "auto":
        payload["tool_choice"] = "auto"
    elif kind == "any":
        payload["tool_choice"] = "required"
    elif kind == "none":
        payload["tool_choice"] = "none"
    elif kind == "tool" and isinstance(choice.get("name"), str):
        payload["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    if choice.get("disable_parallel_tool_use") is True and "tools" in payload:
        payload["parallel_tool_calls"] = False


def anthropic_usage(usage: dict[str, Any] | None) -> dict[str, Any]:
    usage = usage or {}
    details = usage.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0)
    written = int(details.get("cache_write_tokens") or 0)
    return {
        "input_tokens": max(int(usage.get("prompt_tokens") or 0) - cached - written, 0),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }


def to_message(completion: dict[str, Any], model: str) -> dict[str, Any]:
    """An Anthropic ``Message`` for an OpenAI ``chat.completion``."""
    choice = (completion.get("choices") or [{}])[0]
    reply = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if reply.get("content"):
        content.append({"type": "text", "text": str(reply["content"])})
    for call in reply.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{secrets.token_urlsafe(18)}",
                "name": function.get("name"),
                "input": _arguments(function.get("arguments")),
            }
        )
    return {
        "id": message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": STOP_REASONS.get(str(choice.get("finish_reason")), "end_turn"),
        "stop_sequence": None,
        "usage": anthropic_usage(completion.get("usage")),
    }


def _arguments(raw: Any) -> dict[str, Any]:
    try:
        parsed = orjson.loads(raw) if isinstance(raw, str) and raw else {}
    except orjson.JSONDecodeError:
        parsed = {}
    return parsed if isinstance(parsed, dict) else {}


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"


class OpenAIToAnthropicEvents:
    """Turns OpenAI chunk events (complete ``data:`` events) into Anthropic Messages stream events."""

    def __init__(self, model: str) -> None:
        self._model = model
        self._started = False
        self._block = -1  # index of the open content block, -1 when none is open
        self._block_kind: str | None = None
        self._tools: dict[int, int] = {}  # OpenAI tool-call index -> Anthropic block index
        self._stop_reason = "end_turn"
        self._usage: dict[str, Any] | None = None
        self.closed = False

    def feed(self, events: list[bytes]) -> list[bytes]:
        out: list[bytes] = []
        for raw in events:
            payload = raw.removeprefix(b"data: ").rstrip(b"\n")
            if payload == b"[DONE]":
                out.extend(self.close())
                continue
            try:
                chunk = orjson.loads(payload)
            except orjson.JSONDecodeError:
                continue  # comments and keep-alives
            if not isinstance(chunk, dict):
                continue
            if isinstance(chunk.get("error"), dict):
                message = str(chunk["error"].get("message") or "upstream error")
                out.append(_event("error", {"error": {"type": "api_error", "message": message}}))
                self.closed = True
                continue
            out.extend(self._chunk(chunk))
        return out

    def _start(self) -> list[bytes]:
        if self._started:
            return []
        self._started = True
        message: dict[str, Any] = {
            "id": message_id(),
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return [_event("message_start", {"message": message}), _event("ping", {})]

    def _close_block(self) -> list[bytes]:
        if self._block < 0 or self._block_kind is None:
            return []
        self._block_kind = None
        return [_event("content_block_stop", {"index": self._block})]

    def _open(self, block: dict[str, Any], kind: str) -> list[bytes]:
        out = self._close_block()
        self._block += 1
        self._block_kind = kind
        return [*out, _event("content_block_start", {"index": self._block, "content_block": block})]

    def _chunk(self, chunk: dict[str, Any]) -> list[bytes]:
        out = self._start()
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if isinstance(text, str) and text:
                if self._block_kind != "text":
                    out.extend(self._open({"type": "text", "text": ""}, "text"))
                out.append(
                    _event(
                        "content_block_delta",
                        {"index": self._block, "delta": {"type": "text_delta", "text": text}},
                    )
                )
            for call in delta.get("tool_calls") or ():
                index = int(call.get("index", 0))
                function = call.get("function") or {}
                if index not in self._tools:
                    block: dict[str, Any] = {
                        "type": "tool_use",
                        "id": call.get("id") or f"toolu_{secrets.token_urlsafe(18)}",
                        "name": function.get("name"),
                        "input": {},
                    }
                    out.extend(self._open(block, "tool_use"))
                    self._tools[index] = self._block
                fragment = function.get("arguments")
                if isinstance(fragment, str) and fragment:
                    json_delta = {"type": "input_json_delta", "partial_json": fragment}
                    out.append(
                        _event("content_block_delta", {"index": self._tools[index], "delta": json_delta})
                    )
            reason = choice.get("finish_reason")
            if reason:
                self._stop_reason = STOP_REASONS.get(str(reason), "end_turn")
        return out

    def close(self) -> list[bytes]:
        if self.closed:
            return []
        self.closed = True
        out = [*self._start(), *self._close_block()]
        usage = anthropic_usage(self._usage)
        delta = {"stop_reason": self._stop_reason, "stop_sequence": None}
        out.append(_event("message_delta", {"delta": delta, "usage": usage}))
        out.append(_event("message_stop", {}))
        return out


class ToAnthropicStream:
    """Any adapter's ``ChatStream`` (OpenAI chunks out) re-expressed as Anthropic events."""

    def __init__(self, inner: ChatStream, model: str) -> None:
        self._inner = inner
        self._events = OpenAIToAnthropicEvents(model)
        self.tally = inner.tally  # the same object: usage, finish and errors as the inner stream saw them

    def feed(self, chunk: bytes) -> list[bytes]:
        return self._events.feed(self._inner.feed(chunk))

    def finish(self) -> list[bytes]:
        return self._events.feed(self._inner.finish())
