"""Speech to text: `POST <base>/audio/transcriptions` and `/audio/translations` (multipart/form-data), for
OpenAI (`whisper-1`, `gpt-4o-transcribe`, `gpt-4o-mini-transcribe`) and Groq (`whisper-large-v3`,
`whisper-large-v3-turbo`), each as its `TranscriptionRules` says.

What is "heard" (deterministic): the file's duration (a WAV's from its header, any other file's at 16 kB a
second) and, from the SHA-256 of its bytes, about 2.5 words a second from a fixed vocabulary, in sentences
(`transcript(data)` gives them, for tests). A translation hears the same (English) words. Formats: `json`
(`text`, and `usage`: audio seconds for whisper-1, tokens for the gpt-4o models), `text`, `srt`, `vtt`,
`verbose_json` (`task`, `language`, `duration`, sentence `segments` and/or `words` as
`timestamp_granularities[]` asks). The gpt-4o models take `json` and `text` only, `include[]=logprobs`, and
`stream=true` (typed `transcript.text.delta` / `.done` events; whisper-1 ignores `stream`, as documented).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from byokgate.emulators import content, media_audio
from byokgate.emulators.multipart import Form, Upload
from byokgate.emulators.openai_endpoints import Call, Reply
from byokgate.emulators.profile import ApiError, ModelInfo
from byokgate.emulators.validation import check_number, invalid_type, invalid_value, missing

BYTES_PER_SECOND = 16_000  # how long a non-WAV file is taken to last (128 kbit/s)
WORDS_PER_SECOND = 2.5
MAX_WORDS = 400
MIN_SECONDS = 0.1
TEXT_TYPE = "text/plain; charset=utf-8"
_WORDS = (
    "we", "talked", "about", "the", "weather", "and", "a", "plan", "for", "next", "week", "it", "was",
    "quiet", "in", "town", "so", "everyone", "met", "at", "station", "to", "share", "stories", "then",
    "walked", "home", "together", "before", "evening", "rain", "came",
)  # fmt: skip
LANGUAGES = {
    "en": "english", "fr": "french", "de": "german", "es": "spanish", "it": "italian", "pt": "portuguese",
    "nl": "dutch", "ja": "japanese", "zh": "chinese", "ko": "korean", "ru": "russian", "ar": "arabic",
    "hi": "hindi", "pl": "polish", "tr": "turkish", "sv": "swedish", "uk": "ukrainian",
}  # fmt: skip
GRANULARITIES = ("word", "segment")


@dataclass(frozen=True, slots=True)
class TranscriptionRules:
    """What one provider's audio endpoints accept (`ProviderProfile.transcription_rules`)."""

    file_formats: tuple[str, ...]  # file name extensions, in the order its error lists them
    response_formats: tuple[str, ...]
    token_models: frozenset[str]  # json/text only, usage in tokens, streamable
    translation_models: frozenset[str]
    max_bytes: int
    duration_usage: bool = True  # json/verbose_json carry `usage: {type: duration}` (whisper-1)
    request_id_field: str | None = None  # Groq's `x_groq: {id}`


OPENAI_TRANSCRIPTIONS = TranscriptionRules(
    file_formats=("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm"),
    response_formats=("json", "text", "srt", "verbose_json", "vtt"),
    token_models=frozenset({"gpt-4o-transcribe", "gpt-4o-mini-transcribe"}),
    translation_models=frozenset({"whisper-1"}),
    max_bytes=25 * 1024 * 1024,
)
# Groq's documented formats and limits (free tier's 25 MB); its error wording is taken as OpenAI's
# (unverified), `x_groq` on JSON answers as its chat answers carry it (unverified).
GROQ_TRANSCRIPTIONS = TranscriptionRules(
    file_formats=("flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm"),
    response_formats=("json", "text", "verbose_json"),
    token_models=frozenset(),
    translation_models=frozenset({"whisper-large-v3"}),
    max_bytes=25 * 1024 * 1024,
    duration_usage=False,
    request_id_field="x_groq",
)


@dataclass(slots=True)
class Segment:
    text: str
    start: float
    end: float


def duration_of(data: bytes) -> float:
    seconds = media_audio.wav_duration(data)
    return round(seconds if seconds is not None else len(data) / BYTES_PER_SECOND, 2)


