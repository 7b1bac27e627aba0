"""A local embedder for the semantic cache: WordLlama's static embeddings, whose weights ship in its package.

Chosen with ``BYOKGATE_SEMANTIC_EMBEDDER=local`` (the ``semantic-local`` extra installs ``wordllama``). No
provider key is used and nothing leaves the machine; a short text embeds in well under a millisecond. The
package's loader looks for its tokenizer file in a cache folder (and would download it); this module links
the file the package ships into a folder under the data dir and loads with downloads disabled.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

from byokgate.cache.vectors import normalised
from byokgate.proxy.embedder import EmbeddingError
from byokgate.snapshot.model import KeyEntry, Snapshot

_TOKENIZER = "l2_supercat_tokenizer_config.json"


def available() -> bool:
    return importlib.util.find_spec("wordllama") is not None


class LocalEmbedder:
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._model: Any = None
        self._loading: asyncio.Lock | None = None

    async def embed(
        self, snapshot: Snapshot, key: KeyEntry, model: str | None, text: str, request_id: str
    ) -> bytes:
        """``model`` is ignored: there is one local model. ``snapshot``, ``key`` and ``request_id`` too."""
        wordllama = self._model or await self._load()
        try:
            vectors = wordllama.embed([text])
            return normalised(vectors[0].tolist())
        except Exception as exc:
            raise EmbeddingError(f"local embedding failed: {type(exc).__name__}") from None

    async def _load(self) -> Any:
        if self._loading is None:
            self._loading = asyncio.Lock()
        async with self._loading:  # concurrent first requests load it once, off the event loop
            if self._model is None:
                self._model = await asyncio.to_thread(self.load_model)
        return self._model

    def load_model(self) -> Any:
        try:
            import wordllama
        except ImportError:
            raise EmbeddingError("the local embedder needs the semantic-local extra (wordllama)") from None
        shipped = Path(wordllama.__file__).parent / "tokenizers" / _TOKENIZER
        tokenizers = self._folder / "tokenizers"
        tokenizers.mkdir(parents=True, exist_ok=True)
        linked = tokenizers / _TOKENIZER
        if not linked.exists():
            linked.symlink_to(shipped)
        try:
            return wordllama.WordLlama.load(cache_dir=self._folder, disable_download=True)
        except (OSError, ValueError) as exc:
            raise EmbeddingError(f"the local embedding model did not load: {exc}") from None
