"""Google Gemini: the adapter (``adapter.py``), chat (``chat.py``), streams (``stream.py``) and embeddings
(``embeddings.py``) translated both ways."""

from byokgate.providers.gemini.adapter import GeminiProvider

__all__ = ["GeminiProvider"]