def transcript(data: bytes, duration: float | None = None) -> list[str]:
    """The sentences an upload is heard to say."""
    seconds = duration_of(data) if duration is None else duration
    count = max(1, min(MAX_WORDS, round(seconds * WORDS_PER_SECOND)))
    digest = b""
    while len(digest) < count + 1:
        digest += hashlib.sha256(digest[-32:] + data[:65_536] + len(data).to_bytes(8, "big")).digest()
    words = [_WORDS[byte % len(_WORDS)] for byte in digest[:count]]
    sentences, start = [], 0
    while start < count:
        length = 6 + digest[start] % 7
        chunk = words[start : start + length]
        sentences.append(" ".join(chunk).capitalize() + ".")
        start += length
    return sentences


def _segments(sentences: list[str], duration: float) -> list[Segment]:
    total = sum(len(sentence.split()) for sentence in sentences)
    out, elapsed = [], 0
    for sentence in sentences:
        words = len(sentence.split())
        start = duration * elapsed / total
        elapsed += words
        out.append(Segment(sentence, round(start, 2), round(duration * elapsed / total, 2)))
    return out


def _segment_json(index: int, segment: Segment, temperature: float) -> dict[str, Any]:
    digest = hashlib.sha256(segment.text.encode()).digest()
    tokens = [50364 + index, *(digest[i] * 37 + i for i in range(len(segment.text.split()))), 50257]
    return {
        "id": index,
        "seek": int(segment.start * 100) // 3000 * 3000,
        "start": segment.start,
        "end": segment.end,
        "text": " " + segment.text,
        "tokens": tokens,
        "temperature": temperature,
        "avg_logprob": -round(0.15 + digest[0] / 1024, 6),
        "compression_ratio": round(1.1 + digest[1] / 512, 6),
        "no_speech_prob": round(digest[2] / 25_600, 6),
    }


