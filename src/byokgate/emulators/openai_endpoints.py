"""OpenAI's further endpoints on the OpenAI-format engine: legacy completions, images, audio and moderations.

Each is switched on by its profile (`has_completions`, `has_images`, `has_speech`, `has_moderations`,
`transcription_rules`), routed by `route`, and answered by its module's handler from a `Call` (the JSON
body, or the `multipart/form-data` form for the file uploads) as a `Reply`, which `send` puts on the wire:
JSON, a plain body (`text`, `srt`, `vtt` transcripts), data-only SSE ended by `data: [DONE]`, or binary
chunks with chunked transfer encoding (speech). The engine does the rest as for chat: key, faults under
the route's endpoint name (`faults.Endpoint`), recorder (the form's fields and each file's name, type and
size, never its bytes), headers, error shapes.

`GET /_files/images/<name>.png` (outside the API's base path, no key, like the real API's signed blob
URLs) serves the picture an images answer in `url` mode points at; the name says how to draw it again, so
nothing is stored.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from byokgate.emulators import asgi, media_image
from byokgate.emulators.faults import AnswerFaults, Fault
from byokgate.emulators.multipart import Form
from byokgate.emulators.profile import ApiError, ProviderProfile

FILES_PREFIX = "/_files/images/"
_FILE_NAME = re.compile(r"img-([0-9a-f]{32})-(\d{1,3})x(\d{1,3})\.png")
MAX_DRAWN = 256  # pixels per side a file URL may ask for
PNG_TYPE = b"image/png"
# The answer to a JSON body on a multipart endpoint, as the real API words it (recalled, unverified).
NOT_MULTIPART = (
    "Invalid Content-Type header ({content_type}), expected multipart/form-data. (HINT: If you're using "
    "curl, you can pass -H 'Content-Type: multipart/form-data')"
)


@dataclass(slots=True)
class Call:
    """One request to one of these endpoints, as its handler sees it."""

    profile: ProviderProfile
    relative: str  # the path below the base path, e.g. /images/edits
    body: dict[str, Any]  # the JSON object (empty for a form)
    form: Form | None  # the multipart form (None for JSON)
    request_id: str
    root_url: str  # scheme://host the request reached, for URLs the emulator serves itself
    fault: Callable[[str], Fault | None] = lambda kind: None


@dataclass(slots=True)
class Reply:
    """What a handler answers (exactly one of `body`, `payload`, `events`, `chunks` is used)."""

    body: Any = None  # JSON
    payload: bytes | None = None  # a plain body of `content_type`
    events: Iterable[dict[str, Any]] | None = None  # data-only SSE events
    chunks: Iterable[bytes] | None = None  # binary, chunked transfer encoding
    content_type: str = "application/json"
    done: bool = True  # an SSE stream ends with `data: [DONE]`
    named: bool = False  # SSE events carry an `event: <type>` line
    opening: Callable[[Any], bool] | None = None  # SSE events sent before `slow_first_token` waits
    tokens: int = 0  # for the rate-limit headers
    generation_id: str | None = None
    extra_headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Route:
    endpoint: str  # the name faults and headers use
    multipart: bool
    handler: Callable[[Call], Reply]
    enabled: Callable[[ProviderProfile], bool]


def _routes() -> dict[str, Route]:
    # deferred: the handler modules import the engine's helpers
    from byokgate.emulators import (
        openai_audio,
        openai_completions,
        openai_images,
        openai_moderations,
        openai_speech,
    )

    def audio(profile: ProviderProfile) -> bool:
        return profile.transcription_rules is not None

    return {
        "/completions": Route(
            "completions", False, openai_completions.handle, lambda profile: profile.has_completions
        ),
        "/images/generations": Route(
            "images", False, openai_images.generate, lambda profile: profile.has_images
        ),
        "/images/edits": Route("images", True, openai_images.edit, lambda profile: profile.has_images),
        "/images/variations": Route(
            "images", True, openai_images.variation, lambda profile: profile.has_images
        ),
        "/audio/transcriptions": Route("transcriptions", True, openai_audio.transcribe, audio),
        "/audio/translations": Route("translations", True, openai_audio.translate, audio),
        "/audio/speech": Route("speech", False, openai_speech.handle, lambda profile: profile.has_speech),
        "/moderations": Route(
            "moderations", False, openai_moderations.handle, lambda profile: profile.has_moderations
        ),
    }


_ROUTES: dict[str, Route] = {}


def route(profile: ProviderProfile, relative: str) -> Route | None:
    """The endpoint `relative` addresses on this profile's API (POST only), or None."""
    if not _ROUTES:
        _ROUTES.update(_routes())
    found = _ROUTES.get(relative)
    return found if found is not None and found.enabled(profile) else None


