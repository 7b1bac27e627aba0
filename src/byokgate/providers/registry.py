"""The one list of providers, and the configuration an operator can change: base URLs and declared ones.

Adding a provider: its module (or folder) and one line in ``BUILT_IN``. Settings never name a provider: a
base URL is overridden by registry name (``BYOKGATE_<NAME>_BASE_URL``), and an operator declares
OpenAI-compatible endpoints of their own in the config file (``declared.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from byokgate.providers.anthropic import AnthropicProvider
from byokgate.providers.azure import AzureOpenAIProvider
from byokgate.providers.base import ProviderAdapter
from byokgate.providers.cerebras import CerebrasProvider
from byokgate.providers.deepseek import DeepSeekProvider
from byokgate.providers.fireworks import FireworksProvider
from byokgate.providers.gemini import GeminiProvider
from byokgate.providers.groq import GroqProvider
from byokgate.providers.mistral import MistralProvider
from byokgate.providers.openai import OpenAIProvider
from byokgate.providers.openrouter import OpenRouterProvider
from byokgate.providers.perplexity import PerplexityProvider
from byokgate.providers.together import TogetherProvider
from byokgate.providers.xai import XAIProvider

# In routing order: where two providers could serve a name, the first one listed wins.
BUILT_IN: tuple[Callable[[], ProviderAdapter], ...] = (  # one line a provider
    OpenAIProvider,
    AnthropicProvider,
    GroqProvider,
    GeminiProvider,
    OpenRouterProvider,
    MistralProvider,
    DeepSeekProvider,
    XAIProvider,
    TogetherProvider,
    FireworksProvider,
    CerebrasProvider,
    PerplexityProvider,
    AzureOpenAIProvider,
)


class ProviderConfigError(ValueError):
    """A provider misconfigured by the operator: the message names the setting and what is wrong."""


class UnknownProviderError(KeyError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"unknown provider {self.name!r}; expected one of: {', '.join(self.known)}"


class ProviderRegistry(Mapping[str, ProviderAdapter]):
    def __init__(self, adapters: Sequence[ProviderAdapter]) -> None:
        self._adapters: dict[str, ProviderAdapter] = {}
        for adapter in adapters:
            if adapter.name in self._adapters:
                raise ProviderConfigError(f"provider {adapter.name!r} is registered twice")
            self._adapters[adapter.name] = adapter

    def __getitem__(self, name: str) -> ProviderAdapter:
        return self._adapters[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._adapters)

    def __len__(self) -> int:
        return len(self._adapters)

    @property
    def byok_names(self) -> list[str]:
        return [name for name, adapter in self._adapters.items() if adapter.accepts_byok]

    @property
    def pooled_default(self) -> str | None:
        """The first provider able to serve the pooled lane (the lane's provider unless settings name
        another)."""
        return next((name for name, adapter in self._adapters.items() if adapter.pools), None)

    @property
    def price_aliases(self) -> dict[str, str]:
        """Providers priced as another (``priced_as``)."""
        return {name: adapter.priced_as for name, adapter in self._adapters.items() if adapter.priced_as}

    def byok(self, name: str) -> ProviderAdapter:
        """The adapter for a provider a project may store a key for."""
        adapter = self._adapters.get(name)
        if adapter is None or not adapter.accepts_byok:
            raise UnknownProviderError(name, self.byok_names)
        return adapter

    def base_urls(self, overrides: Mapping[str, str]) -> dict[str, str]:
        """Each provider's base URL: the operator's override by registry name, else the adapter's default.
        An override naming no provider, or not an http(s) URL, is a ``ProviderConfigError``."""
        urls = {name: adapter.default_base_url for name, adapter in self._adapters.items()}
        for name, url in overrides.items():
            key = name.lower().replace("_", "-")
            match = next((known for known in self._adapters if known.replace("_", "-") == key), None)
            setting = f"BYOKGATE_{name.upper().replace('-', '_')}_BASE_URL"
            if match is None:
                raise ProviderConfigError(
                    f"{setting}: there is no provider {name.lower()!r}; known: {', '.join(self._adapters)}"
                )
            if not url.startswith(("http://", "https://")):
                raise ProviderConfigError(f"{setting}: must be an http:// or https:// URL")
            urls[match] = url.rstrip("/")
        return urls


def default_registry(declared: Sequence[ProviderAdapter] = ()) -> ProviderRegistry:
    """The built-in providers, then the operator's declared ones."""
    return ProviderRegistry([make() for make in BUILT_IN] + list(declared))