def _words_json(segments: list[Segment]) -> list[dict[str, Any]]:
    words = []
    for segment in segments:
        spoken = segment.text.rstrip(".").split()
        step = (segment.end - segment.start) / len(spoken)
        for index, word in enumerate(spoken):
            start = segment.start + index * step
            words.append({"word": word, "start": round(start, 2), "end": round(start + step, 2)})
    return words


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02d}:{minutes:02d}:{millis // 1000:02d}{separator}{millis % 1000:03d}"


def subtitles(segments: list[Segment], kind: str) -> str:
    """The transcript as SubRip (`srt`) or WebVTT (`vtt`) cues, one per segment."""
    separator = "," if kind == "srt" else "."
    blocks = []
    for number, segment in enumerate(segments, 1):
        times = f"{_timestamp(segment.start, separator)} --> {_timestamp(segment.end, separator)}"
        blocks.append(
            f"{number}\n{times}\n{segment.text}\n" if kind == "srt" else f"{times}\n{segment.text}\n"
        )
    body = "\n".join(blocks) + "\n"
    return body if kind == "srt" else "WEBVTT\n\n" + body


def _number(form: Form, name: str, low: float, high: float) -> float | None:
    raw = form.value(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise invalid_type(name, "a decimal", raw) from None
    check_number(value, name, low, high, integer=False)
    return value


@dataclass(slots=True)
class Request:
    model: ModelInfo
    upload: Upload
    response_format: str
    temperature: float
    language: str
    granularities: list[str]
    logprobs: bool
    stream: bool


def _model(call: Call, form: Form, rules: TranscriptionRules, translate: bool) -> ModelInfo:
    model_id = form.value("model")
    if model_id is None:
        raise ApiError(400, "you must provide a model parameter")
    model = call.profile.model(model_id)
    if model is None or model.kind != "transcription":
        raise call.profile.model_not_found(model_id)  # for a known model of another kind (unverified)
    if translate and model_id not in rules.translation_models:  # (wording unverified)
        raise invalid_value("model", model_id, tuple(sorted(rules.translation_models)))
    return model


def _request(call: Call, translate: bool) -> Request:
    form, rules = call.form, call.profile.transcription_rules
    assert form is not None
    assert rules is not None
    uploads = form.uploads("file")
    if not uploads:
        raise missing("file")
    model = _model(call, form, rules, translate)
    response_format = form.value("response_format") or "json"
    if response_format not in rules.response_formats:
        raise invalid_value("response_format", response_format, rules.response_formats)
    tokens = model.id in rules.token_models
    if tokens and response_format not in ("json", "text"):
        message = (
            f"response_format '{response_format}' is not compatible with model '{model.id}'. "
            "Use 'json' or 'text' instead."
        )
        raise ApiError(400, message, param="response_format", code="unsupported_value")
    temperature = _number(form, "temperature", 0, 1) or 0.0
    granularities = form.values("timestamp_granularities[]", "timestamp_granularities")
    for index, value in enumerate(granularities):
        if value not in GRANULARITIES:
            raise invalid_value(f"timestamp_granularities[{index}]", value, GRANULARITIES)
    include = form.values("include[]", "include")
    for index, value in enumerate(include):
        if value != "logprobs":
            raise invalid_value(f"include[{index}]", value, ("logprobs",))
    upload = uploads[0]
    if upload.extension not in rules.file_formats:
        raise ApiError(400, f"Invalid file format. Supported formats: {list(rules.file_formats)}")
    if upload.size > rules.max_bytes:  # OpenAI's upload limit, as it words it (recalled, unverified)
        message = f"Maximum content size limit ({rules.max_bytes}) exceeded ({upload.size} bytes read)"
        raise ApiError(413, message)
    language = "english" if translate else LANGUAGES.get(form.value("language") or "en", "english")
    stream = (form.value("stream") or "").lower() == "true" and tokens and not translate
    return Request(
        model, upload, response_format, temperature, language, granularities, bool(include), stream
    )


def _usage(request: Request, text: str, duration: float, prompt: str) -> dict[str, Any]:
    audio_tokens = math.ceil(duration * 10)
    text_tokens = content.count_tokens(prompt)
    output = content.count_tokens(text)
    return {
        "type": "tokens",
        "input_tokens": audio_tokens + text_tokens,
        "input_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens},
        "output_tokens": output,
        "total_tokens": audio_tokens + text_tokens + output,
    }


def _logprobs(text: str) -> list[dict[str, Any]]:
    out = []
    for position, token in enumerate(piece for piece in text.split(" ") if piece):
        token = token if position == 0 else " " + token
        digest = hashlib.sha256(f"{position}:{token}".encode()).digest()
        out.append({"token": token, "logprob": -round(digest[0] / 2550, 6), "bytes": list(token.encode())})
    return out


def _answer(call: Call, translate: bool) -> Reply:
    request = _request(call, translate)
    rules = call.profile.transcription_rules
    assert rules is not None
    assert call.form is not None
    data = request.upload.data
    duration = duration_of(data)
    if duration < MIN_SECONDS:  # (recalled wording)
        message = f"Audio file is too short. Minimum audio length is {MIN_SECONDS} seconds."
        raise ApiError(400, message, param="file", code="audio_too_short")
    sentences = transcript(data, duration)
    text = " ".join(sentences)
    tokens = request.model.id in rules.token_models
    usage = _usage(request, text, duration, call.form.value("prompt") or "") if tokens else None
    extra = {rules.request_id_field: {"id": call.request_id}} if rules.request_id_field else {}
    seconds: dict[str, Any] = {"type": "duration", "seconds": math.ceil(duration)}
    if request.stream:
        return Reply(events=_events(text, usage, request.logprobs), done=False)
    fmt = request.response_format
    if fmt == "text":
        return Reply(payload=(text + "\n").encode(), content_type=TEXT_TYPE)
    segments = _segments(sentences, duration)
    if fmt in ("srt", "vtt"):
        return Reply(payload=subtitles(segments, fmt).encode(), content_type=TEXT_TYPE)
    if fmt == "json":
        body: dict[str, Any] = {"text": text}
        if request.logprobs and tokens:
            body["logprobs"] = _logprobs(text)
        if usage is not None:
            body["usage"] = usage
        elif rules.duration_usage and not translate:
            body["usage"] = seconds
        return Reply(body={**body, **extra}, tokens=usage["total_tokens"] if usage else 0)
    body = {
        "task": "translate" if translate else "transcribe",
        "language": request.language,
        "duration": duration,
        "text": text,
    }
    granularities = request.granularities or ["segment"]
    if "segment" in granularities:
        body["segments"] = [_segment_json(i, s, request.temperature) for i, s in enumerate(segments)]
    if "word" in granularities and not translate:
        body["words"] = _words_json(segments)
    if rules.duration_usage and not translate:
        body["usage"] = seconds
    return Reply(body={**body, **extra})


def _events(text: str, usage: dict[str, Any] | None, logprobs: bool) -> list[dict[str, Any]]:
    events = []
    all_logprobs = _logprobs(text)
    for index, piece in enumerate(content.stream_pieces(text, 1)):
        event: dict[str, Any] = {"type": "transcript.text.delta", "delta": piece}
        if logprobs:
            event["logprobs"] = all_logprobs[index : index + 1]
        events.append(event)
    done: dict[str, Any] = {"type": "transcript.text.done", "text": text, "usage": usage}
    if logprobs:
        done["logprobs"] = all_logprobs
    return [*events, done]


def transcribe(call: Call) -> Reply:
    return _answer(call, translate=False)


def translate(call: Call) -> Reply:
    return _answer(call, translate=True)
