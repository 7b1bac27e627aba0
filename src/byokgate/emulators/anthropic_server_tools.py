"""Server tools for the Anthropic emulator: their definitions in `tools` and the blocks they leave in a
conversation, as shapes (`anthropic_spec`) transcribed from the `anthropic` SDK 2.17 beta param types.

The emulator never runs a server tool (it answers as if the model chose not to call one), so these are
only checked: `tools.N.<type>` must be one of `TOOL_SHAPES` with exactly its keys (a server tool's fixed
`name`, e.g. `web_search`, is required), and `server_tool_use`, `web_search_tool_result`, `mcp_tool_use`,
... blocks passed back in `messages` must have their documented keys. Blocks may be sent back as the API
returned them, so the response-only keys of those blocks (`caller: null`, a citation's `file_id`, ...) are
accepted too. Cross-references the API may check (an `mcp_toolset` naming a server of `mcp_servers`, a
`tool_reference` naming a declared tool, a `web_fetch` `url_sources` list naming tools of the request)
are not checked (unverified).
"""

from __future__ import annotations

from byokgate.emulators.anthropic_spec import (
    ANY,
    BOOL,
    CACHE_CONTROL,
    COUNT,
    INT,
    OBJECT,
    STR,
    STRS,
    ListOf,
    Lit,
    MapOf,
    Null,
    Shape,
    Spec,
    either,
    nullable,
    obj,
    tagged,
)

CALLER_TYPES = ("direct", "code_execution_20250825", "code_execution_20260120", "code_execution_20260521")
_COMMON: dict[str, Spec] = {
    "allowed_callers": ListOf(Lit(CALLER_TYPES)),
    "cache_control": CACHE_CONTROL,
    "defer_loading": BOOL,
    "strict": BOOL,
}
_EXAMPLES: dict[str, Spec] = {"input_examples": ListOf(OBJECT)}
_DOMAINS = nullable(allowed_domains=STRS, blocked_domains=STRS, max_uses=COUNT)
_USER_LOCATION = tagged(
    approximate=obj(**nullable(city=STR, country=STR, region=STR, timezone=STR)),
)
_CITATIONS_CONFIG = obj(enabled=BOOL)
_TOOL_NAMES = ListOf(obj({"name": STR, "type": Lit(("tool_reference",))}))
_URL_SOURCE = tagged(
    all=obj(), none=obj(), only=obj({"tools": _TOOL_NAMES}), **{"except": obj({"tools": _TOOL_NAMES})}
)
_URL_SOURCES = obj(
    client_tool_results=_URL_SOURCE,
    server_tool_results=_URL_SOURCE,
    user_input=tagged(all=obj(), none=obj()),
)
_TOGGLE = obj(**nullable(defer_loading=BOOL, enabled=BOOL))


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


BROWSER_ACTIONS = _words(
    "close_tab double_click file_upload find form_input get_page_text hold_key hover javascript_exec key "
    "left_click left_click_drag left_mouse_down left_mouse_up list_tabs middle_click mouse_move navigate "
    "new_tab read_console read_network read_page right_click screenshot scroll scroll_to switch_tab "
    "triple_click type wait zoom"
)
COMPUTER_ACTIONS = _words(
    "cursor_position double_click hold_key key left_click left_click_drag left_mouse_down left_mouse_up "
    "middle_click mouse_move right_click screenshot scroll triple_click type wait zoom"
)


def _server(name: str, extra: dict[str, Spec] | None = None, /, **optional: Spec) -> Shape:
    """A server tool with a fixed `name`, the common keys and `optional` ones (`extra`: more required)."""
    return obj({"name": Lit((name,)), **(extra or {})}, **_COMMON, **optional)


def _toolset(actions: tuple[str, ...]) -> Shape:
    return obj(
        cache_control=CACHE_CONTROL, configs=Null(obj(**{action: Null(_TOGGLE) for action in actions}))
    )


