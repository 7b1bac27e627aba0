"""OpenAI chat completions -> Anthropic Messages, and a Message back to a ``chat.completion``. Pure.

Gateway choices (the reference leaves them open), each pinned by a golden test:
- Requests go out as ``anthropic-version: 2023-06-01``, the version that still takes ``temperature``,
  ``top_p`` and ``top_k``; OpenAI's temperature (0-2) is clamped into Anthropic's 0-1.
- ``max_tokens`` defaults to the model's output limit (``max_output_tokens``) when the client sets none.
- ``system`` and ``developer`` messages, wherever they stand, become the top-level ``system`` (text blocks,
  in order); consecutive same-role turns are merged; ``tool`` messages become ``tool_result`` blocks in a
  user turn.
- ``n`` > 1, ``logprobs``, audio input and non-function tools are refused with a 400 rather than ignored;
  fields with no Anthropic equivalent (``seed``, ``presence_penalty``, ``frequency_penalty``, ``logit_bias``,
  ``stream_options``, ``store``, unknown ones) are dropped.
- ``reasoning_effort`` turns on extended thinking with a budget of 1024 / 4096 / 16384 tokens (kept below
  ``max_tokens``); thinking comes back as ``reasoning_content``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from byokgate.domain.chunks import completion_id, now_s
from byokgate.domain.messages_format import FINISH_REASONS, canonical_usage
from byokgate.domain.stream import TranslationError
from byokgate.providers.translation import DATA_URL, text_parts

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
_MAX_OUTPUT_TOKENS = (
    (re.compile(r"^claude-3-(opus|sonnet|haiku)-"), 4096),
    (re.compile(r"^claude-3-5-"), 8192),
    (re.compile(r"^claude-3-7-"), 64000),
    (re.compile(r"^claude-(sonnet|haiku)-4"), 64000),
    (re.compile(r"^claude-opus-4"), 32000),
    (re.compile(r"^claude-(opus|sonnet|haiku)-5"), 64000),
)
_THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384}


def max_output_tokens(model: str) -> int:
    for pattern, limit in _MAX_OUTPUT_TOKENS:
        if pattern.match(model):
            return limit
    return DEFAULT_MAX_TOKENS


def to_messages_request(payload: dict[str, Any]) -> dict[str, Any]:
    """The Anthropic ``/v1/messages`` body for an OpenAI chat-completions body (``model`` already native)."""
    model = str(payload["model"])
    _refuse_unsupported(payload)
    system, messages = _conversation(payload.get("messages"))
    body: dict[str, Any] = {"model": model, "messages": messages}
    if system:
        body["system"] = system
    max_tokens = payload.get("max_completion_tokens", payload.get("max_tokens"))
    if max_tokens is None:
        max_tokens = max_output_tokens(model)
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise TranslationError(
            "max_tokens must be a positive integer", param="max_tokens", code="invalid_value"
        )
    body["max_tokens"] = max_tokens
    temperature = payload.get("temperature")
    if temperature is not None:
        if not isinstance(temperature, int | float) or isinstance(temperature, bool):
            raise TranslationError("temperature must be a number", param="temperature", code="invalid_type")
        body["temperature"] = min(max(float(temperature), 0.0), 1.0)
    for name in ("top_p", "top_k", "stream"):
        if payload.get(name) is not None:
            body[name] = payload[name]
    stop = payload.get("stop")
    if stop is not None:
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    user = payload.get("user")
    if isinstance(user, str) and user:
        body["metadata"] = {"user_id": user}
    tools = payload.get("tools")
    if tools:
        body["tools"] = [_tool(tool, index) for index, tool in enumerate(tools)]
    tool_choice = _tool_choice(payload.get("tool_choice"), payload.get("parallel_tool_calls"), bool(tools))
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    output_format = _output_format(payload.get("response_format"))
    if output_format is not None:
        body["output_config"] = {"format": output_format}
    thinking = payload.get("thinking")  # Anthropic's own parameter, accepted as an extension
    if thinking is None and isinstance(payload.get("reasoning_effort"), str):
        budget = min(_THINKING_BUDGETS.get(payload["reasoning_effort"], 0), max_tokens - 1)
        if budget >= 1024:
            thinking = {"type": "enabled", "budget_tokens": budget}
    if thinking is not None:
        body["thinking"] = thinking
        body.pop("temperature", None)  # Anthropic allows thinking only at the default temperature
        body.pop("top_k", None)
    return body


def _refuse_unsupported(payload: dict[str, Any]) -> None:
    n = payload.get("n")
    if n is not None and n != 1:
        raise TranslationError("n > 1 is not supported for Anthropic models", param="n")
    if payload.get("logprobs") or payload.get("top_logprobs"):
        raise TranslationError("logprobs are not available from Anthropic models", param="logprobs")


def _conversation(raw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if not isinstance(raw, list) or not raw:
        raise TranslationError(
            "'messages' must be a non-empty array", param="messages", code="invalid_messages"
        )
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(raw):
        role = message.get("role") if isinstance(message, dict) else None
        where = f"messages[{index}]"
        if role in ("system", "developer"):
            system.extend(_text_blocks(message.get("content"), where))
        elif role == "user":
            _append(turns, "user", _user_blocks(message.get("content"), where))
        elif role == "assistant":
            _append(turns, "assistant", _assistant_blocks(message, where))
        elif role == "tool":
            _append(turns, "user", [_tool_result(message, where)])
        else:
            raise TranslationError(
                f"{where}: unsupported role {role!r}", param=where, code="invalid_messages"
            )
    if not turns:
        raise TranslationError(
            "at least one user or assistant message is required", param="messages", code="invalid_messages"
        )
    return system, turns


def _append(turns: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)  # Anthropic merges consecutive same-role turns: do it openly
    else:
        turns.append({"role": role, "content": blocks})


def _text_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text} for text in text_parts(content, where)]


def _user_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(content, list):
        return _text_blocks(content, where)
    blocks: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            blocks.extend(_text_blocks([part], where))
        elif kind == "image_url":
            blocks.append(_image(part.get("image_url"), where))
        elif kind == "file":
            blocks.append(_document(part.get("file"), where))
        else:
            raise TranslationError(f"{where}: content parts of type {kind!r} are not supported by Anthropic")
    return blocks


def _image(image_url: Any, where: str) -> dict[str, Any]:
    url = image_url.get("url") if isinstance(image_url, dict) else image_url
    if not isinstance(url, str):
        raise TranslationError(f"{where}: image_url.url must be a string", param=where)
    match = DATA_URL.match(url)
    if match:
        source = {"type": "base64", "media_type": match["mime"], "data": match["data"]}
        return {"type": "image", "source": source}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise TranslationError(f"{where}: image_url must be a data: URL or an http(s) URL", param=where)


def _document(file: Any, where: str) -> dict[str, Any]:
    data = file.get("file_data") if isinstance(file, dict) else None
    match = DATA_URL.match(data) if isinstance(data, str) else None
    if not match:
        raise TranslationError(f"{where}: file parts need file_data as a base64 data: URL", param=where)
    return {
        "type": "document",
        "source": {"type": "base64", "media_type": match["mime"], "data": match["data"]},
    }


def _assistant_blocks(message: dict[str, Any], where: str) -> list[dict[str, Any]]:
    blocks = _text_blocks(message.get("content"), where)
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise TranslationError(f"{where}: tool_calls entries need function.name", param=where)
        arguments = function.get("arguments") or "{}"
        try:
            parsed = orjson.loads(arguments) if isinstance(arguments, str) else arguments
        except orjson.JSONDecodeError:
            raise TranslationError(
                f"{where}: tool call arguments are not valid JSON", param=where, code="invalid_tool_arguments"
            ) from None
        if not isinstance(parsed, dict):
            raise TranslationError(f"{where}: tool call arguments must be a JSON object", param=where)
        call_id = call.get("id")
        if not isinstance(call_id, str) or not call_id:
            raise TranslationError(f"{where}: tool_calls entries need an id", param=where)
        blocks.append({"type": "tool_use", "id": call_id, "name": function["name"], "input": parsed})
    return blocks


def _tool_result(message: dict[str, Any], where: str) -> dict[str, Any]:
    tool_call_id = message.get("tool_call_id")
    if not isinstance(tool_call_id, str) or not tool_call_id:
        raise TranslationError(
            f"{where}: tool messages need tool_call_id", param=where, code="invalid_messages"
        )
    content = message.get("content")
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_call_id}
    result["content"] = content if isinstance(content, str) else _text_blocks(content, where)
    return result


def _tool(tool: Any, index: int) -> dict[str, Any]:
    function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise TranslationError(
            "only function tools are supported for Anthropic models", param=f"tools[{index}]"
        )
    schema = function.get("parameters") or {"type": "object", "properties": {}}
    converted: dict[str, Any] = {"name": function["name"], "input_schema": schema}
    if function.get("description"):
        converted["description"] = function["description"]
    return converted


def _tool_choice(choice: Any, parallel: Any, has_tools: bool) -> dict[str, Any] | None:
    converted: dict[str, Any] | None
    if choice is None:
        converted = {"type": "auto"} if has_tools and parallel is False else None
    elif choice == "auto":
        converted = {"type": "auto"}
    elif choice == "none":
        return {"type": "none"}
    elif choice == "required":
        converted = {"type": "any"}
    elif isinstance(choice, dict) and isinstance((choice.get("function") or {}).get("name"), str):
        converted = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise TranslationError("unsupported tool_choice for Anthropic models", param="tool_choice")
    if converted is not None and parallel is False:
        converted["disable_parallel_tool_use"] = True
    return converted


def _output_format(response_format: Any) -> dict[str, Any] | None:
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind in (None, "text"):
        return None
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise TranslationError(
                "response_format.json_schema.schema must be an object", param="response_format"
            )
        return {"type": "json_schema", "schema": schema}
    if kind == "json_object":
        return {"type": "json_schema", "schema": {"type": "object"}}
    raise TranslationError(f"unsupported response_format type {kind!r}", param="response_format")


# --- Anthropic Message -> OpenAI chat.completion ----------------------------------------------------


def to_chat_completion(message: dict[str, Any]) -> dict[str, Any]:
    texts: list[str] = []
    thinking: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in message.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "thinking":
            thinking.append(str(block.get("thinking", "")))
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            function = {"name": block.get("name"), "arguments": arguments}
            tool_calls.append({"id": block.get("id"), "type": "function", "function": function})
    stop_reason = message.get("stop_reason")
    reply: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not tool_calls else None,
        "refusal": None,
        "annotations": [],
    }
    if tool_calls:
        reply["tool_calls"] = tool_calls
    if thinking:
        reply["reasoning_content"] = "".join(thinking)
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": now_s(),
        "model": message.get("model"),
        "choices": [
            {
                "index": 0,
                "message": reply,
                "logprobs": None,
                "finish_reason": FINISH_REASONS.get(str(stop_reason), "stop"),
            }
        ],
        "usage": canonical_usage(message.get("usage") or {}),
    }
