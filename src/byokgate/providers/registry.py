"""The one list of providers. Adding a provider: its module, one line here."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from byokgate.providers.anthropic import AnthropicProvider
from byokgate.providers.base import ProviderAdapter
from byokgate.providers.gemini import GeminiProvider
from byokgate.providers.groq import GroqProvider
from byokgate.providers.openai import OpenAIProvider
from byokgate.providers.openrouter import OpenRouterProvider


class UnknownProviderError(KeyError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"unknown provider {self.name!r}; expected one of: {', '.join(self.known)}"


class ProviderRegistry(Mapping[str, ProviderAdapter]):
    def __init__(self, adapters: list[ProviderAdapter]) -> None:
        self._adapters = {adapter.name: adapter for adapter in adapters}

    def __getitem__(self, name: str) -> ProviderAdapter:
        return self._adapters[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._adapters)

    def __len__(self) -> int:
        return len(self._adapters)

    @property
    def byok_names(self) -> list[str]:
        return [name for name, adapter in self._adapters.items() if adapter.accepts_byok]

    def byok(self, name: str) -> ProviderAdapter:
        """The adapter for a provider a project may store a key for."""
        adapter = self._adapters.get(name)
        if adapter is None or not adapter.accepts_byok:
            raise UnknownProviderError(name, self.byok_names)
        return adapter


def default_registry() -> ProviderRegistry:
    return ProviderRegistry(
        [OpenAIProvider(), AnthropicProvider(), GroqProvider(), GeminiProvider(), OpenRouterProvider()]
    )