_SCREEN: dict[str, Spec] = {"display_height_px": COUNT, "display_width_px": COUNT}
_SEARCH = {**_DOMAINS, "user_location": Null(_USER_LOCATION)}
_FETCH = {
    **_DOMAINS,
    **nullable(citations=_CITATIONS_CONFIG, max_content_tokens=COUNT, url_sources=_URL_SOURCES),
}
_INCLUSION: dict[str, Spec] = {"response_inclusion": Lit(("full", "excluded"))}
_MCP_TOOL = obj({"input_schema": OBJECT, "name": STR}, description=Null(STR))

# `type` -> the tool's shape (its `name` is fixed where it has one).
TOOL_SHAPES: dict[str, Shape] = {
    "bash_20241022": _server("bash", **_EXAMPLES),
    "bash_20250124": _server("bash", **_EXAMPLES),
    "code_execution_20250522": _server("code_execution"),
    "code_execution_20250825": _server("code_execution"),
    "code_execution_20260120": _server("code_execution"),
    "code_execution_20260521": _server("code_execution"),
    "browser_toolset_20260801": _toolset(BROWSER_ACTIONS),
    "computer_20241022": _server("computer", _SCREEN, display_number=Null(INT), **_EXAMPLES),
    "computer_20250124": _server("computer", _SCREEN, display_number=Null(INT), **_EXAMPLES),
    "computer_20251124": _server(
        "computer", _SCREEN, display_number=Null(INT), enable_zoom=BOOL, **_EXAMPLES
    ),
    "computer_toolset_20260801": _toolset(COMPUTER_ACTIONS),
    "memory_20250818": _server("memory", **_EXAMPLES),
    "text_editor_20241022": _server("str_replace_editor", **_EXAMPLES),
    "text_editor_20250124": _server("str_replace_editor", **_EXAMPLES),
    "text_editor_20250429": _server("str_replace_based_edit_tool", **_EXAMPLES),
    "text_editor_20250728": _server("str_replace_based_edit_tool", max_characters=Null(COUNT), **_EXAMPLES),
    "web_search_20250305": _server("web_search", **_SEARCH),
    "web_search_20260209": _server("web_search", **_SEARCH),
    "web_search_20260318": _server("web_search", **_SEARCH, **_INCLUSION),
    "web_fetch_20250910": _server("web_fetch", **_FETCH),
    "web_fetch_20260209": _server("web_fetch", **_FETCH),
    "web_fetch_20260309": _server("web_fetch", **_FETCH, use_cache=BOOL),
    "web_fetch_20260318": _server("web_fetch", **_FETCH, use_cache=BOOL, **_INCLUSION),
    "advisor_20260301": _server(
        "advisor",
        {"model": STR},
        caching=CACHE_CONTROL,
        **nullable(max_tokens=COUNT, max_uses=COUNT),
    ),
    "tool_search_tool_bm25_20251119": _server("tool_search_tool_bm25"),
    "tool_search_tool_bm25": _server("tool_search_tool_bm25"),
    "tool_search_tool_regex_20251119": _server("tool_search_tool_regex"),
    "tool_search_tool_regex": _server("tool_search_tool_regex"),
    "mcp_toolset": obj(
        {"mcp_server_name": STR},
        cache_control=CACHE_CONTROL,
        configs=Null(MapOf(obj(defer_loading=BOOL, enabled=BOOL))),
        default_config=obj(defer_loading=BOOL, enabled=BOOL),
        tools=Null(ListOf(_MCP_TOOL)),
    ),
}

# Blocks ------------------------------------------------------------------------------------------------