def not_multipart(content_type: str | None) -> ApiError:
    return ApiError(400, NOT_MULTIPART.format(content_type=content_type or ""))


def file_url(root_url: str, seed: bytes, width: int, height: int) -> str:
    return f"{root_url}{FILES_PREFIX}img-{seed[:16].hex()}-{width}x{height}.png"


async def serve_file(path: str, send: asgi.Send) -> None:
    """Answer `GET /_files/images/<name>.png`: the PNG the name describes, or a 404."""
    match = _FILE_NAME.fullmatch(path[len(FILES_PREFIX) :])
    if match is None or not (0 < int(match[2]) <= MAX_DRAWN and 0 < int(match[3]) <= MAX_DRAWN):
        await asgi.send_bytes(send, 404, b"not found", b"text/plain")
        return
    data = media_image.png(bytes.fromhex(match[1]), int(match[2]), int(match[3]))
    await asgi.send_bytes(send, 200, data, PNG_TYPE, [("cache-control", "max-age=3600")])


async def send_chunks(
    send: asgi.Send,
    chunks: Iterable[bytes],
    content_type: str,
    headers: Iterable[tuple[str, str]],
    *,
    faults: AnswerFaults,
    delay_s: float,
) -> None:
    """A binary body in several writes without a length (the server sends it chunked), `delay_s` apart.
    Faults as `asgi.StreamBreaker` applies them, counting chunks as events; `malformed_chunk` cuts the
    chunk it names in half."""
    raw = [(b"content-type", content_type.encode("latin-1")), *asgi.encode_headers(headers)]
    await send({"type": "http.response.start", "status": 200, "headers": raw})
    breaker = asgi.StreamBreaker(send, faults)
    for index, chunk in enumerate(chunks):
        if not await breaker.proceed(index):
            return
        if index and delay_s:
            await asyncio.sleep(delay_s)
        body = chunk[: len(chunk) // 2] if index == faults.malformed_at else chunk
        await send({"type": "http.response.body", "body": body, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def send(
    reply: Reply,
    send_: asgi.Send,
    headers: list[tuple[str, str]],
    *,
    faults: AnswerFaults,
    chunk_delay_s: float,
    chunk_pace_s: float,
) -> None:
    """Put a handler's reply on the wire (`chunk_pace_s`: the least delay between binary chunks)."""
    headers = [*headers, *reply.extra_headers]
    if reply.events is not None:
        await asgi.send_sse(
            send_,
            reply.events,
            headers,
            faults=faults,
            opening=reply.opening,
            chunk_delay_s=chunk_delay_s,
            done=reply.done,
            named=reply.named,
        )
    elif reply.chunks is not None:
        delay = max(chunk_delay_s, chunk_pace_s)
        await send_chunks(send_, reply.chunks, reply.content_type, headers, faults=faults, delay_s=delay)
    elif reply.payload is not None:
        content_type = reply.content_type.encode("latin-1")
        await asgi.send_bytes(send_, 200, reply.payload, content_type, headers, faults=faults)
    else:
        await asgi.send_json(send_, 200, reply.body, headers, faults=faults)
