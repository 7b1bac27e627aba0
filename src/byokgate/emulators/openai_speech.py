"""OpenAI's text to speech: `POST /v1/audio/speech` (`tts-1`, `tts-1-hd`, `gpt-4o-mini-tts`).

The answer is audio of the requested `response_format` (`media_audio`): `duration = max(0.5, characters /
15) / speed` seconds, a tone picked by the voice for `wav` / `pcm`, sent in 4 kB chunks with chunked
transfer encoding (a little apart, so a client sees it arrive progressively). `stream_format: "sse"`
(gpt-4o-mini-tts) sends the same bytes base64-encoded in `speech.audio.delta` events, then
`speech.audio.done` with token usage.

This endpoint validates like a FastAPI/pydantic service and words its 400s as the list of pydantic errors
in Python's repr (observed for `voice` and for an `input` over 4096 characters); the other cases follow
the same pattern (unverified). `instructions` is accepted and ignored by tts-1 / tts-1-hd, as documented.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from byokgate.emulators import content, media_audio
from byokgate.emulators.openai_endpoints import Call, Reply
from byokgate.emulators.profile import ApiError

VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "onyx",
    "nova",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
CONTENT_TYPES = {  # (mp3's is observed; the others unverified)
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
FIELDS = ("model", "input", "voice", "instructions", "response_format", "speed", "stream_format")
MAX_INPUT = 4096
CHARS_PER_SECOND = 15
MIN_SECONDS = 0.5
CHUNK_BYTES = 4096
SSE_MODELS = frozenset({"gpt-4o-mini-tts"})


def _listed(values: tuple[str, ...]) -> str:
    quoted = [f"'{value}'" for value in values]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}"


def validation_error(
    kind: str, field: str, message: str, value: Any, ctx: Mapping[str, Any] | None
) -> ApiError:
    """One pydantic error, rendered as the API renders its list: `[{'type': ..., 'loc': ('body', ...)}]`."""
    error: dict[str, Any] = {"type": kind, "loc": ("body", field), "msg": message}
    if kind != "string_too_long":  # the observed string_too_long error leaves the (long) input out
        error["input"] = value
    if ctx is not None:
        error["ctx"] = dict(ctx)
    return ApiError(400, repr([error]))


def _enum(body: Mapping[str, Any], field: str, allowed: tuple[str, ...], default: str) -> str:
    value = body.get(field, default)
    if value not in allowed:
        expected = _listed(allowed)
        raise validation_error("enum", field, f"Input should be {expected}", value, {"expected": expected})
    return str(value)


def _check(body: Mapping[str, Any]) -> tuple[str, str, str, str, float, str]:
    for field in FIELDS[:3]:
        if field not in body:
            raise validation_error("missing", field, "Field required", dict(body), None)
    for field in body:
        if field not in FIELDS:
            message = "Extra inputs are not permitted"
            raise validation_error("extra_forbidden", field, message, body[field], None)
    text = body["input"]
    if not isinstance(text, str):
        raise validation_error("string_type", "input", "Input should be a valid string", text, None)
    if len(text) > MAX_INPUT:
        message = f"String should have at most {MAX_INPUT} characters"
        raise validation_error("string_too_long", "input", message, text, {"max_length": MAX_INPUT})
    voice = body["voice"]
    if isinstance(voice, dict) and isinstance(voice.get("id"), str):
        voice_name = voice["id"]  # a custom voice
    else:
        voice_name = _enum(body, "voice", VOICES, "alloy")
    response_format = _enum(body, "response_format", tuple(CONTENT_TYPES), "mp3")
    speed = body.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, int | float):
        raise validation_error("float_type", "speed", "Input should be a valid number", speed, None)
    for kind, bound, word, broken in (
        ("greater_than_equal", 0.25, "greater than or equal to", speed < 0.25),
        ("less_than_equal", 4.0, "less than or equal to", speed > 4.0),
    ):
        if broken:
            key = "ge" if kind.startswith("greater") else "le"
            raise validation_error(kind, "speed", f"Input should be {word} {bound:g}", speed, {key: bound})
    stream_format = _enum(body, "stream_format", ("sse", "audio"), "audio")
    return str(body["model"]), text, voice_name, response_format, float(speed), stream_format


def duration_for(text: str, speed: float = 1.0) -> float:
    """How long the speech of `text` lasts, in seconds."""
    return round(max(MIN_SECONDS, len(text) / CHARS_PER_SECOND) / speed, 3)


def audio_for(text: str, voice: str, response_format: str, speed: float = 1.0) -> bytes:
    """The whole audio answered for this request (the chunks joined)."""
    tone = hashlib.sha256(voice.encode()).digest()[0]
    return media_audio.encode(response_format, duration_for(text, speed), tone)


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), CHUNK_BYTES):
        yield data[start : start + CHUNK_BYTES]


def _events(data: bytes, text: str) -> Iterator[dict[str, Any]]:
    for chunk in _chunks(data):
        yield {"type": "speech.audio.delta", "audio": base64.b64encode(chunk).decode()}
    tokens = content.count_tokens(text)
    output = len(data) // 1200  # (ours)
    usage = {"input_tokens": tokens, "output_tokens": output, "total_tokens": tokens + output}
    yield {"type": "speech.audio.done", "usage": usage}


def handle(call: Call) -> Reply:
    model_id, text, voice, response_format, speed, stream_format = _check(call.body)
    model = call.profile.model(model_id)
    if model is None or model.kind != "speech":
        raise call.profile.model_not_found(model_id)  # (unverified for a known model of another kind)
    if stream_format == "sse" and model_id not in SSE_MODELS:  # documented; wording ours (unverified)
        raise ApiError(
            400, f"stream_format 'sse' is not supported for model '{model_id}'.", param="stream_format"
        )
    data = audio_for(text, voice, response_format, speed)
    tokens = content.count_tokens(text)
    if stream_format == "sse":
        return Reply(events=_events(data, text), done=False, tokens=tokens)
    return Reply(chunks=_chunks(data), content_type=CONTENT_TYPES[response_format], tokens=tokens)
