"""Validation of `tools`, `tool_choice` and `thinking` for the Anthropic emulator.

Client tools need a `name` matching `^[a-zA-Z0-9_-]{1,128}$` and an `input_schema` of `type: object`;
server tools (`web_search_20250305`, `bash_20250124`, ...) are accepted by their dated `type` (the emulator
never runs them). Wording of the `tool_choice`-without-tools, unique-names, forced-tool-with-thinking,
budget and `max_tokens` errors follows real API answers; the rest is reconstructed (unverified).
"""

from __future__ import annotations

import re
from typing import Any

from byokgate.emulators.anthropic_models import ClaudeModel
from byokgate.emulators.anthropic_schema import (
    as_bool,
    as_dict,
    as_int,
    as_list,
    as_str,
    cache_control,
    fields,
    invalid,
    join,
    one_of,
    tag,
)

_NAME = re.compile(r"[a-zA-Z0-9_-]{1,128}")
# Server tool `type` -> its fixed `name` (None: a toolset without one), from the SDK 2.12 tool union.
SERVER_TOOLS: dict[str, str | None] = {
    "bash_20250124": "bash",
    "memory_20250818": "memory",
    "web_fetch_20250910": "web_fetch",
    "web_fetch_20260209": "web_fetch",
    "web_fetch_20260309": "web_fetch",
    "web_fetch_20260318": "web_fetch",
    "web_search_20250305": "web_search",
    "web_search_20260209": "web_search",
    "web_search_20260318": "web_search",
    "text_editor_20250124": "str_replace_editor",
    "text_editor_20250429": "str_replace_based_edit_tool",
    "text_editor_20250728": "str_replace_based_edit_tool",
    "code_execution_20250522": "code_execution",
    "code_execution_20250825": "code_execution",
    "code_execution_20260120": "code_execution",
    "code_execution_20260521": "code_execution",
    "tool_search_tool_bm25_20251119": "tool_search_tool_bm25",
    "tool_search_tool_regex_20251119": "tool_search_tool_regex",
    "browser_toolset_20260801": None,
    "computer_toolset_20260801": None,
}
TOOL_TAGS = ("custom", *SERVER_TOOLS)
CUSTOM_TOOL_FIELDS = (
    "type",
    "name",
    "description",
    "input_schema",
    "cache_control",
    "strict",
    "defer_loading",
    "eager_input_streaming",
    "input_examples",
    "allowed_callers",
)
CHOICE_TYPES = ("auto", "any", "tool", "none")
DISPLAY = ("summarized", "omitted")
MIN_BUDGET = 1024
THINKING_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"


def is_client_tool(tool: dict[str, Any]) -> bool:
    return tool.get("type") in (None, "custom")


def _custom_tool(tool: dict[str, Any], path: str) -> None:
    fields(tool, path, CUSTOM_TOOL_FIELDS, ("name", "input_schema"))
    name = as_str(tool["name"], join(path, "name"))
    if not _NAME.fullmatch(name):
        raise invalid(f"{join(path, 'name')}: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
    if "description" in tool:
        as_str(tool["description"], join(path, "description"))
    schema_path = join(path, "input_schema")
    schema = as_dict(tool["input_schema"], schema_path)
    if "type" not in schema:
        raise invalid(f"{schema_path}.type: Field required")
    one_of(schema["type"], f"{schema_path}.type", ("object",))
    if "strict" in tool:
        as_bool(tool["strict"], join(path, "strict"))
    cache_control(tool.get("cache_control"), join(path, "cache_control"))


def check_tools(value: Any) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    for index, item in enumerate(as_list(value, "tools")):
        path = join("tools", index)
        tool = as_dict(item, path)
        if tool.get("type") is None:
            _custom_tool(tool, join(path, "custom"))
        else:
            kind = tag(tool, path, TOOL_TAGS)
            if kind == "custom":
                _custom_tool(tool, join(path, kind))
            elif SERVER_TOOLS[kind] is not None:
                if "name" not in tool:
                    raise invalid(f"{join(join(path, kind), 'name')}: Field required")
                one_of(tool["name"], join(join(path, kind), "name"), (str(SERVER_TOOLS[kind]),))
            cache_control(tool.get("cache_control"), join(join(path, kind), "cache_control"))
        tools.append(tool)
    names = [tool["name"] for tool in tools if isinstance(tool.get("name"), str)]
    if len(names) != len(set(names)):
        raise invalid("tools: Tool names must be unique.")
    return tools


def check_tool_choice(value: Any, tools: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The tool choice (default `{"type": "auto"}`)."""
    if value is None:
        return {"type": "auto"}
    choice = as_dict(value, "tool_choice")
    kind = tag(choice, "tool_choice", CHOICE_TYPES)
    path = join("tool_choice", kind)
    allowed = {"none": ("type",), "tool": ("type", "name", "disable_parallel_tool_use")}
    fields(
        choice,
        path,
        allowed.get(kind, ("type", "disable_parallel_tool_use")),
        ("name",) if kind == "tool" else (),
    )
    if "disable_parallel_tool_use" in choice:
        as_bool(choice["disable_parallel_tool_use"], join(path, "disable_parallel_tool_use"))
    if kind != "none" and not tools:
        raise invalid("tool_choice may only be specified while providing tools.")
    if kind == "tool":
        name = as_str(choice["name"], join(path, "name"))
        if name not in {tool.get("name") for tool in tools or ()}:
            raise invalid(f"{join(path, 'name')}: Tool '{name}' not found in the provided tools")
    return choice


def check_thinking(value: Any, model: ClaudeModel | None) -> dict[str, Any] | None:
    """The thinking config when thinking is on (`enabled` or `adaptive`), else None."""
    if value is None:
        return None
    config = as_dict(value, "thinking")
    kind = tag(config, "thinking", ("enabled", "adaptive", "disabled"))
    path = join("thinking", kind)
    if kind == "disabled":
        fields(config, path, ("type",))
        return None
    allowed = ("type", "budget_tokens", "display") if kind == "enabled" else ("type", "display")
    fields(config, path, allowed, ("budget_tokens",) if kind == "enabled" else ())
    if kind == "enabled":
        as_int(config["budget_tokens"], join(path, "budget_tokens"), ge=MIN_BUDGET)
    if config.get("display") is not None:
        one_of(config["display"], join(path, "display"), DISPLAY)
    if model is not None and model.thinking == "none":
        raise invalid(f"thinking: extended thinking is not supported by {model.id}")
    if model is not None and kind == "adaptive" and model.thinking != "adaptive":
        raise invalid(f"thinking.adaptive: adaptive thinking is not supported by {model.id}")
    return config


def check_thinking_limits(
    thinking: dict[str, Any], choice: dict[str, Any], max_tokens: int | None, sampling: dict[str, Any]
) -> None:
    """Rules that tie thinking to the other parameters."""
    if choice.get("type") in ("any", "tool"):
        raise invalid("Thinking may not be enabled when tool_choice forces tool use.")
    budget = thinking.get("budget_tokens")
    if isinstance(budget, int) and max_tokens is not None and max_tokens <= budget:
        raise invalid(
            "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation "
            f"at {THINKING_DOCS}#max-tokens-and-context-window-size"
        )
    temperature = sampling.get("temperature")
    if temperature is not None and temperature != 1:
        raise invalid(
            "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation "
            f"at {THINKING_DOCS}#feature-compatibility"
        )
    if sampling.get("top_k") is not None:
        raise invalid(
            "`top_k` must be unset when thinking is enabled. Please consult our documentation at "
            f"{THINKING_DOCS}#feature-compatibility"
        )
