"""The `tools` and `tool_choice` of a Responses API request, checked as the real API checks them.

Function tools (`{"type": "function", "name", "description", "parameters", "strict"}`, `strict` true unless
sent false) are echoed in the response's `tools` and read as chat-completions tools for `chat.answer`.
Hosted tools (web search, file search, code interpreter, MCP...) are accepted, checked for the fields
they cannot go without, echoed as sent and never called: the emulated model answers text. `tool_choice`
is echoed (default `"auto"`) and read as the chat endpoint's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from byokgate.emulators.openai_responses_checks import boolean_field, check_fields, enum_field, string_field
from byokgate.emulators.profile import ApiError
from byokgate.emulators.validation import invalid_type, invalid_value, missing

TOOL_CHOICE_MODES = ("none", "auto", "required")
# Built-in (hosted) tool types: accepted, echoed in `tools`, never called by the emulated model.
HOSTED_TOOLS = (
    "file_search",
    "web_search",
    "web_search_preview",
    "web_search_2025_08_26",
    "web_search_preview_2025_03_11",
    "computer",
    "computer_use_preview",
    "code_interpreter",
    "image_generation",
    "local_shell",
    "shell",
    "apply_patch",
    "mcp",
    "custom",
    "namespace",
    "tool_search",
    "programmatic_tool_calling",
)
TOOL_TYPES = ("function", *HOSTED_TOOLS)
# The fields a hosted tool cannot go without (the SDK's `Tool` models).
HOSTED_REQUIRED = {
    "file_search": ("vector_store_ids",),
    "computer_use_preview": ("display_height", "display_width", "environment"),
    "mcp": ("server_label",),
    "code_interpreter": ("container",),
    "custom": ("name",),
    "namespace": ("description", "name", "tools"),
}
# `tool_choice` forcing a hosted tool: these types (the SDK's `ToolChoice` models), with their fields.
HOSTED_CHOICES = {
    "file_search": (),
    "web_search_preview": (),
    "computer": (),
    "computer_use_preview": (),
    "computer_use": (),
    "web_search_preview_2025_03_11": (),
    "image_generation": (),
    "code_interpreter": (),
    "mcp": ("server_label",),
    "custom": ("name",),
    "apply_patch": (),
    "shell": (),
    "programmatic_tool_calling": (),
}
FUNCTION_FIELDS = frozenset(
    {
        "type",
        "name",
        "description",
        "parameters",
        "strict",
        "allowed_callers",
        "async",
        "defer_loading",
        "output_schema",
    }
)


def _function_tool(index: int, tool: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A function tool as the response echoes it, and as `chat.answer` reads it."""
    prefix = f"tools[{index}]"
    check_fields(tool, FUNCTION_FIELDS, prefix)
    name = tool.get("name")
    if name is None:
        raise missing(f"{prefix}.name")
    if not isinstance(name, str):
        raise invalid_type(f"{prefix}.name", "a string", name)
    parameters = tool.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise invalid_type(f"{prefix}.parameters", "an object", parameters)
    description = string_field(tool.get("description"), f"{prefix}.description")
    strict = boolean_field(tool.get("strict"), f"{prefix}.strict", True)
    echoed = {
        "type": "function",
        "description": description,
        "name": name,
        "parameters": parameters,
        "strict": strict,
    }
    # the same tool as a chat request would carry it (so prompt tokens match the chat endpoint's)
    function = {key: tool[key] for key in ("name", "description", "parameters", "strict") if key in tool}
    return echoed, {"type": "function", "function": function}


def check_tools(body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tools = body.get("tools")
    if tools is None:
        return [], []
    if not isinstance(tools, list):
        raise invalid_type("tools", "an array", tools)
    echoed: list[dict[str, Any]] = []
    functions: list[dict[str, Any]] = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise invalid_type(f"tools[{index}]", "an object", tool)
        kind = tool.get("type")
        if kind is None:
            raise missing(f"tools[{index}].type")
        if kind not in TOOL_TYPES:
            raise invalid_value(f"tools[{index}].type", kind, TOOL_TYPES)
        if kind == "function":
            shown, function = _function_tool(index, tool)
            echoed.append(shown)
            functions.append(function)
        else:
            for name in HOSTED_REQUIRED.get(kind, ()):
                if tool.get(name) is None:
                    raise missing(f"tools[{index}].{name}")
            echoed.append(dict(tool))
    return echoed, functions


def check_tool_choice(body: Mapping[str, Any], functions: list[dict[str, Any]]) -> tuple[Any, Any]:
    """`tool_choice` as echoed (default "auto") and as `chat.answer` reads it."""
    choice = body.get("tool_choice")
    if choice is None:
        return "auto", None
    if isinstance(choice, str):
        enum_field(choice, "tool_choice", TOOL_CHOICE_MODES)
        return choice, choice
    if not isinstance(choice, dict):
        raise invalid_type("tool_choice", "one of a string or an object", choice)
    kind = choice.get("type")
    if kind is None:
        raise missing("tool_choice.type")
    if kind == "function":
        check_fields(choice, {"type", "name"}, "tool_choice")
        name = choice.get("name")
        if not isinstance(name, str):
            raise (
                missing("tool_choice.name")
                if name is None
                else invalid_type("tool_choice.name", "a string", name)
            )
        if name not in {function["function"]["name"] for function in functions}:
            # (unverified) the real API's wording for a function that `tools` does not define
            text = "Tool choice 'function' not found in 'tools' parameter."
            raise ApiError(400, text, param="tool_choice")
        return {"type": "function", "name": name}, {"type": "function", "function": {"name": name}}
    if kind == "allowed_tools":
        mode = enum_field(choice.get("mode"), "tool_choice.mode", ("auto", "required")) or "auto"
        allowed = choice.get("tools")
        if not isinstance(allowed, list):
            raise (
                missing("tool_choice.tools")
                if allowed is None
                else invalid_type("tool_choice.tools", "an array", allowed)
            )
        return dict(choice), mode
    if kind in HOSTED_CHOICES:
        for name in HOSTED_CHOICES[kind]:
            if choice.get(name) is None:
                raise missing(f"tool_choice.{name}")
        return dict(choice), "none"  # a hosted tool: the emulated model answers text
    raise invalid_value("tool_choice.type", kind, ("function", "allowed_tools", *HOSTED_CHOICES))
