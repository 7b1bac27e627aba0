"""GET /v1/models: what this project can reach, in OpenAI's list shape (no upstream call)."""

from __future__ import annotations

from typing import Any

from byokgate.providers.registry import ProviderRegistry


def models_list(registry: ProviderRegistry, providers: frozenset[str], pooled: str | None) -> dict[str, Any]:
    data: list[dict[str, Any]] = []
    seen: set[str] = set()
    for name in registry.byok_names:
        if name not in providers:
            continue
        catalog = registry[name].catalog
        for model in catalog.models:
            if model not in seen:
                seen.add(model)
                data.append({"id": model, "object": "model", "created": 0, "owned_by": name})
    if pooled is not None:
        for model in registry[pooled].catalog.models:
            if model not in seen:
                seen.add(model)
                data.append({"id": model, "object": "model", "created": 0, "owned_by": pooled})
    return {"object": "list", "data": data}