SERVER_TOOL_NAMES = (
    "advisor",
    "web_search",
    "web_fetch",
    "code_execution",
    "bash_code_execution",
    "text_editor_code_execution",
    "tool_search_tool_regex",
    "tool_search_tool_bm25",
)
CALLER = Null(
    tagged(
        direct=obj(),
        code_execution_20250825=obj({"tool_id": STR}),
        code_execution_20260120=obj({"tool_id": STR}),
    )
)
_LOCATED = {"cited_text": STR, "document_index": COUNT}
_LOCATION = nullable(document_title=STR, file_id=STR)
CITATION = tagged(
    char_location=obj({**_LOCATED, "start_char_index": COUNT, "end_char_index": COUNT}, **_LOCATION),
    page_location=obj({**_LOCATED, "start_page_number": COUNT, "end_page_number": COUNT}, **_LOCATION),
    content_block_location=obj(
        {**_LOCATED, "start_block_index": COUNT, "end_block_index": COUNT}, **_LOCATION
    ),
    web_search_result_location=obj({"cited_text": STR, "encrypted_index": STR, "url": STR}, title=Null(STR)),
    search_result_location=obj(
        {
            "cited_text": STR,
            "search_result_index": COUNT,
            "source": STR,
            "start_block_index": COUNT,
            "end_block_index": COUNT,
        },
        title=Null(STR),
    ),
)
TEXT = obj({"text": STR}, cache_control=CACHE_CONTROL, citations=Null(ListOf(CITATION)))
_TEXTS = either(STR, ListOf(tagged(text=TEXT)))
_RESULT: dict[str, Spec] = {"tool_use_id": STR}


def _errors(kind: str, codes: str, **optional: Spec) -> dict[str, Shape]:
    """The error member of a result's content union: `{type: <kind>, error_code: one of codes}`."""
    return {kind: obj({"error_code": Lit(_words(codes))}, **optional)}


_COMMON_ERRORS = "invalid_tool_input unavailable too_many_requests execution_time_exceeded"
_OUTPUTS = ListOf(obj({"file_id": STR, "type": Lit(("code_execution_output",))}))
_BASH_OUTPUTS = ListOf(obj({"file_id": STR, "type": Lit(("bash_code_execution_output",))}))
_DOCUMENT_SOURCE = tagged(
    base64=obj({"data": STR, "media_type": Lit(("application/pdf",))}),
    text=obj({"data": STR, "media_type": Lit(("text/plain",))}),
    content=obj({"content": either(STR, ListOf(OBJECT))}),
    url=obj({"url": STR}),
    file=obj({"file_id": STR}),
)
_FETCHED_DOCUMENT = tagged(
    document=obj(
        {"source": _DOCUMENT_SOURCE},
        cache_control=CACHE_CONTROL,
        **nullable(citations=_CITATIONS_CONFIG, context=STR, title=STR),
    )
)
_TOOL_REFERENCE = obj({"tool_name": STR}, cache_control=CACHE_CONTROL)
_FALLBACK_MODEL = obj({"model": STR})

