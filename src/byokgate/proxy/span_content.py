"""Message content on the server span, only when opted in
(``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``): the request's messages and the answer in the GenAI
conventions' structure (``gen_ai.input.messages``, ``gen_ai.output.messages``, ``gen_ai.system_instructions``:
JSON arrays of messages made of typed parts), from the bodies the door captured (capped), redacted of
credentials like kept bodies.

Both front doors' formats are read: chat completions (``messages`` with string or part-list content, tool
calls, tool results) and Messages (``system``, content blocks: text, tool_use, tool_result); answers as JSON
or as the SSE stream that was sent (its text and finish reason).
"""

from __future__ import annotations

import contextlib
from typing import Any

import orjson

from byokgate.proxy.bodies import redact

Part = dict[str, Any]
Message = dict[str, Any]


def span_content(request: str, response: str, stream: bool) -> dict[str, str]:
    """The content attributes of a request (empty when the bodies are not JSON, e.g. cut at the cap)."""
    attributes: dict[str, str] = {}
    try:
        body = orjson.loads(request)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        system, messages = _input(body)
        if system:
            attributes["gen_ai.system_instructions"] = _json(system)
        if messages:
            attributes["gen_ai.input.messages"] = _json(messages)
    output = _streamed(response) if stream else _answered(response)
    if output:
        attributes["gen_ai.output.messages"] = _json(output)
    return attributes


def _json(value: object) -> str:
    return redact(orjson.dumps(value).decode())


def _input(body: dict[str, Any]) -> tuple[list[Part], list[Message]]:
    system = _parts(body.get("system"))  # Messages' top-level system prompt
    messages: list[Message] = []
    for message in body.get("messages") or ():
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        parts = _parts(message.get("content"))
        for call in message.get("tool_calls") or ():  # chat completions: the assistant's tool calls
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                parts.append(_tool_call(call.get("id"), function.get("name"), function.get("arguments")))
        if role == "tool":  # chat completions: a tool's result
            response = _text(parts)
            parts = [{"type": "tool_call_response", "id": message.get("tool_call_id"), "response": response}]
        if role in ("system", "developer") and not messages:
            system += parts
            continue
        messages.append({"role": role, "parts": parts})
    return system, messages


def _parts(content: object) -> list[Part]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[Part] = []
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "content": block.get("text", "")})
        elif kind == "tool_use":
            parts.append(_tool_call(block.get("id"), block.get("name"), block.get("input")))
        elif kind == "tool_result":
            response = _text(_parts(block.get("content")))
            parts.append({"type": "tool_call_response", "id": block.get("tool_use_id"), "response": response})
    return parts


def _tool_call(call_id: object, name: object, arguments: object) -> Part:
    if isinstance(arguments, str):
        with contextlib.suppress(orjson.JSONDecodeError):
            arguments = orjson.loads(arguments)
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def _text(parts: list[Part]) -> str:
    return "".join(str(part.get("content", "")) for part in parts if part.get("type") == "text")


def _answered(response: str) -> list[Message]:
    try:
        body = orjson.loads(response)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(body, dict):
        return []
    if isinstance(body.get("choices"), list):  # chat completions
        output = []
        for choice in body["choices"]:
            message = choice.get("message") if isinstance(choice, dict) else None
            if isinstance(message, dict):
                parts = _input({"messages": [{**message, "role": "assistant"}]})[1][0]["parts"]
                output.append(
                    {"role": "assistant", "parts": parts, "finish_reason": choice.get("finish_reason")}
                )
        return output
    if body.get("type") == "message":  # Messages
        parts = _parts(body.get("content"))
        return [{"role": "assistant", "parts": parts, "finish_reason": body.get("stop_reason")}]
    return []


def _streamed(response: str) -> list[Message]:
    """A stream's text and finish reason, from the events as sent (chat chunks or Messages events)."""
    text: list[str] = []
    finish: object = None
    for line in response.splitlines():
        if not line.startswith("data:"):
            continue
        try:
            event = orjson.loads(line[5:].strip())
        except orjson.JSONDecodeError:
            continue  # [DONE], or a line cut at the cap
        if not isinstance(event, dict):
            continue
        for choice in event.get("choices") or ():
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                delta = choice.get("delta") or {}
                if isinstance(delta.get("content"), str):
                    text.append(delta["content"])
                finish = choice.get("finish_reason") or finish
        delta = event.get("delta")
        if isinstance(delta, dict):
            if delta.get("type") == "text_delta":
                text.append(str(delta.get("text", "")))
            finish = delta.get("stop_reason") or finish
    if not text and finish is None:
        return []
    parts = [{"type": "text", "content": "".join(text)}] if text else []
    return [{"role": "assistant", "parts": parts, "finish_reason": finish}]
