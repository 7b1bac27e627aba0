"""What the emulated model answers, and how the answer is cut into stream chunks.

Tool rule (deterministic): with `tools` present and `tool_choice` not `"none"`, and the last message not
a `tool` result, the model calls
- the named function, for `tool_choice: {"type": "function", ...}`;
- the tools *mentioned* in the last user message, for `"auto"` (the default) and `"required"`; a tool is
  mentioned when its name, or a part of its name of 4+ letters split at `_`/`-` (other than get, set,
  list, fetch...), appears as a word: `get_weather` is mentioned by "What's the weather in Paris?";
- for `"required"` with nothing mentioned: the first tool.
Only the first of them when `parallel_tool_calls` is false. Otherwise it answers text (`content.reply_for`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from byokgate.emulators import content
from byokgate.emulators.profile import ChatAnswer, Exchange, ProviderProfile
from byokgate.emulators.validation import ChatOptions

_COMMON_VERBS = frozenset(
    {"get", "set", "list", "fetch", "make", "create", "find", "tool", "function", "call"}
)
ARGUMENT_FRAGMENTS = 3


def _functions(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [tool["function"] for tool in tools if tool.get("type") == "function"]


def _mentioned(function: dict[str, Any], text: str) -> bool:
    name = str(function.get("name", "")).lower()
    words = set(re.findall(r"\w+", text.lower()))
    if name in words:
        return True
    parts = [part for part in re.split(r"[_\-]", name) if len(part) >= 4 and part not in _COMMON_VERBS]
    return any(part in words for part in parts)


def chosen_tools(options: ChatOptions) -> list[dict[str, Any]]:
    """The functions the model calls for this request (empty: it answers text)."""
    functions = _functions(options.tools)
    choice = options.tool_choice
    if not functions or choice == "none" or options.messages[-1].get("role") == "tool":
        return []
    if isinstance(choice, dict):
        named = (choice.get("function") or {}).get("name")
        return [function for function in functions if function.get("name") == named][:1]
    text = content.last_user_text(options.messages)
    chosen = [function for function in functions if _mentioned(function, text)]
    if not chosen and choice == "required":
        chosen = functions[:1]
    return chosen if options.parallel_tool_calls else chosen[:1]


def answer(options: ChatOptions, profile: ProviderProfile) -> ChatAnswer:
    """Decide the (deterministic) answer: tool calls, or text truncated to the token limit."""
    prompt = content.prompt_tokens(options.messages, options.tools or None)
    functions = chosen_tools(options)
    if functions:
        text = content.last_user_text(options.messages)
        calls = []
        used = 0
        for function in functions:
            arguments = orjson.dumps(content.arguments_for(function.get("parameters"), text)).decode()
            name = str(function["name"])
            used += content.count_tokens(name) + content.count_tokens(arguments)
            calls.append(
                {
                    "id": profile.tool_call_id(),
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            )
        return ChatAnswer(None, calls, "tool_calls", prompt, used, options.n)
    if options.response_schema is not None:  # JSON mode: a deterministic object following the schema
        structured = content.arguments_for(options.response_schema, content.last_user_text(options.messages))
        reply = orjson.dumps(structured).decode()
    else:
        reply = content.reply_for(options.messages)
    finish = "stop"
    if options.max_tokens is not None and content.count_tokens(reply) > options.max_tokens:
        reply = content.truncate_to_tokens(reply, options.max_tokens)
        finish = "length"
    return ChatAnswer(reply, [], finish, prompt, content.count_tokens(reply), options.n)


def _tool_deltas(calls: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for index, call in enumerate(calls):
        head = {"index": index, "id": call["id"], "type": "function"}
        yield {"tool_calls": [{**head, "function": {"name": call["function"]["name"], "arguments": ""}}]}
        for fragment in content.split_evenly(call["function"]["arguments"], ARGUMENT_FRAGMENTS):
            yield {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}


def stream_chunks(exchange: Exchange) -> Iterator[dict[str, Any]]:
    """The chunk objects of a streamed answer, in order (the SSE framing is the engine's)."""
    profile = exchange.profile
    answer_ = exchange.answer
    for index in range(answer_.n):
        choice = profile.stream_choice(exchange, index, profile.first_delta(exchange), None)
        yield profile.chunk(exchange, [choice], "first" if index == 0 else "middle")
        if answer_.tool_calls:
            deltas: Iterator[dict[str, Any]] = _tool_deltas(answer_.tool_calls)
        else:
            deltas = ({"content": piece} for piece in content.stream_pieces(answer_.content or ""))
        for delta in deltas:
            yield profile.chunk(exchange, [profile.stream_choice(exchange, index, delta, None)], "middle")
        finish = profile.stream_choice(exchange, index, {}, answer_.finish_reason)
        yield profile.chunk(exchange, [finish], "finish" if index == answer_.n - 1 else "middle")
    if exchange.include_usage or profile.always_stream_usage:
        yield profile.usage_chunk(exchange)


def is_opening(chunk: Any) -> bool:
    """Whether a stream chunk comes before any content: no choices (Azure's prompt-filter chunk), or only
    role deltas (`{"role": "assistant", "content": ""}`) without a finish reason."""
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    if not choices:
        return True
    for choice in choices:
        if choice.get("finish_reason"):
            return False
        delta = choice.get("delta") or {}
        if any(value for key, value in delta.items() if key != "role"):
            return False
    return True
