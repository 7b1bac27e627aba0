"""What the emulated Claude answers: content blocks, stop reason and output tokens, all deterministic.

Tool rule: the OpenAI emulators' (`chat.chosen_tools`), with `tool_choice` mapped `auto` -> `auto`,
`any` -> `required`, `tool` -> the named function, `none` -> `none`, and `disable_parallel_tool_use` ->
`parallel_tool_calls: false`; only client tools are ever called. When tools are chosen the answer is one
`tool_use` block per tool (no text), `input` from `content.arguments_for(input_schema, last user text)`,
stop reason `tool_use`. When the last message is a user turn holding `tool_result` blocks, the answer is
text quoting the results (`content.tool_results_text`); otherwise `content.reply_for(messages)`.

With a structured-output schema (`output_config.format`) the text is instead
`content.arguments_for(schema, last user text)` as compact JSON (like the OpenAI emulators' JSON mode).

With thinking on (`enabled` or `adaptive`) a `thinking` block (see `thinking_text`; empty when
`display: omitted`) with a deterministic `signature` comes first; its tokens count toward `max_tokens` and
`output_tokens`. Text stops at the earliest `stop_sequences` match (not included; stop reason
`stop_sequence`) unless `max_tokens` cuts it first (stop reason `max_tokens`); else `end_turn`. Tool calls
are not cut by `max_tokens` (as in the OpenAI emulators), except that `max_tokens: 0` answers nothing.
`refused` is the answer a refusal cuts short (stop reason `refusal`, `REFUSAL_DETAILS`).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from byokgate.emulators import chat, content
from byokgate.emulators.anthropic_blocks import blocks_of
from byokgate.emulators.anthropic_tools import is_client_tool
from byokgate.emulators.anthropic_validation import MessagesRequest
from byokgate.emulators.validation import ChatOptions

_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
# What the streaming classifiers' refusal carries (the docs' example; one of the SDK's categories).
REFUSAL_DETAILS = {
    "type": "refusal",
    "category": "cyber",
    "explanation": "This request was declined because it could enable cyber harm.",
}


@dataclass(slots=True)
class Answer:
    """The content blocks as the response carries them, and how generation ended."""

    blocks: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int
    thinking_tokens: int = 0


def tool_results(messages: list[dict[str, Any]]) -> list[str]:
    """The texts of the `tool_result` blocks of the last message, when it is a user turn holding any."""
    last = messages[-1]
    if last["role"] != "user":
        return []
    return [
        content.content_text(block.get("content")) if block.get("content") is not None else ""
        for block in blocks_of(last)
        if block.get("type") == "tool_result"
    ]


def chosen_tools(request: MessagesRequest) -> list[dict[str, Any]]:
    """The client tools the model calls (empty: it answers text)."""
    tools = [tool for tool in request.tools if is_client_tool(tool)]
    if not tools or tool_results(request.messages):
        return []
    choice = request.tool_choice
    kind = choice.get("type", "auto")
    mapped: Any = _CHOICES.get(kind) or {"type": "function", "function": {"name": choice.get("name")}}
    options = ChatOptions(
        model=request.model.id,
        messages=request.messages,
        tools=[{"type": "function", "function": {"name": tool["name"]}} for tool in tools],
        tool_choice=mapped,
        parallel_tool_calls=not choice.get("disable_parallel_tool_use", False),
    )
    names = [function["name"] for function in chat.chosen_tools(options)]
    by_name = {tool["name"]: tool for tool in tools}
    return [by_name[name] for name in names]


def thinking_text(user_text: str) -> str:
    """The thinking the model shows: `The user said: "<its first 12 words>". I will answer clearly and
    briefly.`"""
    quoted = " ".join(user_text.split()[:12]) or "(nothing)"
    return f'The user said: "{quoted}". I will answer clearly and briefly.'


def signature(model_id: str, thinking: str) -> str:
    """A deterministic stand-in for the opaque thinking signature (base64, like the real ones)."""
    digest = hashlib.sha256(f"{model_id}\n{thinking}".encode()).digest()
    return base64.b64encode(b"\x12\x08emulator" + digest + hashlib.sha256(digest).digest()).decode()


def _stop_match(text: str, sequences: list[str]) -> tuple[int, str] | None:
    found = [(text.find(sequence), sequence) for sequence in sequences if sequence in text]
    return min(found, key=lambda item: item[0]) if found else None


def _text_answer(request: MessagesRequest, budget: int) -> tuple[str, str, str | None]:
    """(text, stop reason, stop sequence) within `budget` tokens."""
    results = tool_results(request.messages)
    if request.output_schema is not None:
        arguments = content.arguments_for(request.output_schema, content.last_user_text(request.messages))
        reply = orjson.dumps(arguments).decode()
    elif results:
        reply = content.tool_results_text([{"role": "tool", "content": text} for text in results])
    else:
        reply = content.reply_for(request.messages)
    match = _stop_match(reply, request.stop_sequences)
    if match is not None and content.count_tokens(reply[: match[0]]) <= budget:
        return reply[: match[0]], "stop_sequence", match[1]
    if content.count_tokens(reply) > budget:
        return content.truncate_to_tokens(reply, budget), "max_tokens", None
    return reply, "end_turn", None


def decide(request: MessagesRequest, tool_id: Callable[[], str]) -> Answer:
    """The answer to a validated request; `tool_id` makes `toolu_...` ids."""
    if request.max_tokens == 0:
        return Answer([], "max_tokens", None, 0)
    blocks: list[dict[str, Any]] = []
    user_text = content.last_user_text(request.messages)
    thinking_tokens = 0
    if request.thinking is not None:
        thought = thinking_text(user_text)
        thought = content.truncate_to_tokens(thought, request.max_tokens)
        thinking_tokens = content.count_tokens(thought)
        shown = "" if request.thinking.get("display") == "omitted" else thought
        blocks.append(
            {"type": "thinking", "thinking": shown, "signature": signature(request.model.id, thought)}
        )
    budget = request.max_tokens - thinking_tokens
    tools = chosen_tools(request)
    if tools:
        used = thinking_tokens
        for tool in tools:
            arguments = content.arguments_for(tool.get("input_schema"), user_text)
            used += content.count_tokens(tool["name"]) + content.count_tokens(
                orjson.dumps(arguments).decode()
            )
            blocks.append(
                {
                    "type": "tool_use",
                    "id": tool_id(),
                    "name": tool["name"],
                    "input": arguments,
                    "caller": {"type": "direct"},
                }
            )
        return Answer(blocks, "tool_use", None, used, thinking_tokens)
    if budget <= 0:
        return Answer(blocks, "max_tokens", None, thinking_tokens, thinking_tokens)
    text, stop_reason, stop_sequence = _text_answer(request, budget)
    if text:
        blocks.append({"type": "text", "text": text})
    return Answer(
        blocks, stop_reason, stop_sequence, thinking_tokens + content.count_tokens(text), thinking_tokens
    )


def refused(answer: Answer) -> Answer:
    """`answer` cut short by a refusal (the `content_filter` fault): the thinking, then only the first
    piece of its text, stop reason `refusal` (the API bills what was generated up to the refusal)."""
    blocks = [block for block in answer.blocks if block["type"] == "thinking"]
    text = next((block["text"] for block in answer.blocks if block["type"] == "text"), "")
    pieces = content.stream_pieces(text)
    if pieces:
        blocks.append({"type": "text", "text": pieces[0]})
    tokens = answer.thinking_tokens + (content.count_tokens(pieces[0]) if pieces else 0)
    return Answer(blocks, "refusal", None, tokens, answer.thinking_tokens)
