"""The models the Gemini emulator serves, their `Model` resources and the paged `models.list`.

Field names follow the reference (`name`, `version`, `displayName`, `description`, `inputTokenLimit`,
`outputTokenLimit`, `supportedGenerationMethods`, `temperature`, `maxTemperature`, `topP`, `topK`,
`thinking`); values are illustrative. Page tokens are opaque base64, shaped like the real ones (a proto
string field holding the resource name of the next model); the default page size is 50, the maximum 1000.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from byokgate.emulators.profile import ApiError, ModelInfo

CHAT_METHODS = ("generateContent", "countTokens", "createCachedContent", "batchGenerateContent")
EMBEDDING_METHODS = ("embedContent", "countTextTokens", "countTokens", "asyncBatchEmbedContent")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
# Tokens the real API charges per image (and, here, per other media part).
TOKENS_PER_MEDIA = 258
Thinking = Literal["none", "optional", "always"]


@dataclass(frozen=True, slots=True)
class GeminiModel:
    """One model. `thinking`: `none` (thinkingConfig is rejected), `optional` (thinks unless
    `thinkingBudget: 0`), `always` (budget 0 is rejected). Thinking models sign function calls;
    `signatures` is the Gemini 3 behaviour of requiring those signatures back (and of accepting
    `thinkingLevel`). `budget` is the accepted thinkingBudget range."""

    id: str
    display_name: str
    description: str
    kind: Literal["chat", "embedding"] = "chat"
    input_limit: int = 1_048_576
    output_limit: int = 65_536
    thinking: Thinking = "optional"
    signatures: bool = False
    budget: tuple[int, int] = (0, 24_576)
    dimensions: int = 0
    version: str = "001"
    top_k: int = 64

    @property
    def methods(self) -> tuple[str, ...]:
        return CHAT_METHODS if self.kind == "chat" else EMBEDDING_METHODS

    def info(self) -> ModelInfo:
        return ModelInfo(self.id, 0, "google", self.kind, self.dimensions)


CATALOG: tuple[GeminiModel, ...] = (
    GeminiModel(
        "gemini-2.0-flash",
        "Gemini 2.0 Flash",
        "Gemini 2.0 Flash",
        output_limit=8192,
        thinking="none",
        top_k=40,
    ),
    GeminiModel(
        "gemini-2.0-flash-lite",
        "Gemini 2.0 Flash-Lite",
        "Gemini 2.0 Flash-Lite",
        output_limit=8192,
        thinking="none",
        top_k=40,
    ),
    GeminiModel("gemini-2.5-flash", "Gemini 2.5 Flash", "Stable version of Gemini 2.5 Flash."),
    GeminiModel(
        "gemini-2.5-flash-lite",
        "Gemini 2.5 Flash-Lite",
        "Stable version of Gemini 2.5 Flash-Lite.",
        budget=(512, 24_576),
    ),
    GeminiModel(
        "gemini-2.5-pro",
        "Gemini 2.5 Pro",
        "Stable release of Gemini 2.5 Pro.",
        thinking="always",
        budget=(128, 32_768),
    ),
    GeminiModel(
        "gemini-3-pro-preview",
        "Gemini 3 Pro Preview",
        "Gemini 3 Pro Preview",
        thinking="always",
        signatures=True,
        budget=(128, 32_768),
        version="3-pro-preview-11-2025",
    ),
    GeminiModel(
        "gemini-3-flash-preview",
        "Gemini 3 Flash Preview",
        "Gemini 3 Flash Preview",
        thinking="always",
        signatures=True,
        budget=(128, 32_768),
        version="3-flash-preview-12-2025",
    ),
    GeminiModel(
        "gemini-embedding-001",
        "Gemini Embedding 001",
        "Obtain a distributed representation of a text.",
        kind="embedding",
        input_limit=2048,
        output_limit=1,
        thinking="none",
        dimensions=3072,
    ),
    GeminiModel(
        "text-embedding-004",
        "Text Embedding 004",
        "Obtain a distributed representation of a text.",
        kind="embedding",
        input_limit=2048,
        output_limit=1,
        thinking="none",
        dimensions=768,
        version="004",
    ),
)
MODELS = {model.id: model for model in CATALOG}


def model_object(model: GeminiModel) -> dict[str, Any]:
    """The `Model` resource."""
    body: dict[str, Any] = {
        "name": f"models/{model.id}",
        "version": model.version,
        "displayName": model.display_name,
        "description": model.description,
        "inputTokenLimit": model.input_limit,
        "outputTokenLimit": model.output_limit,
        "supportedGenerationMethods": list(model.methods),
    }
    if model.kind == "chat":
        body.update(temperature=1, topP=0.95, topK=model.top_k, maxTemperature=2)
        if model.thinking != "none":
            body["thinking"] = True
    return body


def _page_token(model_id: str) -> str:
    name = f"models/{model_id}".encode()
    return base64.urlsafe_b64encode(b"\n" + bytes([len(name)]) + name).decode().rstrip("=")


def _token_index(token: str) -> int | None:
    for index, model in enumerate(CATALOG):
        if _page_token(model.id) == token:
            return index
    return None


def invalid_argument(message: str) -> ApiError:
    return ApiError(400, message, type="INVALID_ARGUMENT")


def models_page(query: Mapping[str, str]) -> dict[str, Any]:
    """One page of `GET /models` (`pageSize`, `pageToken`); `nextPageToken` only when more follow."""
    raw_size = query.get("pageSize", "")
    try:
        size = int(raw_size) if raw_size else DEFAULT_PAGE_SIZE
    except ValueError:
        raise invalid_argument(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw_size}\"") from None
    if size < 0:
        raise invalid_argument("* ListModelsRequest.page_size: page_size must not be negative\n")
    size = min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    start = 0
    token = query.get("pageToken", "")
    if token:
        index = _token_index(token)
        if index is None:
            raise invalid_argument("Invalid page token.")
        start = index
    page = CATALOG[start : start + size]
    body: dict[str, Any] = {"models": [model_object(model) for model in page]}
    if start + size < len(CATALOG):
        body["nextPageToken"] = _page_token(CATALOG[start + size].id)
    return body