# `type` -> the shape of a block the emulator accepts in `messages` but does not act on.
BLOCK_SHAPES: dict[str, Shape] = {
    "server_tool_use": obj(
        {"id": STR, "input": OBJECT, "name": Lit(SERVER_TOOL_NAMES)},
        cache_control=CACHE_CONTROL,
        caller=CALLER,
    ),
    "web_search_tool_result": obj(
        {
            **_RESULT,
            "content": either(
                ListOf(
                    tagged(
                        web_search_result=obj(
                            {"encrypted_content": STR, "title": STR, "url": STR}, page_age=Null(STR)
                        )
                    )
                ),
                tagged(
                    **_errors(
                        "web_search_tool_result_error",
                        "invalid_tool_input unavailable max_uses_exceeded too_many_requests "
                        "query_too_long request_too_large",
                    )
                ),
            ),
        },
        cache_control=CACHE_CONTROL,
        caller=CALLER,
    ),
    "web_fetch_tool_result": obj(
        {
            **_RESULT,
            "content": tagged(
                **_errors(
                    "web_fetch_tool_result_error",
                    "invalid_tool_input url_too_long url_not_allowed url_not_in_prior_context "
                    "url_not_accessible unsupported_content_type too_many_requests max_uses_exceeded "
                    "unavailable content_too_large",
                ),
                web_fetch_result=obj({"content": _FETCHED_DOCUMENT, "url": STR}, retrieved_at=Null(STR)),
            ),
        },
        cache_control=CACHE_CONTROL,
        caller=CALLER,
    ),
    "advisor_tool_result": obj(
        {
            **_RESULT,
            "content": tagged(
                **_errors(
                    "advisor_tool_result_error",
                    "max_uses_exceeded prompt_too_long too_many_requests overloaded unavailable "
                    "execution_time_exceeded model_not_found",
                ),
                advisor_result=obj({"text": STR}, stop_reason=Null(STR)),
                advisor_redacted_result=obj({"encrypted_content": STR}, stop_reason=Null(STR)),
            ),
        },
        cache_control=CACHE_CONTROL,
    ),
    "code_execution_tool_result": obj(
        {
            **_RESULT,
            "content": tagged(
                **_errors("code_execution_tool_result_error", _COMMON_ERRORS),
                code_execution_result=obj(
                    {"content": _OUTPUTS, "return_code": INT, "stderr": STR, "stdout": STR}
                ),
                encrypted_code_execution_result=obj(
                    {"content": _OUTPUTS, "encrypted_stdout": STR, "return_code": INT, "stderr": STR}
                ),
            ),
        },
        cache_control=CACHE_CONTROL,
    ),
    "bash_code_execution_tool_result": obj(
        {
            **_RESULT,
            "content": tagged(
                **_errors("bash_code_execution_tool_result_error", _COMMON_ERRORS + " output_file_too_large"),
                bash_code_execution_result=obj(
                    {"content": _BASH_OUTPUTS, "return_code": INT, "stderr": STR, "stdout": STR}
                ),
            ),
        },
        cache_control=CACHE_CONTROL,
    ),
    "text_editor_code_execution_tool_result": obj(
        {
            **_RESULT,
            "content": tagged(
                **_errors(
                    "text_editor_code_execution_tool_result_error",
                    _COMMON_ERRORS + " file_not_found",
                    error_message=Null(STR),
                ),
                text_editor_code_execution_view_result=obj(
                    {"content": STR, "file_type": Lit(("text", "image", "pdf"))},
                    **nullable(num_lines=INT, start_line=INT, total_lines=INT),
                ),
                text_editor_code_execution_create_result=obj({"is_file_update": BOOL}),
                text_editor_code_execution_str_replace_result=obj(
                    **nullable(lines=STRS, new_lines=INT, new_start=INT, old_lines=INT, old_start=INT)
                ),
            ),
        },
        cache_control=CACHE_CONTROL,
    ),
    "tool_search_tool_result": obj(
        {
            **_RESULT,
            "content": tagged(
                **_errors("tool_search_tool_result_error", _COMMON_ERRORS, error_message=Null(STR)),
                tool_search_tool_search_result=obj(
                    {"tool_references": ListOf(tagged(tool_reference=_TOOL_REFERENCE))}
                ),
            ),
        },
        cache_control=CACHE_CONTROL,
    ),
    "mcp_tool_use": obj(
        {"id": STR, "input": OBJECT, "name": STR, "server_name": STR}, cache_control=CACHE_CONTROL
    ),
    "mcp_tool_result": obj(_RESULT, cache_control=CACHE_CONTROL, content=_TEXTS, is_error=BOOL),
    "container_upload": obj({"file_id": STR}, cache_control=CACHE_CONTROL),
    "mcp_tool_listing": obj({"mcp_server_name": STR, "tools": ListOf(_MCP_TOOL)}),
    "fallback": obj({"from": _FALLBACK_MODEL, "to": _FALLBACK_MODEL}, trigger=ANY),
}
TOOL_RESULT_SHAPES: dict[str, Shape] = {
    "tool_reference": _TOOL_REFERENCE,
    "browser_state": obj(
        {"tabs": ListOf(obj({"tab_id": STR, "title": STR, "url": STR}, active=BOOL))},
        cache_control=CACHE_CONTROL,
        state_changes=Null(
            ListOf(
                tagged(
                    tab_opened=obj({"tab_id": STR}),
                    download_started=obj({"download_id": STR, "url": STR}),
                    download_completed=obj(
                        {"download_id": STR, "url": STR}, **nullable(path=STR, size_bytes=COUNT)
                    ),
                    download_failed=obj({"download_id": STR, "url": STR}, error=Null(STR)),
                )
            )
        ),
    ),
}
