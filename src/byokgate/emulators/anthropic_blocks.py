"""Validation of message content blocks (`text`, `image`, `document`, `tool_use`, `tool_result`, ...).

Shapes follow the `anthropic` SDK 2.17 beta param types; extra keys are rejected as the API does. Blocks
of server tools, MCP, compaction, tool changes and fallbacks are checked against the shapes of
`anthropic_server_tools` (the emulator does not act on them). Which blocks a role may carry (`tool_use` /
`thinking` / server-tool blocks only from the assistant, `tool_result` only from the user; `system`
messages text and tool changes) and those messages' wording are unverified reconstructions. Version
`2026-10-21` also rejects `document` blocks directly in assistant messages and `citations` on user text
(the migration guide's rules; message wording unverified).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from byokgate.emulators.anthropic_schema import (
    as_bool,
    as_dict,
    as_list,
    as_str,
    cache_control,
    fields,
    invalid,
    join,
    one_of,
    tag,
)
from byokgate.emulators.anthropic_server_tools import BLOCK_SHAPES, CALLER, CITATION, TOOL_RESULT_SHAPES
from byokgate.emulators.anthropic_spec import BOOL, STR, ListOf, Lit, Null, obj
from byokgate.emulators.anthropic_tools import CHANGE_BLOCKS, TOOL_CHANGE

VERSION_2026 = "2026-10-21"
# Blocks that server tools (and MCP servers) leave in the assistant's turn.
SERVER_BLOCKS = (
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "advisor_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "tool_search_tool_result",
    "mcp_tool_use",
    "mcp_tool_result",
    "container_upload",
)
BLOCK_TAGS = (
    "text",
    "image",
    "document",
    "search_result",
    "thinking",
    "redacted_thinking",
    "tool_use",
    "tool_result",
    *SERVER_BLOCKS,
    *CHANGE_BLOCKS,
    *(kind for kind in BLOCK_SHAPES if kind not in SERVER_BLOCKS),
)  # the order of the SDK's union
TOOL_RESULT_TAGS = ("text", "image", "search_result", "document", *TOOL_RESULT_SHAPES)
SYSTEM_TAGS = ("text", *TOOL_CHANGE)
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_MAGIC = ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"))
_ASSISTANT_ONLY = frozenset({"tool_use", "thinking", "redacted_thinking", *SERVER_BLOCKS})
_CITATIONS = Null(ListOf(CITATION))
_CITATIONS_CONFIG = Null(obj(enabled=BOOL))
_TRANSFORMATIONS = Null(obj(oversized_image=Lit(("downsize", "error"))))


def blocks_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A message's content as blocks (a string is shorthand for one text block)."""
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content or () if isinstance(block, dict)]


def check_text(text: Any, path: str, top: str) -> str:
    """A text value; `top` names the field the API's emptiness errors quote (`messages`, `system`)."""
    value = as_str(text, path)
    if not value:
        raise invalid(f"{top}: text content blocks must be non-empty")
    if not value.strip():
        raise invalid(f"{top}: text content blocks must contain non-whitespace text")
    return value


def _text_block(block: dict[str, Any], path: str, top: str) -> None:
    fields(block, path, ("type", "text", "cache_control", "citations"), ("text",))
    check_text(block["text"], join(path, "text"), top)
    cache_control(block.get("cache_control"), join(path, "cache_control"))
    _CITATIONS.check(block.get("citations"), join(path, "citations"))


def text_blocks(value: Any, path: str, top: str) -> None:
    """A list of text blocks (the `system` prompt, `search_result.content`)."""
    for index, item in enumerate(as_list(value, path)):
        block = as_dict(item, join(path, index))
        kind = tag(block, join(path, index), ("text",))
        _text_block(block, join(join(path, index), kind), top)


def _media_type(data: str) -> str | None:
    try:
        head = base64.b64decode(data[:24] + "=" * (-len(data[:24]) % 4))
    except (binascii.Error, ValueError):
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((media for magic, media in _MAGIC if head.startswith(magic)), None)


def _image_source(source: dict[str, Any], path: str) -> None:
    kind = tag(source, path, ("base64", "url", "file"))
    inner = join(path, kind)
    if kind == "url":
        fields(source, inner, ("type", "url"), ("url",))
        as_str(source["url"], join(inner, "url"))
    elif kind == "file":
        fields(source, inner, ("type", "file_id"), ("file_id",))
        as_str(source["file_id"], join(inner, "file_id"))
    else:
        fields(source, inner, ("type", "media_type", "data"), ("media_type", "data"))
        declared = one_of(source["media_type"], join(inner, "media_type"), IMAGE_TYPES)
        actual = _media_type(as_str(source["data"], join(inner, "data")))
        if actual is None:
            raise invalid(f"{inner}: Could not process image")
        if actual != declared:
            raise invalid(
                f"{inner}: The image was specified using the {declared} media type, but the image appears "
                f"to be a {actual} image"
            )


def _image_block(block: dict[str, Any], path: str) -> None:
    fields(block, path, ("type", "source", "cache_control", "transformations"), ("source",))
    _image_source(as_dict(block["source"], join(path, "source")), join(path, "source"))
    cache_control(block.get("cache_control"), join(path, "cache_control"))
    _TRANSFORMATIONS.check(block.get("transformations"), join(path, "transformations"))


