"""GET /v1/models and /v1/models/{id}: what this project can reach (no upstream call), in the canonical
(OpenAI) shapes; a door of another format renders ``reachable`` in its own (``doors/messages.py``)."""

from __future__ import annotations

from typing import Any

from byokgate.errors import NotFoundError
from byokgate.providers.registry import ProviderRegistry


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
    data = [_listed(model, owner) for model, owner in reachable(registry, providers, pooled)]
    return {"object": "list", "data": data}


def model_entry(
    registry: ProviderRegistry, providers: frozenset[str], pooled: str | None, model_id: str
) -> dict[str, Any]:
    """One model as ``models.retrieve`` reads it; a 404 when the project cannot reach it."""
    for model, owner in reachable(registry, providers, pooled):
        if model == model_id:
            return _listed(model, owner)
    raise NotFoundError(
        f"The model '{model_id}' does not exist or you do not have access to it.", code="model_not_found"
    )


def _listed(model: str, owner: str) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": 0, "owned_by": owner}
