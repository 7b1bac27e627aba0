"""The Responses front door's requests in canonical terms: a Responses body as an OpenAI chat body. Pure.

A ``/v1/responses`` request for a model whose provider does not serve the Responses API itself (a Claude, a
Gemini, a Llama) becomes a canonical chat-completions body, which every adapter speaks; the answer comes
back through ``responses_egress``.

Gateway choices: ``instructions`` is the first system message, a ``developer`` message a system message;
consecutive ``function_call`` items are one assistant message's tool calls; ``reasoning`` items sent back
are dropped (other providers cannot verify them); ``reasoning.summary``, ``text.verbosity``, ``include``,
``truncation``, ``prompt_cache_key``, ``service_tier`` and ``top_logprobs`` have no canonical equivalent
and are dropped; what a provider cannot do (built-in tools such as web search, files, background runs,
stored prompts, conversations) is a 400 naming it, never dropped.
"""

from __future__ import annotations

from typing import Any

from byokgate.domain.stream import TranslationError

# Tools the provider itself runs (OpenAI's hosted tools): nothing but OpenAI can run them.
BUILT_IN_TOOLS = {
    "web_search": "web search",
    "web_search_preview": "web search",
    "web_search_2025_08_26": "web search",
    "web_search_preview_2025_03_11": "web search",
    "file_search": "file search",
    "code_interpreter": "code interpreter",
    "computer_use_preview": "computer use",
    "computer_use": "computer use",
    "image_generation": "image generation",
    "mcp": "remote MCP",
    "local_shell": "local shell",
    "shell": "shell",
    "apply_patch": "apply patch",
}
# Request fields only OpenAI's own service can honour.
_UNSUPPORTED = {
    "background": "background responses",
    "conversation": "conversations",
    "prompt": "stored prompts",
}


def to_chat_payload(body: dict[str, Any], history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An OpenAI chat-completions body for a Responses body; ``history``: the items of the conversation
    ``previous_response_id`` continues (its inputs and outputs, oldest first)."""
    for name, what in _UNSUPPORTED.items():
        if body.get(name):
            raise TranslationError(f"'{name}': {what} are only available with OpenAI models", param=name)
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    elif isinstance(instructions, list):
        _add_items(messages, instructions, "instructions")
    if history:
        _add_items(messages, history, "previous_response_id")
    _add_items(messages, input_items(body.get("input")), "input")
    if not messages:
        raise TranslationError("'input': at least one input item is required", param="input")
    payload: dict[str, Any] = {"model": body["model"], "messages": messages}
    for name in ("temperature", "top_p", "parallel_tool_calls"):
        if body.get(name) is not None:
            payload[name] = body[name]
    if body.get("max_output_tokens") is not None:
        payload["max_tokens"] = body["max_output_tokens"]
    user = body.get("user") or body.get("safety_identifier")
    if isinstance(user, str) and user:
        payload["user"] = user
    tools = [
        function for index, tool in enumerate(body.get("tools") or ()) for function in _tool(tool, index)
    ]
    if tools:
        payload["tools"] = tools
    choice = _tool_choice(body.get("tool_choice"))
    if choice is not None:
        payload["tool_choice"] = choice
    response_format = _format(body.get("text"))
    if response_format is not None:
        payload["response_format"] = response_format
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and isinstance(reasoning.get("effort"), str):
        effort = reasoning["effort"]
        if effort != "none":
            payload["reasoning_effort"] = "low" if effort == "minimal" else effort
    if body.get("stream") is True:
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
    return payload


def input_items(raw: Any) -> list[dict[str, Any]]:
    """The request's ``input`` as a list of items (a string is one user message)."""
    if raw is None:
        return []
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    if isinstance(raw, list) and all(isinstance(item, dict) for item in raw):
        return raw
    raise TranslationError("'input' must be a string or an array of input items", param="input")


def _add_items(messages: list[dict[str, Any]], items: list[Any], where: str) -> None:
    for index, item in enumerate(items):
        at = f"{where}[{index}]"
        if not isinstance(item, dict):
            raise TranslationError(f"'{at}': expected an object", param=at)
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(_message(item, at))
        elif kind == "function_call":
            name = _text(item.get("name"), f"{at}.name")
            if isinstance(item.get("namespace"), str) and item["namespace"]:
                name = namespaced(item["namespace"], name)
            call = {
                "id": _text(item.get("call_id"), f"{at}.call_id"),
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": item.get("arguments") if isinstance(item.get("arguments"), str) else "{}",
                },
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            elif last is not None and last["role"] == "assistant":
                last["tool_calls"] = [call]
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": _text(item.get("call_id"), f"{at}.call_id"),
                    "content": _output(item.get("output"), f"{at}.output"),
                }
            )
        elif kind == "reasoning":
            continue  # another provider cannot verify it; the model reasons afresh
        elif kind == "item_reference":
            raise TranslationError(
                f"'{at}': item references are only resolved for OpenAI models; send the item itself",
                param=at,
            )
        else:
            raise TranslationError(
                f"'{at}': input items of type '{kind}' are only available with OpenAI models", param=at
            )


