"""The Messages front door's requests in canonical terms: a Messages body as an OpenAI chat body. Pure.

A ``/v1/messages`` request for a model whose provider does not serve the Messages API itself (``gpt-4o``, a
Llama, a Gemini model) is turned into a canonical chat-completions body, which every adapter speaks; the
answer comes back through ``messages_egress``.

Gateway choices: each ``tool_result`` block becomes its own ``tool`` message (before the user text of the
same turn); ``thinking`` blocks sent back by the client are dropped (other providers cannot verify them);
``top_k`` and ``thinking`` have no canonical equivalent and are dropped; structured output
(``output_config.format``) becomes ``response_format`` (json_schema) and ``output_config.effort``
``reasoning_effort``; a stream always asks upstream for
usage so that ``message_delta`` can report it.
"""

from __future__ import annotations

from typing import Any

import orjson

from byokgate.domain.stream import TranslationError


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
    _output_config(body, payload)
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


_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high"}


def _output_config(body: dict[str, Any], payload: dict[str, Any]) -> None:
    """Structured output (``output_config.format``, or the beta's ``output_format``) as ``response_format``,
    and ``output_config.effort`` as ``reasoning_effort``; what cannot be expressed is refused, never
    dropped (a client parsing JSON would get free text)."""
    config = body.get("output_config")
    if config is not None and not isinstance(config, dict):
        raise TranslationError("output_config: expected an object", param="output_config")
    config = config or {}
    fmt, where = config.get("format"), "output_config.format"
    if fmt is None and body.get("output_format") is not None:
        fmt, where = body["output_format"], "output_format"
    if fmt is not None:
        schema = fmt.get("schema") if isinstance(fmt, dict) else None
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(schema, dict):
            raise TranslationError(
                f"{where}: only a json_schema format with a schema object can be sent to this model",
                param=where,
            )
        payload["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": schema, "strict": True},
        }
    effort = config.get("effort")
    if effort is not None:
        if effort not in _EFFORTS:
            raise TranslationError(
                f"output_config.effort: unknown effort {effort!r}", param="output_config.effort"
            )
        payload["reasoning_effort"] = _EFFORTS[effort]
