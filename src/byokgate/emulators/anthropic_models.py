"""The Claude model catalog of the Anthropic emulator: ids, aliases, limits, features, `GET /v1/models`.

Model ids are those of the `anthropic` SDK 2.12 `ModelParam` enum plus older snapshots. Display names,
release dates and limits are plausible, not verified. Lifecycles follow the SDK's deprecation table as of
2026-11, with one deliberate departure: the Claude 3.x / 4.0 snapshots that had passed their retirement date
are listed as `deprecated` with an overdue `retires_at` (a state the SDK documents) so that requests naming
them still answer; the `retired` models answer 404 to inference, like the real API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from byokgate.emulators.profile import ApiError

Lifecycle = Literal["active", "deprecated", "retired"]
Thinking = Literal["none", "enabled", "adaptive"]  # adaptive models take `enabled` and `adaptive`
LIFECYCLES: tuple[Lifecycle, ...] = ("active", "deprecated", "retired")
DEFAULT_PAGE = 20
MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class ClaudeModel:
    """One model: `prefill` = accepts a final assistant message; `system_messages` = accepts `system`-role
    messages inside `messages`; `sampling` = accepts non-default `temperature` / `top_p` / `top_k`
    (2023-06-01 only)."""

    id: str
    display_name: str
    created_at: str
    line: str | None
    max_tokens: int
    max_input_tokens: int = 200_000
    lifecycle: Lifecycle = "active"
    deprecated_at: str | None = None
    retires_at: str | None = None
    aliases: tuple[str, ...] = ()
    thinking: Thinking = "enabled"
    prefill: bool = True
    system_messages: bool = False
    sampling: bool = True


def _new(model_id: str, name: str, created: str, line: str, max_tokens: int = 128_000) -> ClaudeModel:
    """A current-generation model: 1M context, adaptive thinking, no prefill, default sampling only."""
    return ClaudeModel(
        model_id,
        name,
        created,
        line,
        max_tokens,
        1_000_000,
        thinking="adaptive",
        prefill=False,
        system_messages=True,
        sampling=False,
    )


def _old(
    model_id: str,
    name: str,
    created: str,
    line: str,
    max_tokens: int,
    *,
    deprecated: tuple[str, str] | None = None,
    aliases: tuple[str, ...] = (),
    thinking: Thinking = "enabled",
) -> ClaudeModel:
    lifecycle: Lifecycle = "deprecated" if deprecated else "active"
    deprecated_at, retires_at = deprecated or (None, None)
    return ClaudeModel(
        model_id,
        name,
        created,
        line,
        max_tokens,
        lifecycle=lifecycle,
        deprecated_at=deprecated_at,
        retires_at=retires_at,
        aliases=aliases,
        thinking=thinking,
    )


def _retired(model_id: str, name: str, created: str, line: str | None, retired: str) -> ClaudeModel:
    return ClaudeModel(
        model_id,
        name,
        created,
        line,
        4096,
        lifecycle="retired",
        deprecated_at=retired,
        retires_at=retired,
        thinking="none",
    )


# Newest first: the order of `GET /v1/models`.
CATALOG: tuple[ClaudeModel, ...] = (
    _new("claude-opus-5-5", "Claude Opus 5.5", "2026-10-21T00:00:00Z", "opus"),
    _new("claude-fable-5-2", "Claude Fable 5.2", "2026-09-15T00:00:00Z", "fable"),
    _new("claude-mythos-5-2", "Claude Mythos 5.2", "2026-09-15T00:00:00Z", "mythos"),
    _new("claude-sonnet-5-5", "Claude Sonnet 5.5", "2026-06-30T00:00:00Z", "sonnet"),
    _new("claude-haiku-5-5", "Claude Haiku 5.5", "2026-06-30T00:00:00Z", "haiku", 64_000),
    _new("claude-fable-5-1", "Claude Fable 5.1", "2026-05-12T00:00:00Z", "fable"),
    _new("claude-mythos-5-1", "Claude Mythos 5.1", "2026-05-12T00:00:00Z", "mythos"),
    _new("claude-opus-5", "Claude Opus 5", "2026-04-01T00:00:00Z", "opus"),
    _new("claude-sonnet-5", "Claude Sonnet 5", "2026-04-01T00:00:00Z", "sonnet"),
    _new("claude-fable-5", "Claude Fable 5", "2026-03-10T00:00:00Z", "fable"),
    _new("claude-mythos-5", "Claude Mythos 5", "2026-03-10T00:00:00Z", "mythos"),
    _new("claude-opus-4-8", "Claude Opus 4.8", "2026-02-24T00:00:00Z", "opus"),
    ClaudeModel(
        "claude-opus-4-7",
        "Claude Opus 4.7",
        "2026-01-20T00:00:00Z",
        "opus",
        128_000,
        1_000_000,
        thinking="adaptive",
        prefill=False,
        sampling=False,
    ),
    ClaudeModel(
        "claude-opus-4-6",
        "Claude Opus 4.6",
        "2025-12-16T00:00:00Z",
        "opus",
        128_000,
        1_000_000,
        thinking="adaptive",
        prefill=False,
    ),
    ClaudeModel(
        "claude-sonnet-4-6",
        "Claude Sonnet 4.6",
        "2025-12-16T00:00:00Z",
        "sonnet",
        64_000,
        1_000_000,
        thinking="adaptive",
        prefill=False,
    ),
    _old(
        "claude-opus-4-5-20251101",
        "Claude Opus 4.5",
        "2025-11-01T00:00:00Z",
        "opus",
        64_000,
        aliases=("claude-opus-4-5",),
    ),
    _old(
        "claude-haiku-4-5-20251001",
        "Claude Haiku 4.5",
        "2025-10-01T00:00:00Z",
        "haiku",
        64_000,
        aliases=("claude-haiku-4-5",),
    ),
    _old(
        "claude-sonnet-4-5-20250929",
        "Claude Sonnet 4.5",
        "2025-09-29T00:00:00Z",
        "sonnet",
        64_000,
        deprecated=("2026-08-01T00:00:00Z", "2026-11-30T00:00:00Z"),
        aliases=("claude-sonnet-4-5",),
    ),
    _old(
        "claude-opus-4-1-20250805",
        "Claude Opus 4.1",
        "2025-08-05T00:00:00Z",
        "opus",
        32_000,
        aliases=("claude-opus-4-1",),
    ),
    _old(
        "claude-opus-4-20250514",
        "Claude Opus 4",
        "2025-05-22T00:00:00Z",
        "opus",
        32_000,
        deprecated=("2026-01-15T00:00:00Z", "2026-06-15T00:00:00Z"),
        aliases=("claude-opus-4-0",),
    ),
    _old(
        "claude-sonnet-4-20250514",
        "Claude Sonnet 4",
        "2025-05-22T00:00:00Z",
        "sonnet",
        64_000,
        deprecated=("2026-01-15T00:00:00Z", "2026-06-15T00:00:00Z"),
        aliases=("claude-sonnet-4-0",),
    ),
    _old(
        "claude-3-7-sonnet-20250219",
        "Claude Sonnet 3.7",
        "2025-02-24T00:00:00Z",
        "sonnet",
        64_000,
        deprecated=("2025-10-28T00:00:00Z", "2026-02-19T00:00:00Z"),
        aliases=("claude-3-7-sonnet-latest",),
    ),
    _old(
        "claude-3-5-haiku-20241022",
        "Claude Haiku 3.5",
        "2024-10-22T00:00:00Z",
        "haiku",
        8192,
        deprecated=("2025-10-28T00:00:00Z", "2026-02-19T00:00:00Z"),
        aliases=("claude-3-5-haiku-latest",),
        thinking="none",
    ),
    _old(
        "claude-3-5-sonnet-20241022",
        "Claude Sonnet 3.5 (New)",
        "2024-10-22T00:00:00Z",
        "sonnet",
        8192,
        deprecated=("2025-08-13T00:00:00Z", "2025-10-22T00:00:00Z"),
        aliases=("claude-3-5-sonnet-latest",),
        thinking="none",
    ),
    _old(
        "claude-3-haiku-20240307",
        "Claude Haiku 3",
        "2024-03-07T00:00:00Z",
        "haiku",
        4096,
        deprecated=("2025-10-07T00:00:00Z", "2026-04-20T00:00:00Z"),
        thinking="none",
    ),
    _old(
        "claude-3-opus-20240229",
        "Claude Opus 3",
        "2024-02-29T00:00:00Z",
        "opus",
        4096,
        deprecated=("2025-06-30T00:00:00Z", "2026-01-05T00:00:00Z"),
        aliases=("claude-3-opus-latest",),
        thinking="none",
    ),
    _retired(
        "claude-mythos-preview",
        "Claude Mythos Preview",
        "2025-11-18T00:00:00Z",
        "mythos",
        "2026-06-30T00:00:00Z",
    ),
    _retired(
        "claude-3-sonnet-20240229",
        "Claude Sonnet 3",
        "2024-02-29T00:00:00Z",
        "sonnet",
        "2025-07-21T00:00:00Z",
    ),
    _retired("claude-2.1", "Claude 2.1", "2023-11-21T00:00:00Z", None, "2025-07-21T00:00:00Z"),
    _retired("claude-2.0", "Claude 2.0", "2023-07-11T00:00:00Z", None, "2025-07-21T00:00:00Z"),
    _retired(
        "claude-instant-1.2", "Claude Instant 1.2", "2023-08-09T00:00:00Z", None, "2024-11-06T00:00:00Z"
    ),
)
_BY_ID: dict[str, ClaudeModel] = {name: model for model in CATALOG for name in (model.id, *model.aliases)}


def resolve(model_id: str) -> ClaudeModel | None:
    """The model an id or alias names (retired ones included), or None."""
    return _BY_ID.get(model_id)


def not_found(model_id: str) -> ApiError:
    return ApiError(404, f"model: {model_id}", type="not_found_error")


def model_object(model: ClaudeModel) -> dict[str, Any]:
    """A `ModelInfo` as the 2026 API renders it."""
    return {
        "type": "model",
        "id": model.id,
        "display_name": model.display_name,
        "created_at": model.created_at,
        "lifecycle": model.lifecycle,
        "deprecated_at": model.deprecated_at,
        "retires_at": model.retires_at,
        "line": model.line,
        "max_input_tokens": model.max_input_tokens,
        "max_tokens": model.max_tokens,
    }


def _limit(values: Sequence[str]) -> int:
    if not values:
        return DEFAULT_PAGE
    try:
        limit = int(values[-1])
    except ValueError:
        raise ApiError(400, "limit: Input should be a valid integer") from None
    if limit < 1:
        raise ApiError(400, "limit: Input should be greater than or equal to 1")
    if limit > MAX_PAGE:
        raise ApiError(400, f"limit: Input should be less than or equal to {MAX_PAGE}")
    return limit


def _lifecycles(query: Mapping[str, Sequence[str]]) -> set[str]:
    values = [*query.get("lifecycle[]", ()), *query.get("lifecycle", ())]
    for value in values:
        if value not in LIFECYCLES:
            raise ApiError(400, "lifecycle: Input should be 'active', 'deprecated' or 'retired'")
    return set(values) or {"active", "deprecated"}


def models_page(query: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """`GET /v1/models`: newest first, `limit` (1-1000, default 20), `after_id` / `before_id` cursors (an
    unknown cursor gives an empty page, unverified), `lifecycle` filter (default: active and deprecated)."""
    limit = _limit(query.get("limit", ()))
    wanted = _lifecycles(query)
    models = [model for model in CATALOG if model.lifecycle in wanted]
    ids = [model.id for model in models]
    after, before = query.get("after_id", ()), query.get("before_id", ())
    if after and before:
        raise ApiError(400, "Only one of `before_id` and `after_id` may be given.")
    if before:
        end = ids.index(before[-1]) if before[-1] in ids else 0
        start = max(0, end - limit)
        page, has_more = models[start:end], start > 0
    else:
        start = (ids.index(after[-1]) + 1 if after[-1] in ids else len(ids)) if after else 0
        page, has_more = models[start : start + limit], start + limit < len(models)
    return {
        "data": [model_object(model) for model in page],
        "has_more": has_more,
        "first_id": page[0].id if page else None,
        "last_id": page[-1].id if page else None,
    }
