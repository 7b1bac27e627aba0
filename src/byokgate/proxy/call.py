"""The contract between a front door and the executor: a parsed request (``Call``) and its door (``Door``).

A front door parses its inbound format into a ``Call`` once; the executor runs it, attempt after attempt,
without knowing the format: it asks the adapter whether it serves the door's API natively (then the body
goes upstream as it is) and otherwise sends the canonical (OpenAI chat) form of the request, and it hands
answers, streams and stream errors back to the door to render in its format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from starlette.types import Send

from byokgate.domain.stream import EventStream
from byokgate.domain.upstream import NativeCall
from byokgate.errors import ApiError, InvalidRequestError
from byokgate.proxy.continuation import Transcript
from byokgate.routing.policy import Route
from byokgate.routing.preferences import (
    PreferenceError,
    ProviderPreferences,
    fallback_models,
    provider_preferences,
)

if TYPE_CHECKING:
    from byokgate.proxy.cached import Replay
    from byokgate.proxy.exchange import Exchange
    from byokgate.proxy.semantic import CacheTicket


class Operation(StrEnum):
    CHAT = "chat"
    EMBEDDINGS = "embeddings"
    COUNT_TOKENS = "count_tokens"  # served natively only; holds nothing, has no usage, never cached


class Door(Protocol):
    """A front door: the wire format it speaks, and how it renders what the executor got."""

    api: str  # its format's name; an adapter listing it in ``native_apis`` gets the body untranslated

    def canonical(self, body: dict[str, Any]) -> dict[str, Any]:
        """The request as a canonical chat-completions body (raises ``TranslationError``)."""
        ...

    def answer(self, completion: Any, raw: bytes, route: Route) -> bytes:
        """A canonical answer (parsed, None when it is not JSON, and as received) in the door's format
        (raises ``UpstreamFormatError`` when it cannot be read)."""
        ...

    def events(self, inner: EventStream, route: Route) -> EventStream:
        """A canonical stream re-expressed as the door's events."""
        ...

    def error_event(self, message: str) -> bytes:
        """The event that ends a broken stream, in the door's format."""
        ...

    def transcript(self) -> Transcript | None:
        """A reader of the answer's text from its events, when a broken stream of the door's format can
        be carried on by a fallback (``continuation.py``); None when it cannot."""
        ...

    async def send_error(self, send: Send, error: ApiError, exchange: Exchange) -> None:
        """An error answer in the door's format."""
        ...


@dataclass(slots=True)
class Call:
    """One parsed request, as the executor runs it (the same for every attempt)."""

    door: Door
    operation: Operation
    model: str  # as the client asked for it
    body: dict[str, Any]  # in the door's format
    body_size: int
    headers: list[tuple[bytes, bytes]]  # the client's (cache controls read them)
    stream: bool = False
    include_usage: bool = False  # the canonical stream must carry its usage chunk
    cost_in_stream: bool = False  # the client is sent that chunk, with the cost spliced in
    withheld_usage: bool = False  # the gateway asked for the usage chunk, the client did not
    native: NativeCall | None = None  # what a native pass-through needs beyond the body
    cache_scope: str = ""  # what else separates its cache entries (the endpoint, API versions)
    replay: Replay | None = None  # how its answers are stored and replayed (None: never cached)
    ticket: CacheTicket | None = None  # set once the cache was consulted
    fallbacks: tuple[str, ...] = ()  # the request's ``models``: tried in order after ``model``
    preferences: ProviderPreferences | None = None  # the request's ``provider`` options
    _canonical: dict[str, Any] | None = field(default=None, repr=False)

    def canonical(self) -> dict[str, Any]:
        """The canonical body, translated once (a native pass-through never asks for it)."""
        if self._canonical is None:
            self._canonical = self.door.canonical(self.body)
        return self._canonical


# Model names as providers spell them: letters, digits and . _ - : / @ + (e.g. "openai/gpt-4o:free",
# "claude-3-5-sonnet@20240620"); anything else (control characters, spaces, quotes) is refused up front.
_MODEL_NAME = re.compile(r"[A-Za-z0-9._:/@+-]{1,256}")


def check_model_name(model: str) -> None:
    if not _MODEL_NAME.fullmatch(model):
        raise InvalidRequestError(
            "'model' must be a model name (letters, digits and . _ - : / @ +, at most 256 characters)",
            param="model",
            code="invalid_model",
        )


def routing_options(body: dict[str, Any], model: str) -> tuple[tuple[str, ...], ProviderPreferences | None]:
    """Take the request's own routing options (OpenRouter's ``models`` and ``provider``) out of its body:
    the gateway acts on them, no provider is sent them."""
    try:
        fallbacks = fallback_models(body.pop("models", None), model)
        preferences = provider_preferences(body.pop("provider", None))
    except PreferenceError as exc:
        raise InvalidRequestError(exc.message, param=exc.param, code="invalid_routing_option") from None
    return fallbacks, preferences