def _message(item: dict[str, Any], at: str) -> dict[str, Any]:
    role = item.get("role")
    if role == "developer":
        role = "system"
    if role not in ("user", "assistant", "system"):
        raise TranslationError(f"'{at}.role': unexpected role {role!r}", param=f"{at}.role")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list):
        raise TranslationError(
            f"'{at}.content': expected a string or an array of content parts", param=f"{at}.content"
        )
    parts = [_part(part, f"{at}.content[{index}]") for index, part in enumerate(content)]
    if role != "user":  # only user messages take images: the rest is text
        return {"role": role, "content": "".join(part.get("text", "") for part in parts)}
    return {"role": role, "content": parts}


def _part(part: Any, at: str) -> dict[str, Any]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": str(part.get("text", ""))}
    if kind == "refusal":
        return {"type": "text", "text": str(part.get("refusal", ""))}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str) or not url:
            raise TranslationError(
                f"'{at}': images by file id are only available with OpenAI models; send image_url",
                param=at,
            )
        image: dict[str, Any] = {"url": url}
        if part.get("detail") in ("low", "high", "auto"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    raise TranslationError(
        f"'{at}': content parts of type '{kind}' are only available with OpenAI models", param=at
    )


def _output(output: Any, at: str) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        texts = []
        for index, part in enumerate(output):
            if not isinstance(part, dict) or part.get("type") not in ("input_text", "output_text"):
                raise TranslationError(
                    f"'{at}[{index}]': only text outputs are translated for this model", param=at
                )
            texts.append(str(part.get("text", "")))
        return "".join(texts)
    raise TranslationError(f"'{at}': expected a string", param=at)


def _text(value: Any, at: str) -> str:
    if not isinstance(value, str) or not value:
        raise TranslationError(f"'{at}': expected a non-empty string", param=at)
    return value


def namespaced(namespace: str, name: str) -> str:
    """A function of a ``namespace`` tool as the canonical format names it (one flat list of functions)."""
    return f"{namespace}{NAMESPACE_SEPARATOR}{name}"


NAMESPACE_SEPARATOR = "__"


def namespaces(body: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The request's namespaced functions: canonical name -> (namespace, name), to name calls back."""
    found = {}
    for tool in body.get("tools") or ():
        if isinstance(tool, dict) and tool.get("type") == "namespace" and isinstance(tool.get("name"), str):
            for inner in tool.get("tools") or ():
                if isinstance(inner, dict) and isinstance(inner.get("name"), str):
                    found[namespaced(tool["name"], inner["name"])] = (tool["name"], inner["name"])
    return found


def _tool(tool: Any, index: int) -> list[dict[str, Any]]:
    at = f"tools[{index}]"
    kind = tool.get("type") if isinstance(tool, dict) else None
    if kind == "function":
        function: dict[str, Any] = {"name": _text(tool.get("name"), f"{at}.name")}
        for name in ("description", "parameters", "strict"):
            if tool.get(name) is not None:
                function[name] = tool[name]
        return [{"type": "function", "function": function}]
    if kind == "namespace":  # a group of functions: each its own, under a prefixed name
        group = _text(tool.get("name"), f"{at}.name")
        functions = []
        for inner in tool.get("tools") or ():
            for function in _tool(inner, index):
                function["function"]["name"] = namespaced(group, function["function"]["name"])
                functions.append(function)
        return functions
    what = BUILT_IN_TOOLS.get(str(kind))
    if what is not None:
        raise TranslationError(
            f"'{at}': the {what} tool ('{kind}') is run by OpenAI and only available with OpenAI models",
            param=at,
            code="unsupported_tool",
        )
    raise TranslationError(
        f"'{at}': tools of type '{kind}' are only available with OpenAI models; use function tools",
        param=at,
        code="unsupported_tool",
    )


def _tool_choice(choice: Any) -> Any:
    if choice is None or choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": _text(choice.get("name"), "tool_choice.name")}}
    raise TranslationError(
        "'tool_choice': only 'auto', 'none', 'required' or a function are translated for this model",
        param="tool_choice",
    )


def _format(text: Any) -> dict[str, Any] | None:
    fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return None
    if fmt["type"] == "json_object":
        return {"type": "json_object"}
    if fmt["type"] == "json_schema":
        schema: dict[str, Any] = {
            "name": _text(fmt.get("name"), "text.format.name"),
            "schema": fmt.get("schema") if isinstance(fmt.get("schema"), dict) else {},
        }
        for name in ("description", "strict"):
            if fmt.get(name) is not None:
                schema[name] = fmt[name]
        return {"type": "json_schema", "json_schema": schema}
    raise TranslationError(
        f"'text.format.type': '{fmt['type']}' is not a format this model takes", param="text.format"
    )
