"""GET /v1/models and /v1/models/{id}: what this project can reach (no upstream call), in OpenAI's shapes,
or in Anthropic's when the client sends ``anthropic-version`` (the Anthropic SDK's ``models.list`` and
``models.retrieve``: ``type``, ``display_name``, ``created_at``, cursor fields)."""

from __future__ import annotations

from typing import Any

from byokgate.errors import InvalidRequestError, NotFoundError
from byokgate.providers.registry import ProviderRegistry

_EPOCH = "1970-01-01T00:00:00Z"  # the catalogs carry no release dates: the same zero as OpenAI's ``created``


def reachable(
    registry: ProviderRegistry, providers: frozenset[str], pooled: str | None
) -> list[tuple[str, str]]:
    """(model id, provider) for every listed model the project can reach, in routing order."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    names = [name for name in registry.byok_names if name in providers]
    if pooled is not None:
        names.append(pooled)
    for name in names:
        for model in registry[name].catalog.models:
            if model not in seen:
                seen.add(model)
                found.append((model, name))
    return found


def models_list(registry: ProviderRegistry, providers: frozenset[str], pooled: str | None) -> dict[str, Any]:
    data = [_openai(model, owner) for model, owner in reachable(registry, providers, pooled)]
    return {"object": "list", "data": data}


def model_entry(
    registry: ProviderRegistry,
    providers: frozenset[str],
    pooled: str | None,
    model_id: str,
    *,
    anthropic: bool,
) -> dict[str, Any]:
    """One model as ``models.retrieve`` reads it; a 404 in the API's words when the project cannot reach
    it."""
    for model, owner in reachable(registry, providers, pooled):
        if model == model_id:
            return _anthropic(model) if anthropic else _openai(model, owner)
    if anthropic:
        raise NotFoundError(f"model: {model_id}", code="not_found_error")
    raise NotFoundError(
        f"The model '{model_id}' does not exist or you do not have access to it.", code="model_not_found"
    )


def anthropic_list(
    registry: ProviderRegistry, providers: frozenset[str], pooled: str | None, query: dict[str, str]
) -> dict[str, Any]:
    """The Anthropic ``models.list`` page: ``limit`` (1-1000, 20 by default), ``after_id`` / ``before_id``."""
    ids = [model for model, _ in reachable(registry, providers, pooled)]
    try:
        limit = int(query.get("limit", "20"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 1000:
        raise InvalidRequestError("limit: Input should be between 1 and 1000", param="limit")
    after, before = query.get("after_id"), query.get("before_id")
    if after:
        ids = ids[ids.index(after) + 1 :] if after in ids else []
    if before:
        ids = ids[: ids.index(before)] if before in ids else []
        page = ids[-limit:]
        more = len(ids) > limit
    else:
        page = ids[:limit]
        more = len(ids) > limit
    return {
        "data": [_anthropic(model) for model in page],
        "has_more": more,
        "first_id": page[0] if page else None,
        "last_id": page[-1] if page else None,
    }


def _openai(model: str, owner: str) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": 0, "owned_by": owner}


def _anthropic(model: str) -> dict[str, Any]:
    return {"type": "model", "id": model, "display_name": model, "created_at": _EPOCH}
