"""OpenAI chat completions -> Gemini generateContent, and a GenerateContentResponse back. Pure.

Gateway choices (the reference leaves them open), each pinned by a golden test:
- ``system``/``developer`` messages become ``systemInstruction``; assistant turns are role ``model``;
  consecutive ``tool`` messages become one user turn of ``functionResponse`` parts, each named after the
  call it answers (looked up in the history) with the tool output as ``response`` (a JSON object output is
  passed as the object, anything else as ``{"result": <text>}``).
- Gemini's function calls carry no usable id, so the gateway makes ``call_...`` ids. Their
  ``thoughtSignature`` (which Gemini 3 requires back, verbatim) is kept by the adapter under that id and
  restored when the client sends the history back (see ``GeminiProvider``).
- Images must be inline (``data:`` URLs): the gateway does not fetch URLs on a client's behalf.
- ``n`` > 1 and ``logprobs`` are refused with a 400; ``response_format`` json_schema becomes
  ``responseMimeType: application/json`` + ``responseJsonSchema``; ``tool_choice`` maps to
  ``functionCallingConfig`` (a named function is ``ANY`` + ``allowedFunctionNames``).
- Finish reasons: ``STOP`` with a function call -> ``tool_calls``; ``MAX_TOKENS`` -> ``length``; the safety
  family -> ``content_filter``; a blocked prompt (no candidates) -> ``content_filter`` with empty content.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, MutableMapping
from typing import Any

import orjson

from byokgate.domain.chunks import completion_id, now_s
from byokgate.domain.stream import TranslationError
from byokgate.providers.translation import DATA_URL, text_parts

_FILTERED = {
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
    "MODEL_ARMOR",
}
_TOOL_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
_CONFIG_NAMES = {
    "temperature": "temperature",
    "top_p": "topP",
    "seed": "seed",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
}


def new_call_id() -> str:
    return f"call_{secrets.token_urlsafe(18)}"


def finish_reason(reason: str | None, called_tools: bool) -> str:
    if reason in _FILTERED:
        return "content_filter"
    if reason == "MAX_TOKENS":
        return "length"
    return "tool_calls" if called_tools else "stop"


def to_generate_request(payload: dict[str, Any], signatures: Mapping[str, str]) -> dict[str, Any]:
    """The generateContent body (the model and the stream switch go in the URL)."""
    n = payload.get("n")
    if n is not None and n != 1:
        raise TranslationError("n > 1 is not supported for Gemini models by this gateway", param="n")
    if payload.get("logprobs") or payload.get("top_logprobs"):
        raise TranslationError(
            "logprobs are not available from Gemini models through this gateway", param="logprobs"
        )
    system, contents = _conversation(payload.get("messages"), signatures)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    config: dict[str, Any] = {}
    for name, gemini_name in _CONFIG_NAMES.items():
        if payload.get(name) is not None:
            config[gemini_name] = payload[name]
    max_tokens = payload.get("max_completion_tokens", payload.get("max_tokens"))
    if max_tokens is not None:
        config["maxOutputTokens"] = max_tokens
    stop = payload.get("stop")
    if stop is not None:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    config.update(_response_format(payload.get("response_format")))
    if config:
        body["generationConfig"] = config
    tools = payload.get("tools")
    if tools:
        body["tools"] = [{"functionDeclarations": [_declaration(tool, i) for i, tool in enumerate(tools)]}]
    tool_config = _tool_config(payload.get("tool_choice"))
    if tool_config is not None:
        body["toolConfig"] = {"functionCallingConfig": tool_config}
    return body


def _conversation(
    raw: Any, signatures: Mapping[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if not isinstance(raw, list) or not raw:
        raise TranslationError(
            "'messages' must be a non-empty array", param="messages", code="invalid_messages"
        )
    names: dict[str, str] = {}  # tool call id -> function name, for the functionResponse parts
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    for index, message in enumerate(raw):
        role = message.get("role") if isinstance(message, dict) else None
        where = f"messages[{index}]"
        if role in ("system", "developer"):
            system.extend({"text": text} for text in text_parts(message.get("content"), where))
        elif role == "user":
            _append(contents, "user", _user_parts(message.get("content"), where))
        elif role == "assistant":
            _append(contents, "model", _model_parts(message, where, names, signatures))
        elif role == "tool":
            _append(contents, "user", [_function_response(message, where, names)])
        else:
            raise TranslationError(
                f"{where}: unsupported role {role!r}", param=where, code="invalid_messages"
            )
    if not contents:
        raise TranslationError(
            "at least one user or assistant message is required", param="messages", code="invalid_messages"
        )
    return system, contents


def _append(contents: list[dict[str, Any]], role: str, parts: list[dict[str, Any]]) -> None:
    if not parts:
        return
    if contents and contents[-1]["role"] == role:
        contents[-1]["parts"].extend(parts)
    else:
        contents.append({"role": role, "parts": parts})


def _user_parts(content: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(content, list):
        return [{"text": text} for text in text_parts(content, where)]
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            parts.extend({"text": text} for text in text_parts([part], where))
        elif kind in ("image_url", "file"):
            inner = part.get(kind)
            url = (
                inner.get("url" if kind == "image_url" else "file_data") if isinstance(inner, dict) else inner
            )
            match = DATA_URL.match(url) if isinstance(url, str) else None
            if not match:
                raise TranslationError(
                    f"{where}: Gemini needs images and files inline, as base64 data: URLs", param=where
                )
            parts.append({"inlineData": {"mimeType": match["mime"], "data": match["data"]}})
        else:
            raise TranslationError(f"{where}: content parts of type {kind!r} are not supported by Gemini")
    return parts


def _model_parts(
    message: dict[str, Any], where: str, names: dict[str, str], signatures: Mapping[str, str]
) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"text": text} for text in text_parts(message.get("content"), where)]
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        call_id = call.get("id") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not call_id:
            raise TranslationError(f"{where}: tool_calls entries need an id and function.name", param=where)
        arguments = function.get("arguments") or "{}"
        try:
            args = orjson.loads(arguments) if isinstance(arguments, str) else arguments
        except orjson.JSONDecodeError:
            raise TranslationError(
                f"{where}: tool call arguments are not valid JSON", param=where, code="invalid_tool_arguments"
            ) from None
        if not isinstance(args, dict):
            raise TranslationError(f"{where}: tool call arguments must be a JSON object", param=where)
        names[str(call_id)] = function["name"]
        part: dict[str, Any] = {"functionCall": {"name": function["name"], "args": args}}
        signature = signatures.get(str(call_id))
        if signature is not None:
            part["thoughtSignature"] = signature
        parts.append(part)
    return parts


def _function_response(message: dict[str, Any], where: str, names: dict[str, str]) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    name = names.get(call_id) if isinstance(call_id, str) else None
    if name is None:
        raise TranslationError(
            f"{where}: tool_call_id does not match a tool call of an earlier assistant message",
            param=where,
            code="invalid_messages",
        )
    text = "".join(text_parts(message.get("content"), where))
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        parsed = None
    response = parsed if isinstance(parsed, dict) else {"result": text}
    return {"functionResponse": {"name": name, "response": response}}


def _declaration(tool: Any, index: int) -> dict[str, Any]:
    function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise TranslationError("only function tools are supported for Gemini models", param=f"tools[{index}]")
    declaration: dict[str, Any] = {"name": function["name"]}
    if function.get("description"):
        declaration["description"] = function["description"]
    if function.get("parameters"):
        declaration["parametersJsonSchema"] = function["parameters"]
    return declaration


def _tool_config(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, str) and choice in _TOOL_MODES:
        return {"mode": _TOOL_MODES[choice]}
    if isinstance(choice, dict) and isinstance((choice.get("function") or {}).get("name"), str):
        return {"mode": "ANY", "allowedFunctionNames": [choice["function"]["name"]]}
    raise TranslationError("unsupported tool_choice for Gemini models", param="tool_choice")


def _response_format(response_format: Any) -> dict[str, Any]:
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind in (None, "text"):
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise TranslationError(
                "response_format.json_schema.schema must be an object", param="response_format"
            )
        return {"responseMimeType": "application/json", "responseJsonSchema": schema}
    raise TranslationError(f"unsupported response_format type {kind!r}", param="response_format")


# --- GenerateContentResponse -> OpenAI ----------------------------------------------------------------


def canonical_usage(metadata: dict[str, Any]) -> dict[str, Any]:
    prompt = _count(metadata.get("promptTokenCount")) + _count(metadata.get("toolUsePromptTokenCount"))
    thoughts = _count(metadata.get("thoughtsTokenCount"))
    completion = _count(metadata.get("candidatesTokenCount")) + thoughts
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": _count(metadata.get("cachedContentTokenCount"))},
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parts_of(response: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The first candidate's parts and finish reason (a blocked prompt has neither)."""
    candidates = response.get("candidates")
    if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
        blocked = (response.get("promptFeedback") or {}).get("blockReason")
        return [], "SAFETY" if blocked else None
    candidate = candidates[0]
    parts = (candidate.get("content") or {}).get("parts")
    return (parts if isinstance(parts, list) else []), candidate.get("finishReason")


