"""The seeds' routing rules as one pure function.

1. A native model name (known id, or a provider's name pattern) goes to that provider on the project's own
   key (lane ``byok``); without that key it is a ``model_not_found`` that says which key to add.
2. An OpenRouter-format name ``vendor/model`` goes direct on the project's key when the project holds a key
   of a provider serving it (alias table first, then the vendor prefix: BYOK takes precedence); otherwise
   to the pooled lane (its provider, on the platform's key) with the name unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from byokgate.providers.registry import ProviderRegistry


class Lane(StrEnum):
    BYOK = "byok"
    POOLED = "pooled"


@dataclass(frozen=True, slots=True)
class Route:
    lane: Lane
    provider: str
    upstream_model: str
    requested_model: str


@dataclass(frozen=True, slots=True)
class RoutingError:
    """Why a model cannot be served, worded for the client (an OpenAI ``model_not_found``)."""

    message: str
    code: str = "model_not_found"


_RESOLVED_MAX = 8192  # memoised resolutions (model names come from clients: the memo is bounded)


class RoutingPolicy:
    """The rules over the registry's model catalogs, indexed once: a request's routing is a few dict
    lookups, however many providers there are, and a name seen before is one lookup."""

    def __init__(self, registry: ProviderRegistry, pooled_provider: str | None) -> None:
        self.registry = registry
        self.pooled_provider = pooled_provider  # None: the gateway has no platform key, so no pooled lane
        byok = registry.byok_names
        self._listed: dict[str, str] = {}  # native id -> the first provider listing it
        self._aliases: dict[str, tuple[str, str]] = {}  # OpenRouter name -> (provider, native id)
        self._vendors: dict[str, str] = {}  # OpenRouter vendor slug -> the first provider serving it
        for name in byok:
            catalog = registry[name].catalog
            for model in catalog.models:
                self._listed.setdefault(model, name)
            for alias, native in catalog.aliases.items():
                self._aliases.setdefault(alias, (name, native))
            for vendor in catalog.vendors:
                self._vendors.setdefault(vendor, name)
        self._patterns = [(name, registry[name].catalog) for name in byok if registry[name].catalog.pattern]
        self._resolved: dict[tuple[str, frozenset[str], str], Route | RoutingError] = {}
        self._names: dict[str, str] = {}  # how preferences may spell a provider -> its name

    def native_provider(self, model: str) -> str | None:
        """The BYOK provider whose catalog lists or matches ``model``; exact listings win over patterns."""
        listed = self._listed.get(model)
        if listed is not None:
            return listed
        return next((name for name, catalog in self._patterns if catalog.serves(model)), None)

    def direct_target(self, model: str) -> tuple[str, str] | None:
        """For an OpenRouter-format name: (provider, native id) that could serve it directly."""
        aliased = self._aliases.get(model)
        if aliased is not None:
            return aliased
        vendor, _, rest = model.partition("/")
        name = self._vendors.get(vendor)
        return (name, rest) if name is not None and rest else None

    def resolve(
        self, model: str, project_providers: frozenset[str], billing: str = "byok_then_pooled"
    ) -> Route | RoutingError:
        """``billing`` is the project's policy: ``byok_only`` never takes the pooled lane, ``pooled_only``
        takes it for every OpenRouter-format name, ``byok_then_pooled`` when the project has no key."""
        key = (model, project_providers, billing)
        known = self._resolved.get(key)
        if known is None:
            if len(self._resolved) >= _RESOLVED_MAX:
                self._resolved.clear()
            known = self._resolved[key] = self._resolve(model, project_providers, billing)
        return known

    def _resolve(self, model: str, project_providers: frozenset[str], billing: str) -> Route | RoutingError:
        native = self.native_provider(model)
        if native is not None:
            if native in project_providers:
                upstream = self.registry[native].catalog.native_aliases.get(model, model)
                return Route(Lane.BYOK, native, upstream, model)
            if "/" not in model:
                return RoutingError(self._missing_key_message(model, native, billing != "byok_only"))
        if "/" in model:
            direct = self.direct_target(model)
            if direct is not None and direct[0] in project_providers and billing != "pooled_only":
                return Route(Lane.BYOK, direct[0], direct[1], model)
            if billing == "byok_only":
                holder = self.registry[direct[0]].title if direct is not None else "its provider"
                return RoutingError(
                    f"The model `{model}` would use the pooled lane on platform credits, which the "
                    f"project's billing policy (byok_only) does not allow. Add a key for {holder} to the "
                    "project, or change its policy.",
                    code="pooled_lane_not_allowed",
                )
            if self.pooled_provider is not None:
                return Route(Lane.POOLED, self.pooled_provider, model, model)
            return RoutingError(
                f"The model `{model}` would use the pooled lane, which this gateway has not enabled "
                "(it has no platform key for it). Add the provider's key to your project to "
                "call it directly."
            )
        return RoutingError(
            f"The model `{model}` does not exist or is not known to this gateway. Use a native model name "
            f"(e.g. gpt-4o, claude-3-5-sonnet-20241022, llama-3.3-70b-versatile, gemini-1.5-pro) or an "
            f"OpenRouter-format name such as `openai/gpt-4o`."
        )

    def lanes(self, route: Route, billing: str) -> list[Route]:
        """Every route of ``route``'s name, ``route`` first: an OpenRouter-format name served on the project's
        own key may also go to the pooled lane (when the gateway has one and the billing policy allows);
        used only when a request or route asks for it by provider preferences."""
        name = route.requested_model
        if route.lane is Lane.POOLED or "/" not in name or billing == "byok_only":
            return [route]
        if self.pooled_provider is None or self.pooled_provider == route.provider:
            return [route]
        return [route, Route(Lane.POOLED, self.pooled_provider, name, name)]

    def provider_named(self, name: str) -> str | None:
        """The provider a preference names: by its name, its title, or an OpenRouter vendor slug of it."""
        if not self._names:
            for provider in self.registry:
                adapter = self.registry[provider]
                for spelled in (provider, adapter.title, *adapter.catalog.vendors):
                    self._names.setdefault(spelled.lower().replace(" ", "-"), provider)
        return self._names.get(name.lower().replace(" ", "-"))

    def _missing_key_message(self, model: str, provider: str, pooled_allowed: bool) -> str:
        title = self.registry[provider].title
        vendor = (
            self.registry[provider].catalog.vendors[0]
            if self.registry[provider].catalog.vendors
            else provider
        )
        add = (
            f"The model `{model}` is served by {title}, and this project has no {title} API key. Add one in "
            f"the project settings (provider key '{provider}')"
        )
        if not pooled_allowed:
            return add + "."
        return (
            f"{add}, or use the OpenRouter-format name `{vendor}/{model}` to call it through the pooled lane "
            "on platform credits."
        )
