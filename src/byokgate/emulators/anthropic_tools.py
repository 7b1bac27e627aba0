"""Validation of `tools`, `tool_choice` and `thinking` for the Anthropic emulator.

Client tools need a `name` matching `^[a-zA-Z0-9_-]{1,128}$` and an `input_schema` of `type: object`;
server tools (`web_search_20250305`, `bash_20250124`, `mcp_toolset`, ...) are checked against their
shapes in `anthropic_server_tools` (the emulator never runs them). Thinking is `enabled` (a budget),
`adaptive`, `between_tools` or `disabled`; `between_tools` is accepted on the models that think and shows
no thinking in the emulated answer (its thinking would come between tool calls, which the emulator does
not make itself). Wording of the `tool_choice`-without-tools, unique-names, forced-tool-with-thinking,
budget and `max_tokens` errors follows real API answers; the rest is reconstructed (unverified).
"""

from __future__ import annotations

import re
from typing import Any

from byokgate.emulators.anthropic_models import ClaudeModel
from byokgate.emulators.anthropic_options import BLOCK_BINDING, DISPLAYS, MIN_BUDGET
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
from byokgate.emulators.anthropic_server_tools import CALLER_TYPES, TOOL_SHAPES
from byokgate.emulators.anthropic_spec import (
    BOOL,
    CACHE_CONTROL,
    OBJECT,
    STR,
    Custom,
    ListOf,
    Lit,
    Null,
    Shape,
    Spec,
    nullable,
    obj,
    tagged,
)

_NAME = re.compile(r"[a-zA-Z0-9_-]{1,128}")
TOOL_TAGS = ("custom", *TOOL_SHAPES)
# The optional keys of a client tool beyond `description`, `input_schema`, `cache_control` and `strict`.
_CUSTOM_OPTIONS: dict[str, Spec] = {
    "defer_loading": BOOL,
    "eager_input_streaming": Null(BOOL),
    "input_examples": ListOf(OBJECT),
    "allowed_callers": ListOf(Lit(CALLER_TYPES)),
}
CUSTOM_TOOL_FIELDS = (
    "type",
    "name",
    "description",
    "input_schema",
    "cache_control",
    "strict",
    *_CUSTOM_OPTIONS,
)
CHOICE_TYPES = ("auto", "any", "tool", "none")
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
    for key, spec in _CUSTOM_OPTIONS.items():
        if key in tool:
            spec.check(tool[key], join(path, key))


def check_tool(item: Any, path: str) -> dict[str, Any]:
    """One tool definition (an item of `tools`, or a `tool_definition` a tool change adds)."""
    tool = as_dict(item, path)
    if tool.get("type") is None:
        _custom_tool(tool, join(path, "custom"))
        return tool
    kind = tag(tool, path, TOOL_TAGS)
    if kind == "custom":
        _custom_tool(tool, join(path, kind))
    else:
        TOOL_SHAPES[kind].check_fields(tool, join(path, kind), ("type",))
    return tool


_CHANGED_TOOL = {
    "tool_reference": obj({"name": STR}),
    "mcp_tool_reference": obj({"name": STR, "server_name": STR}),
    "mcp_toolset_reference": obj({"server_name": STR}),
}


def _definition(value: Any, path: str) -> None:
    check_tool(value, path)


_DEFINITION = Custom(OBJECT, _definition)
# Mid-conversation tool changes (in `system` messages and compaction blocks) and compaction blocks.
TOOL_CHANGE: dict[str, Shape] = {
    "tool_addition": obj(
        {"tool": tagged(**_CHANGED_TOOL, tool_definition=obj({"definition": _DEFINITION}))},
        cache_control=CACHE_CONTROL,
    ),
    "tool_removal": obj({"tool": tagged(**_CHANGED_TOOL)}, cache_control=CACHE_CONTROL),
}


def _summary(value: Any, path: str) -> None:
    if as_str(value, path) == "":
        raise invalid(f"{path}: String should have at least 1 character")


CHANGE_BLOCKS: dict[str, Shape] = {
    "compaction": obj(
        cache_control=CACHE_CONTROL,
        content=Null(Custom(STR, _summary)),  # null: a failed compaction; an empty summary is refused
        **nullable(encrypted_content=STR, signature=STR, tool_changes=ListOf(tagged(**TOOL_CHANGE))),
    ),
    **TOOL_CHANGE,
}


def check_tools(value: Any) -> list[dict[str, Any]]:
    tools = [check_tool(item, join("tools", index)) for index, item in enumerate(as_list(value, "tools"))]
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
    kind = tag(config, "thinking", ("enabled", "adaptive", "disabled", "between_tools"))
    path = join("thinking", kind)
    if kind in ("disabled", "between_tools"):
        fields(config, path, ("type",))
    else:
        allowed = ("type", "display", "block_binding", *(("budget_tokens",) if kind == "enabled" else ()))
        fields(config, path, allowed, ("budget_tokens",) if kind == "enabled" else ())
    if kind == "enabled":
        as_int(config["budget_tokens"], join(path, "budget_tokens"), ge=MIN_BUDGET)
    if config.get("display") is not None:
        one_of(config["display"], join(path, "display"), DISPLAYS)
    Null(BLOCK_BINDING).check(config.get("block_binding"), join(path, "block_binding"))
    if kind == "disabled":
        return None
    if model is not None and model.thinking == "none":
        raise invalid(f"thinking: extended thinking is not supported by {model.id}")
    if model is not None and kind == "adaptive" and model.thinking != "adaptive":
        raise invalid(f"thinking.adaptive: adaptive thinking is not supported by {model.id}")
    return None if kind == "between_tools" else config


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
