"""OpenAI embeddings <-> Gemini ``batchEmbedContents``. Pure.

Gateway choices: every input goes through ``batchEmbedContents`` (as the Gemini SDK does, even for one);
``dimensions`` becomes ``outputDimensionality``; token-array inputs are refused (Gemini embeds text);
``encoding_format: base64`` is honoured by packing the floats as little-endian float32. Gemini reports no
token usage for embeddings, so ``usage`` is an estimate of one token per four characters, never zero for
non-empty input.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from byokgate.domain.stream import TranslationError


def inputs_of(payload: dict[str, Any]) -> list[str]:
    raw = payload.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts or not all(isinstance(text, str) for text in texts):
        raise TranslationError(
            "Gemini embeddings take a string or an array of strings as input",
            param="input",
            code="invalid_input",
        )
    return texts


def to_batch_request(payload: dict[str, Any]) -> dict[str, Any]:
    model = f"models/{payload['model']}"
    dimensions = payload.get("dimensions")
    requests = []
    for text in inputs_of(payload):
        request: dict[str, Any] = {"model": model, "content": {"parts": [{"text": text}]}}
        if dimensions is not None:
            request["outputDimensionality"] = dimensions
        requests.append(request)
    return {"requests": requests}


def to_embeddings_list(response: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    as_base64 = payload.get("encoding_format") == "base64"
    data = []
    for index, embedding in enumerate(response.get("embeddings") or ()):
        values = [float(value) for value in (embedding.get("values") or ())]
        vector: Any = (
            base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode() if as_base64 else values
        )
        data.append({"object": "embedding", "index": index, "embedding": vector})
    estimate = sum(max(1, (len(text) + 3) // 4) for text in inputs_of(payload))
    return {
        "object": "list",
        "data": data,
        "model": payload["model"],
        "usage": {"prompt_tokens": estimate, "total_tokens": estimate},
    }
