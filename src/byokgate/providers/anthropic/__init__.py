"""Anthropic: the adapter (``adapter.py``), chat translated both ways (``chat.py``), streams
(``stream.py``)."""

from byokgate.providers.anthropic.adapter import AnthropicProvider

__all__ = ["AnthropicProvider"]
