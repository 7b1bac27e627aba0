"""The input items of OpenAI's Responses API: checked, given ids, and read as chat messages.

A request's `input` (a string is one user message) is checked item by item as the real API checks it
(unknown fields `input[0].foo` are a 400 `unknown_parameter`; roles and content part types are enums).
Checked items take the shape the API lists them in (`GET /v1/responses/{id}/input_items`): each with an
`id` (`msg_`, `fc_`, `fco_`, `rs_` + 48 hex digits, or the one sent) and a `status`.

`to_messages` reads items as chat-completions messages so that `chat.answer` decides the answer exactly as
for the chat endpoint: messages keep their role, `function_call` items become an assistant message's
`tool_calls` (consecutive calls share one message), `function_call_output` items `tool` messages; reasoning
and hosted-tool items are left out. `check_tool_pairs` is the real API's rule that every function call of
the conversation has its output and every output its call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from byokgate.emulators.openai_responses_checks import check_fields
from byokgate.emulators.profile import ApiError
from byokgate.emulators.validation import empty_array, invalid_type, invalid_value, missing

ROLES = ("user", "assistant", "system", "developer")
INPUT_PARTS = ("input_text", "input_image", "input_file")
OUTPUT_PARTS = ("output_text", "refusal")
PART_FIELDS = {
    "input_text": frozenset({"type", "text", "prompt_cache_breakpoint"}),
    "input_image": frozenset({"type", "image_url", "file_id", "detail", "prompt_cache_breakpoint"}),
    "input_file": frozenset(
        {"type", "file_id", "file_data", "file_url", "filename", "detail", "prompt_cache_breakpoint"}
    ),
    "output_text": frozenset({"type", "text", "annotations", "logprobs"}),
    "refusal": frozenset({"type", "refusal"}),
}
ITEM_FIELDS = {
    "message": frozenset({"type", "role", "content", "status", "id", "phase"}),
    "function_call": frozenset(
        {"type", "id", "call_id", "name", "arguments", "status", "namespace", "caller"}
    ),
    "function_call_output": frozenset(
        {"type", "id", "call_id", "output", "status", "caller", "name", "namespace"}
    ),
    "reasoning": frozenset({"type", "id", "summary", "content", "encrypted_content", "status"}),
    "item_reference": frozenset({"type", "id"}),
}
# Item types of hosted tools and other features: accepted as they are, left out of the chat reading.
OTHER_ITEMS = (
    "file_search_call",
    "computer_call",
    "computer_call_output",
    "web_search_call",
    "tool_search_call",
    "tool_search_output",
    "additional_tools",
    "compaction",
    "compaction_trigger",
    "image_generation_call",
    "code_interpreter_call",
    "local_shell_call",
    "local_shell_call_output",
    "shell_call",
    "shell_call_output",
    "apply_patch_call",
    "apply_patch_call_output",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
    "mcp_call",
    "custom_tool_call",
    "custom_tool_call_output",
    "program",
    "program_output",
)
ITEM_TYPES = (*ITEM_FIELDS, *OTHER_ITEMS)
ID_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "reasoning": "rs"}
Resolver = Callable[[str], dict[str, Any] | None]


def new_id(prefix: str) -> str:
    """An OpenAI-style object id: the prefix, `_`, 48 hex digits."""
    return f"{prefix}_{os.urandom(24).hex()}"


def _text_field(value: Any, param: str) -> str:
    if value is None:
        raise missing(param)
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    return value


def _part(part: Any, param: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(part, dict):
        raise invalid_type(param, "an object", part)
    kind = part.get("type")
    if kind is None:
        raise missing(f"{param}.type")
    if kind not in allowed:
        raise invalid_value(f"{param}.type", kind, allowed)
    check_fields(part, PART_FIELDS[kind], param)
    if kind in ("input_text", "output_text"):
        shown = {"type": kind, "text": _text_field(part.get("text"), f"{param}.text")}
        if kind == "output_text":
            shown["annotations"] = part.get("annotations") or []
            shown["logprobs"] = part.get("logprobs") or []
        return shown
    if kind == "refusal":
        return {"type": kind, "refusal": _text_field(part.get("refusal"), f"{param}.refusal")}
    if kind == "input_image":
        if part.get("image_url") is None and part.get("file_id") is None:
            raise missing(f"{param}.image_url")
        detail = part.get("detail") or "auto"
        if detail not in ("low", "high", "auto", "original"):
            raise invalid_value(f"{param}.detail", detail, ("low", "high", "auto", "original"))
        return {**part, "detail": detail}
    return dict(part)


def _message(item: dict[str, Any], param: str) -> dict[str, Any]:
    role = item.get("role")
    if role is None:
        raise missing(f"{param}.role")
    if role not in ROLES:
        raise invalid_value(f"{param}.role", role, ROLES)
    content = item.get("content")
    if content is None:
        raise missing(f"{param}.content")
    assistant = role == "assistant"
    if isinstance(content, str):
        part = (
            {"type": "output_text", "text": content} if assistant else {"type": "input_text", "text": content}
        )
        parts = [_part(part, f"{param}.content", OUTPUT_PARTS if assistant else INPUT_PARTS)]
    elif isinstance(content, list):
        if not content:
            raise empty_array(f"{param}.content")
        allowed = OUTPUT_PARTS if assistant else INPUT_PARTS
        parts = [_part(part, f"{param}.content[{index}]", allowed) for index, part in enumerate(content)]
    else:
        raise invalid_type(f"{param}.content", "one of a string or an array of input items", content)
    shown: dict[str, Any] = {"id": item.get("id") or new_id("msg"), "type": "message"}
    status = item.get("status") or "completed"
    return {**shown, "status": status, "content": parts, "role": role}


def _function_call(item: dict[str, Any], param: str) -> dict[str, Any]:
    call_id = _text_field(item.get("call_id"), f"{param}.call_id")
    name = _text_field(item.get("name"), f"{param}.name")
    arguments = _text_field(item.get("arguments"), f"{param}.arguments")
    shown = {"id": item.get("id") or new_id("fc"), "type": "function_call", "status": "completed"}
    return {**shown, "arguments": arguments, "call_id": call_id, "name": name}


def _function_output(item: dict[str, Any], param: str) -> dict[str, Any]:
    call_id = _text_field(item.get("call_id"), f"{param}.call_id")
    output = item.get("output")
    if output is None:
        raise missing(f"{param}.output")
    if isinstance(output, list):
        output = [_part(part, f"{param}.output[{index}]", INPUT_PARTS) for index, part in enumerate(output)]
    elif not isinstance(output, str):
        raise invalid_type(f"{param}.output", "one of a string or an array of objects", output)
    shown = {"id": item.get("id") or new_id("fco"), "type": "function_call_output", "status": "completed"}
    return {**shown, "call_id": call_id, "output": output}


def _reasoning(item: dict[str, Any], param: str) -> dict[str, Any]:
    summary = item.get("summary")
    if summary is None:
        raise missing(f"{param}.summary")
    if not isinstance(summary, list):
        raise invalid_type(f"{param}.summary", "an array", summary)
    return {**item, "id": item.get("id") or new_id("rs")}


def check_item(item: Any, index: int, resolve: Resolver) -> dict[str, Any]:
    """One input item checked, as the API lists it (`resolve` finds the item an `item_reference` names)."""
    param = f"input[{index}]"
    if not isinstance(item, dict):
        raise invalid_type(param, "an object", item)
    kind = item.get("type")
    if kind is None:  # an item without a type is a message when it has a role, else an item reference
        kind = "message" if "role" in item else "item_reference"
    if kind not in ITEM_TYPES:
        raise invalid_value(f"{param}.type", kind, ITEM_TYPES)
    if kind in OTHER_ITEMS:
        return {**item, "id": item.get("id") or new_id(kind.split("_")[0])}
    check_fields(item, ITEM_FIELDS[kind], param)
    if kind == "message":
        return _message(item, param)
    if kind == "function_call":
        return _function_call(item, param)
    if kind == "function_call_output":
        return _function_output(item, param)
    if kind == "reasoning":
        return _reasoning(item, param)
    reference = _text_field(item.get("id"), f"{param}.id")
    found = resolve(reference)
    if found is None:  # (unverified) wording
        raise ApiError(404, f"Item with id '{reference}' not found.", param="input")
    return found


def check_items(items: Iterable[Any], resolve: Resolver) -> list[dict[str, Any]]:
    return [check_item(item, index, resolve) for index, item in enumerate(items)]


def check_tool_pairs(items: Iterable[dict[str, Any]]) -> None:
    """Every `function_call_output` answers an earlier `function_call`, and every call has its output."""
    answered: dict[str, bool] = {}
    for item in items:
        if item["type"] == "function_call":
            answered[item["call_id"]] = False
        elif item["type"] == "function_call_output":
            call_id = item["call_id"]
            if call_id not in answered:
                text = f"No tool call found for function call output with call_id {call_id}."
                raise ApiError(400, text, param="input")
            answered[call_id] = True
    for call_id, done in answered.items():
        if not done:
            raise ApiError(400, f"No tool output found for function call {call_id}.", param="input")


def _chat_parts(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Input content parts as chat content parts (text, and images that count 85 prompt tokens)."""
    converted: list[dict[str, Any]] = []
    for part in parts:
        if part["type"] in ("input_text", "output_text"):
            converted.append({"type": "text", "text": part["text"]})
        elif part["type"] == "input_image":
            url = part.get("image_url") or part.get("file_id") or ""
            converted.append({"type": "image_url", "image_url": {"url": url}})
        elif part["type"] == "refusal":
            converted.append({"type": "text", "text": part["refusal"]})
    return converted


def output_text(output: Any) -> str:
    """The text of a function call output: the string, or its text parts joined by newlines."""
    if isinstance(output, str):
        return output
    return "\n".join(part["text"] for part in output if part.get("type") == "input_text")


def to_messages(items: Iterable[dict[str, Any]], instructions: str | None) -> list[dict[str, Any]]:
    """The conversation as chat messages (see the module docstring); never empty."""
    messages: list[dict[str, Any]] = []
    if instructions:
        messages.append({"role": "developer", "content": instructions})
    for item in items:
        kind = item["type"]
        if kind == "message":
            role = item["role"]
            parts = _chat_parts(item["content"])
            if role == "assistant":
                messages.append({"role": role, "content": "".join(part["text"] for part in parts)})
            else:
                messages.append({"role": role, "content": parts})
        elif kind == "function_call":
            call = {
                "id": item["call_id"],
                "type": "function",
                "function": {"name": item["name"], "arguments": item["arguments"]},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and last.get("tool_calls"):
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append(
                {"role": "tool", "tool_call_id": item["call_id"], "content": output_text(item["output"])}
            )
    if not any(message["role"] in ("user", "tool") for message in messages):
        messages.append({"role": "user", "content": ""})  # e.g. instructions alone: an empty question
    return messages
