"""Top-level request options of the Anthropic emulator that it accepts without acting on them, and the
betas that enable body fields.

Shapes from the `anthropic` SDK 2.17 beta `MessageCreateParams`: `context_management` (its three edits),
`container`, `mcp_servers`, `compaction`, `fallbacks`, `fallback_credit_token`, `thread`,
`billing_policy`, `diagnostics`, `output_config` (`effort`, `format`, `task_budget`) and the `thinking`
shapes a `fallbacks` entry repeats. None is emulated: the answer is the one the request would get without
them, except that a request with `context_management` is told no edit applied (`applied_edits: []`, as the
real API answers while no trigger is reached).

Betas: `context_management` and `mcp_servers` are unknown fields (`Extra inputs are not permitted`) unless
`anthropic-beta` names a beta that adds them (`FIELD_BETAS`), which is what the real API answers to
clients whose proxy drops the header (public reports quote that 400). Rules the SDK documents and the
emulator keeps: `compaction` cannot be combined with `context_management`, nor `fallback_credit_token` with
`fallbacks`; the object form of `fallback_credit_token` needs `fallback-credit-2026-07-01` (the bare
string is accepted without it). The other beta-only fields are accepted with or without their beta (what
the real API does there is not established). Messages of those rules are reconstructions (unverified).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from byokgate.emulators.anthropic_schema import invalid
from byokgate.emulators.anthropic_spec import (
    BOOL,
    COUNT,
    OBJECT,
    STR,
    STRS,
    ListOf,
    Lit,
    Null,
    Scalar,
    Spec,
    either,
    nullable,
    obj,
    tagged,
)

# Body field -> the betas that enable it (any one of them).
FIELD_BETAS: dict[str, frozenset[str]] = {
    "context_management": frozenset(
        {"context-management-2025-06-27", "compact-2026-01-12", "compact-2026-09-04"}
    ),
    "mcp_servers": frozenset({"mcp-client-2025-04-04", "mcp-client-2025-11-20", "mcp-client-2026-09-15"}),
}
FALLBACK_CREDIT_BETAS = frozenset({"fallback-credit-2026-06-01", "fallback-credit-2026-07-01"})
EFFORTS = ("low", "medium", "high", "xhigh", "max")
DISPLAYS = ("summarized", "omitted", "updates")
MIN_BUDGET = 1024

OUTPUT_FORMAT = tagged(json_schema=obj({"schema": OBJECT}))
OUTPUT_CONFIG = obj(
    **nullable(
        effort=Lit(EFFORTS),
        format=OUTPUT_FORMAT,
        task_budget=obj({"total": COUNT, "type": Lit(("tokens",))}, remaining=Null(COUNT)),
    )
)
BLOCK_BINDING = obj(prefix_mismatch_behavior=Null(Lit(("error", "drop_block"))))
_SHOWN = nullable(block_binding=BLOCK_BINDING, display=Lit(DISPLAYS))
THINKING = tagged(
    enabled=obj({"budget_tokens": Scalar("int", ge=MIN_BUDGET)}, **_SHOWN),
    adaptive=obj(**_SHOWN),
    disabled=obj(),
    between_tools=obj(),
)

_INPUT_TOKENS = tagged(input_tokens=obj({"value": COUNT}))
CONTEXT_EDIT = tagged(
    clear_tool_uses_20250919=obj(
        keep=tagged(tool_uses=obj({"value": COUNT})),
        trigger=tagged(input_tokens=obj({"value": COUNT}), tool_uses=obj({"value": COUNT})),
        **nullable(
            clear_at_least=_INPUT_TOKENS,
            clear_tool_inputs=either(BOOL, STRS),
            exclude_tools=STRS,
        ),
    ),
    clear_thinking_20251015=obj(
        keep=either(Lit(("all",)), tagged(thinking_turns=obj({"value": COUNT}), all=obj())),
    ),
    compact_20260112=obj(
        pause_after_compaction=BOOL,
        **nullable(instructions=STR, trigger=_INPUT_TOKENS),
    ),
)
_SKILL = obj({"skill_id": STR}, version=STR)
_FALLBACK = obj(
    {"model": STR},
    **nullable(
        max_tokens=COUNT, output_config=OUTPUT_CONFIG, speed=Lit(("standard", "fast")), thinking=THINKING
    ),
)

# Top-level field -> its shape (null is accepted where the SDK types it `Optional`).
OPTIONS: dict[str, Spec] = {
    "context_management": Null(obj(edits=ListOf(CONTEXT_EDIT))),
    "container": Null(
        either(STR, obj(**nullable(id=STR, skills=ListOf(tagged(anthropic=_SKILL, custom=_SKILL)))))
    ),
    "mcp_servers": ListOf(
        obj(
            {"name": STR, "type": Lit(("url",)), "url": STR},
            **nullable(
                authorization_token=STR,
                tool_configuration=obj(**nullable(allowed_tools=STRS, enabled=BOOL)),
            ),
        )
    ),
    "compaction": Null(obj({"type": Lit(("summarize",))}, instructions=Null(STR))),
    "fallbacks": Null(either(Lit(("default",)), ListOf(_FALLBACK))),
    "fallback_credit_token": Null(either(STR, obj({"token": STR}, mode=Lit(("strict", "best_effort"))))),
    "thread": Null(
        tagged(create=obj(), **{"continue": obj({"previous_message_id": STR})}),
    ),
    "billing_policy": Null(obj({"type": Lit(("billing_policy",))}, bill_to=Lit(("self", "user_profile")))),
    "diagnostics": Null(obj(previous_message_id=Null(STR))),
    "output_config": OUTPUT_CONFIG,
    "output_format": Null(OUTPUT_FORMAT),  # the older form of `output_config.format`
}
SYSTEM_MESSAGE_OUTPUT = obj(effort=Null(Lit(EFFORTS)))


def enabled_fields(betas: Collection[str]) -> set[str]:
    """The body fields the request's betas add."""
    return {name for name, names in FIELD_BETAS.items() if names.intersection(betas)}


def check_options(body: dict[str, Any], betas: Collection[str]) -> None:
    """The shapes of the options present (already known to be allowed) and the rules between them."""
    for name, spec in OPTIONS.items():
        if name in body:
            spec.check(body[name], name)
    if body.get("compaction") is not None and body.get("context_management") is not None:
        raise invalid("compaction: cannot be combined with `context_management`")
    token = body.get("fallback_credit_token")
    if token is not None and body.get("fallbacks") is not None:
        raise invalid("fallback_credit_token: cannot be combined with `fallbacks`")
    if isinstance(token, dict) and not FALLBACK_CREDIT_BETAS.intersection(betas):
        raise invalid("fallback_credit_token: Input should be a valid string")