def tool_call(part: dict[str, Any], call_id: str) -> dict[str, Any]:
    call = part["functionCall"]
    arguments = orjson.dumps(call.get("args") or {}).decode()
    return {"id": call_id, "type": "function", "function": {"name": call.get("name"), "arguments": arguments}}


def to_chat_completion(
    response: dict[str, Any], model: str, remember: MutableMapping[str, str]
) -> dict[str, Any]:
    """The ``chat.completion``; the thought signatures of the calls it makes are added to ``remember``."""
    parts, reason = parts_of(response)
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("functionCall"), dict):
            call_id = new_call_id()
            if isinstance(part.get("thoughtSignature"), str):
                remember[call_id] = part["thoughtSignature"]
            calls.append(tool_call(part, call_id))
        elif isinstance(part.get("text"), str):
            (thoughts if part.get("thought") else texts).append(part["text"])
    reply: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not calls else None,
        "refusal": None,
        "annotations": [],
    }
    if calls:
        reply["tool_calls"] = calls
    if thoughts:
        reply["reasoning_content"] = "".join(thoughts)
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": now_s(),
        "model": response.get("modelVersion") or model,
        "choices": [
            {
                "index": 0,
                "message": reply,
                "logprobs": None,
                "finish_reason": finish_reason(reason, bool(calls)),
            }
        ],
        "usage": canonical_usage(response.get("usageMetadata") or {}),
    }
