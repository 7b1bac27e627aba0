"""OpenAI-compatible endpoints an operator declares in the config file: no code, one entry each.

A self-hosted vLLM, Ollama or LM Studio server, or an internal proxy, is declared under ``providers`` in
the TOML file (``[[providers]]``) or ``BYOKGATE_PROVIDERS`` (JSON): its name, base URL, auth header, key
format, model names or pattern, capabilities and optional prices. It then takes project keys and routes
like any built-in provider. A bad declaration is a start-up error naming the field.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from byokgate.providers.base import Auth, Capabilities, ModelCatalog
from byokgate.providers.openai_compat import OpenAICompatible

_HEADER = re.compile(r"[a-z0-9][a-z0-9-]*")


def _regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
    return value


class DeclaredCapabilities(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chat: bool = True
    embeddings: bool = False
    tools: bool = True
    vision: bool = False
    json_mode: bool = False
    stream_usage: bool = True
    prefill: bool = False
    prefill_marker: str | None = Field(default=None, pattern=r"^[a-z_]{1,32}$")
    no_prefill_pattern: str | None = Field(default=None, description="its models that refuse a prefill")

    @field_validator("no_prefill_pattern")
    @classmethod
    def _no_prefill(cls, value: str | None) -> str | None:
        return _regex(value)


class Declaration(BaseModel):
    """One declared provider, as written in the config file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,31}$", description="its registry name")
    title: str | None = Field(default=None, max_length=64)
    base_url: str = Field(description="what OpenAI clients take as base URL, e.g. http://10.0.0.5:8000/v1")
    auth_header: str = "authorization"
    auth_scheme: str = "Bearer "
    key_prefixes: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    model_pattern: str | None = None
    vendors: list[str] = Field(default_factory=list, description="serves vendor/model names directly")
    embedding_models: list[str] = Field(default_factory=list)
    capabilities: DeclaredCapabilities = Field(default_factory=DeclaredCapabilities)
    prices: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="model -> dated periods, as in prices.json"
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("auth_header")
    @classmethod
    def _header(cls, value: str) -> str:
        if not _HEADER.fullmatch(value.lower()):
            raise ValueError("must be an HTTP header name (letters, digits and -)")
        return value.lower()

    @field_validator("model_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        return _regex(value)

    @model_validator(mode="after")
    def _serves_something(self) -> Declaration:
        if not (self.models or self.model_pattern or self.vendors or self.embedding_models):
            raise ValueError(
                "declare the models it serves: models, model_pattern, vendors or embedding_models"
            )
        return self


class DeclaredProvider(OpenAICompatible):
    """The adapter of one declaration: the OpenAI-compatible adapter configured by data."""

    def __init__(self, declaration: Declaration) -> None:
        self.name = declaration.name
        self.title = declaration.title or declaration.name
        self.default_base_url = declaration.base_url
        self.auth = Auth(declaration.auth_header, declaration.auth_scheme)
        self.key_prefixes = tuple(sorted(declaration.key_prefixes, key=len, reverse=True))
        declared = declaration.capabilities.model_dump()
        never = declared.pop("no_prefill_pattern")
        self.capabilities = Capabilities(**declared, no_prefill=re.compile(never) if never else None)
        pattern = declaration.model_pattern
        self.catalog = ModelCatalog(
            models=tuple(declaration.models),
            pattern=re.compile(pattern) if pattern else None,
            vendors=tuple(declaration.vendors),
            embedding_models=tuple(declaration.embedding_models),
        )
        self.prices = {
            f"{declaration.name}/{model}": [_decimals(period) for period in periods]
            for model, periods in declaration.prices.items()
        }


def declared_providers(raw: list[dict[str, Any]]) -> list[DeclaredProvider]:
    """The adapters of the operator's declarations; a bad one raises ``ValueError`` naming the field
    (``providers[0].base_url: ...``)."""
    made = []
    for index, entry in enumerate(raw):
        try:
            made.append(DeclaredProvider(Declaration.model_validate(entry)))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"providers[{index}].{where}: {first['msg']}".replace(".: ", ": ")) from None
    return made


def _decimals(value: Any) -> Any:
    """TOML and JSON give prices as floats; the price catalog takes exact decimals."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _decimals(item) for key, item in value.items()}
    return value