def _document_block(block: dict[str, Any], path: str) -> None:
    allowed = ("type", "source", "cache_control", "citations", "context", "title")
    fields(block, path, allowed, ("source",))
    source_path = join(path, "source")
    source = as_dict(block["source"], source_path)
    kind = tag(source, source_path, ("base64", "text", "content", "url", "file"))
    inner = join(source_path, kind)
    if kind == "base64":
        fields(source, inner, ("type", "media_type", "data"), ("media_type", "data"))
        one_of(source["media_type"], join(inner, "media_type"), ("application/pdf",))
        as_str(source["data"], join(inner, "data"))
    elif kind == "text":
        fields(source, inner, ("type", "media_type", "data"), ("media_type", "data"))
        one_of(source["media_type"], join(inner, "media_type"), ("text/plain",))
        as_str(source["data"], join(inner, "data"))
    elif kind == "content":
        fields(source, inner, ("type", "content"), ("content",))
        if not isinstance(source["content"], str):
            as_list(source["content"], join(inner, "content"))
    else:
        key = "url" if kind == "url" else "file_id"
        fields(source, inner, ("type", key), (key,))
        as_str(source[key], join(inner, key))
    cache_control(block.get("cache_control"), join(path, "cache_control"))
    _CITATIONS_CONFIG.check(block.get("citations"), join(path, "citations"))
    for name in ("context", "title"):
        Null(STR).check(block.get(name), join(path, name))


def _tool_result_block(block: dict[str, Any], path: str, top: str) -> None:
    allowed = ("type", "tool_use_id", "content", "is_error", "cache_control", "toolset_name")
    fields(block, path, allowed, ("tool_use_id",))
    as_str(block["tool_use_id"], join(path, "tool_use_id"))
    if "is_error" in block:
        as_bool(block["is_error"], join(path, "is_error"))
    cache_control(block.get("cache_control"), join(path, "cache_control"))
    Null(STR).check(block.get("toolset_name"), join(path, "toolset_name"))
    content = block.get("content")
    if content is None or isinstance(content, str):
        return
    content_path = join(path, "content")
    for index, item in enumerate(as_list(content, content_path)):
        inner = as_dict(item, join(content_path, index))
        kind = tag(inner, join(content_path, index), TOOL_RESULT_TAGS)
        check_block(inner, join(join(content_path, index), kind), kind, top)


def check_block(block: dict[str, Any], path: str, kind: str, top: str) -> None:
    """One block of a known `kind`; `path` already ends with the tag."""
    if kind == "text":
        _text_block(block, path, top)
    elif kind == "image":
        _image_block(block, path)
    elif kind == "document":
        _document_block(block, path)
    elif kind == "tool_use":
        allowed = ("type", "id", "name", "input", "cache_control", "caller", "toolset_name")
        fields(block, path, allowed, ("id", "name", "input"))
        as_str(block["id"], join(path, "id"))
        as_str(block["name"], join(path, "name"))
        as_dict(block["input"], join(path, "input"))
        cache_control(block.get("cache_control"), join(path, "cache_control"))
        CALLER.check(block.get("caller"), join(path, "caller"))
        Null(STR).check(block.get("toolset_name"), join(path, "toolset_name"))
    elif kind == "tool_result":
        _tool_result_block(block, path, top)
    elif kind == "thinking":
        fields(block, path, ("type", "thinking", "signature"), ("thinking", "signature"))
        as_str(block["thinking"], join(path, "thinking"))
        as_str(block["signature"], join(path, "signature"))
    elif kind == "redacted_thinking":
        fields(block, path, ("type", "data"), ("data",))
        as_str(block["data"], join(path, "data"))
    elif kind == "search_result":
        search_fields = ("type", "source", "title", "content", "cache_control", "citations")
        fields(block, path, search_fields, ("source", "title", "content"))
        as_str(block["source"], join(path, "source"))
        as_str(block["title"], join(path, "title"))
        text_blocks(block["content"], join(path, "content"), top)
        cache_control(block.get("cache_control"), join(path, "cache_control"))
        _CITATIONS_CONFIG.check(block.get("citations"), join(path, "citations"))
    elif kind in BLOCK_SHAPES or kind in CHANGE_BLOCKS:
        (BLOCK_SHAPES.get(kind) or CHANGE_BLOCKS[kind]).check_fields(block, path, ("type",))
    elif kind in TOOL_RESULT_SHAPES:
        TOOL_RESULT_SHAPES[kind].check_fields(block, path, ("type",))


def _has_citations(block: dict[str, Any]) -> bool:
    if block.get("type") == "search_result":
        return any(_has_citations(item) for item in block.get("content") or () if isinstance(item, dict))
    return block.get("type") == "text" and bool(block.get("citations"))


def check_content(content: Any, path: str, role: str, version: str) -> None:
    """A message's `content` (string or blocks) for a `user`, `assistant` or `system` message."""
    if isinstance(content, str):
        check_text(content, path, "messages")
        return
    blocks = as_list(content, path)
    if not blocks:
        raise invalid(f"{path}: List should have at least 1 item after validation, not 0")
    for index, item in enumerate(blocks):
        block_path = join(path, index)
        block = as_dict(item, block_path)
        kind = tag(block, block_path, SYSTEM_TAGS if role == "system" else BLOCK_TAGS)
        check_block(block, join(block_path, kind), kind, "messages")
        if role == "user" and kind in _ASSISTANT_ONLY:
            raise invalid(f"{block_path}: `{kind}` blocks are only allowed in `assistant` messages")
        if role == "assistant" and kind == "tool_result":
            raise invalid(f"{block_path}: `tool_result` blocks are only allowed in `user` messages")
        if version == VERSION_2026 and role == "assistant" and kind == "document":
            raise invalid(f"{block_path}: `document` blocks are not allowed in `assistant` messages")
        if version == VERSION_2026 and role == "user" and _has_citations(block):
            raise invalid(f"{block_path}: `citations` are not allowed on text in `user` messages")
