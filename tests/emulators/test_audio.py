"""Audio on the OpenAI and Groq emulators, through the official SDK: transcriptions and translations of an
uploaded file in every response format (JSON answers checked strictly against the SDK's types), the gpt-4o
transcribe models' usage, logprobs and typed stream, Groq's whisper models; text to speech read chunk by
chunk as it arrives, a real WAV, each format's container, SSE; the real API's refusals and faults."""

from __future__ import annotations

import base64
import io
import math
import time
import wave
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.audio import (
    Transcription,
    TranscriptionTextDeltaEvent,
    TranscriptionTextDoneEvent,
    TranscriptionVerbose,
    Translation,
    TranslationVerbose,
)
from pydantic import TypeAdapter

from byokgate.emulators import Fault, media_audio
from byokgate.emulators.openai_audio import transcript
from byokgate.emulators.openai_speech import audio_for, duration_for
from tests.emulators.conftest import Target

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks translations deprecated
WAV = media_audio.wav(media_audio.pcm(4.2))
TEXT = " ".join(transcript(WAV))
SPEECH = "The quick brown fox jumped over the lazy dog."


@pytest.fixture
def openai_target(get_target: Any) -> Target:
    target: Target = get_target("openai")
    return target


@pytest.fixture
def sdk(openai_target: Target) -> Iterator[openai.OpenAI]:
    with openai_target.client() as client:
        yield client


def upload(target: Target, path: str, data: dict[str, Any], name: str = "speech.wav") -> httpx.Response:
    return httpx.post(
        f"{target.base_url}/audio/{path}", files={"file": (name, WAV)}, data=data, headers=target.auth()
    )


def body_of(error: openai.APIStatusError) -> dict[str, Any]:
    body: dict[str, Any] = error.body  # type: ignore[assignment]
    return body


def test_transcription_formats(sdk: openai.OpenAI, openai_target: Target) -> None:
    assert TEXT.count(".") >= 1
    assert len(TEXT.split()) == round(4.2 * 2.5)
    plain = sdk.audio.transcriptions.create(model="whisper-1", file=("speech.wav", WAV))
    assert plain.text == TEXT
    assert plain.usage is not None
    assert plain.usage.type == "duration"
    assert plain.usage.seconds == 5
    verbose = sdk.audio.transcriptions.create(
        model="whisper-1",
        file=("speech.wav", WAV),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="fr",
    )
    assert (verbose.duration, verbose.language, verbose.text) == (4.2, "french", TEXT)
    segments = verbose.segments or []
    assert " ".join(segment.text.strip() for segment in segments) == TEXT
    assert (segments[0].start, segments[-1].end) == (0.0, 4.2)
    words = verbose.words or []
    assert [word.word for word in words] == TEXT.replace(".", "").split()
    assert words[-1].end == 4.2
    assert sdk.audio.transcriptions.create(
        model="whisper-1", file=("speech.wav", WAV), response_format="text"
    ) == (TEXT + "\n")
    srt = sdk.audio.transcriptions.create(model="whisper-1", file=("a.mp3", WAV), response_format="srt")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:")
    vtt = sdk.audio.transcriptions.create(model="whisper-1", file=("a.webm", WAV), response_format="vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:")
    TypeAdapter(Transcription).validate_python(
        upload(openai_target, "transcriptions", {"model": "whisper-1"}).json(), strict=True
    )
    raw = upload(
        openai_target, "transcriptions", {"model": "whisper-1", "response_format": "verbose_json"}
    ).json()
    TypeAdapter(TranscriptionVerbose).validate_python(raw, strict=True)
    assert "words" not in raw  # segments only unless words are asked for
    text = upload(openai_target, "transcriptions", {"model": "whisper-1", "response_format": "text"})
    assert text.headers["content-type"] == "text/plain; charset=utf-8"


def test_gpt_4o_transcribe(sdk: openai.OpenAI, openai_target: Target) -> None:
    answer = sdk.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=("speech.wav", WAV), include=["logprobs"], prompt="Weather talk"
    )
    assert answer.text == TEXT
    assert answer.usage is not None
    assert answer.usage.type == "tokens"
    assert answer.usage.input_token_details is not None
    assert (answer.usage.input_token_details.audio_tokens, answer.usage.input_token_details.text_tokens) == (
        42,
        2,
    )
    first, second = TEXT.split()[:2]
    assert [logprob.token for logprob in answer.logprobs or []][:2] == [first, " " + second]
    events = list(
        sdk.audio.transcriptions.create(model="gpt-4o-mini-transcribe", file=("a.wav", WAV), stream=True)
    )
    assert all(isinstance(event, TranscriptionTextDeltaEvent) for event in events[:-1])
    done = events[-1]
    assert isinstance(done, TranscriptionTextDoneEvent)
    assert (
        done.text
        == TEXT
        == "".join(event.delta for event in events[:-1] if isinstance(event, TranscriptionTextDeltaEvent))
    )
    assert done.usage is not None
    raw = upload(
        openai_target, "transcriptions", {"model": "gpt-4o-transcribe", "include[]": "logprobs"}
    ).json()
    TypeAdapter(Transcription).validate_python(raw, strict=True)
    with pytest.raises(openai.BadRequestError) as info:
        sdk.audio.transcriptions.create(
            model="gpt-4o-transcribe", file=("a.wav", WAV), response_format="verbose_json"
        )
    assert body_of(info.value) == {
        "message": "response_format 'verbose_json' is not compatible with model 'gpt-4o-transcribe'. "
        "Use 'json' or 'text' instead.",
        "type": "invalid_request_error",
        "param": "response_format",
        "code": "unsupported_value",
    }


def test_translations(sdk: openai.OpenAI, openai_target: Target) -> None:
    assert sdk.audio.translations.create(model="whisper-1", file=("speech.m4a", WAV)).text == TEXT
    raw = upload(
        openai_target, "translations", {"model": "whisper-1", "response_format": "verbose_json"}
    ).json()
    TypeAdapter(TranslationVerbose).validate_python(raw, strict=True)
    assert (raw["task"], raw["language"]) == ("translate", "english")
    TypeAdapter(Translation).validate_python(
        upload(openai_target, "translations", {"model": "whisper-1"}).json(), strict=True
    )
    with pytest.raises(openai.BadRequestError) as info:
        sdk.audio.translations.create(model="gpt-4o-transcribe", file=("speech.wav", WAV))
    assert body_of(info.value)["param"] == "model"


def test_transcription_refusals(sdk: openai.OpenAI, openai_target: Target) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        sdk.audio.transcriptions.create(model="whisper-1", file=("notes.txt", WAV))
    assert body_of(info.value) == {
        "message": "Invalid file format. Supported formats: "
        "['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(openai.NotFoundError):
        sdk.audio.transcriptions.create(model="tts-1", file=("speech.wav", WAV))
    silence = media_audio.wav(media_audio.pcm(0.05))
    with pytest.raises(openai.BadRequestError) as info:
        sdk.audio.transcriptions.create(model="whisper-1", file=("short.wav", silence))
    assert body_of(info.value)["code"] == "audio_too_short"
    for data, param in (
        ({"model": "whisper-1", "temperature": "2"}, "temperature"),
        ({"model": "whisper-1", "response_format": "xml"}, "response_format"),
        ({"model": "whisper-1", "timestamp_granularities[]": "line"}, "timestamp_granularities[0]"),
    ):
        response = upload(openai_target, "transcriptions", data)
        assert (response.status_code, response.json()["error"]["param"]) == (400, param)
    as_json = httpx.post(
        f"{openai_target.base_url}/audio/transcriptions",
        json={"model": "whisper-1"},
        headers=openai_target.auth(),
    )
    assert as_json.status_code == 400
    assert as_json.json()["error"]["message"].startswith("Invalid Content-Type header (application/json)")
    missing = httpx.post(
        f"{openai_target.base_url}/audio/transcriptions",
        files={"model": (None, "whisper-1")},
        headers=openai_target.auth(),
    )
    assert missing.json()["error"]["param"] == "file"
    recorded = openai_target.emulator.requests[-3]
    assert recorded.body == {
        "model": "whisper-1",
        "timestamp_granularities[]": "line",
        "file": {"filename": "speech.wav", "content_type": "audio/x-wav", "size": len(WAV)},
    }


def test_groq_whisper(get_target: Any) -> None:
    groq: Target = get_target("groq")
    with groq.client() as client:
        plain = client.audio.transcriptions.create(model="whisper-large-v3-turbo", file=("speech.flac", WAV))
        assert plain.text == TEXT
        assert plain.usage is None
        verbose = client.audio.transcriptions.create(
            model="whisper-large-v3", file=("speech.wav", WAV), response_format="verbose_json"
        )
        assert verbose.segments
        assert (
            client.audio.translations.create(model="whisper-large-v3", file=("speech.wav", WAV)).text == TEXT
        )
        with pytest.raises(openai.BadRequestError):
            client.audio.translations.create(model="whisper-large-v3-turbo", file=("speech.wav", WAV))
        with pytest.raises(openai.BadRequestError):
            client.audio.transcriptions.create(
                model="whisper-large-v3", file=("a.wav", WAV), response_format="srt"
            )
        with pytest.raises(openai.BadRequestError) as info:
            client.audio.transcriptions.create(model="whisper-large-v3", file=("a.oga", WAV))
        assert "'oga'" not in body_of(info.value)["message"]
        with pytest.raises(openai.NotFoundError) as missing:
            client.audio.transcriptions.create(model="whisper-1", file=("speech.wav", WAV))
        assert body_of(missing.value) == {
            "message": "The model `whisper-1` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "code": "model_not_found",
        }
    raw = upload(groq, "transcriptions", {"model": "whisper-large-v3"})
    assert raw.json()["x_groq"]["id"] == raw.headers["x-request-id"]
    TypeAdapter(Transcription).validate_python(raw.json(), strict=True)


def test_speech_arrives_in_chunks(sdk: openai.OpenAI, openai_target: Target) -> None:
    arrivals: list[float] = []
    chunks: list[bytes] = []
    with sdk.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=SPEECH, response_format="wav"
    ) as response:
        assert response.headers["content-type"] == "audio/wav"
        assert response.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in response.headers
        for chunk in response.iter_bytes():
            arrivals.append(time.perf_counter())
            chunks.append(chunk)
    data = b"".join(chunks)
    assert len(chunks) > 5
    assert arrivals[-1] - arrivals[0] > 0.005  # spread over time, not one write
    assert data == audio_for(SPEECH, "alloy", "wav")
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24_000)
        assert wav.getnframes() == round(duration_for(SPEECH) * 24_000)
    whole = sdk.audio.speech.create(
        model="tts-1-hd", voice="coral", input=SPEECH, response_format="wav", speed=2
    )
    with wave.open(io.BytesIO(whole.content)) as wav:
        assert wav.getnframes() == round(duration_for(SPEECH, 2) * 24_000)
    assert openai_target.emulator.requests[-1].body["speed"] == 2


@pytest.mark.parametrize(
    ("response_format", "content_type", "magic"),
    [
        ("mp3", "audio/mpeg", b"\xff\xf3"),
        ("opus", "audio/opus", b"OggS"),
        ("aac", "audio/aac", b"\xff\xf1"),
        ("flac", "audio/flac", b"fLaC"),
        ("pcm", "audio/pcm", b""),
    ],
)
def test_speech_formats(sdk: openai.OpenAI, response_format: Any, content_type: str, magic: bytes) -> None:
    response = sdk.audio.speech.create(
        model="gpt-4o-mini-tts",
        voice="ash",
        input=SPEECH,
        response_format=response_format,
        instructions="Calm",
    )
    assert response.response.headers["content-type"] == content_type
    assert response.content.startswith(magic)
    if response_format == "pcm":
        assert len(response.content) == 2 * round(duration_for(SPEECH) * 24_000)
    if response_format == "opus":
        assert b"OpusHead" in response.content[:64]


def test_speech_sse(openai_target: Target) -> None:
    body = {
        "model": "gpt-4o-mini-tts",
        "voice": "nova",
        "input": SPEECH,
        "stream_format": "sse",
        "response_format": "pcm",
    }
    reply = httpx.post(f"{openai_target.base_url}/audio/speech", json=body, headers=openai_target.auth())
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = [
        httpx.Response(200, content=block.removeprefix("data: ")).json()
        for block in reply.text.split("\n\n")
        if block
    ]
    audio = b"".join(base64.b64decode(event["audio"]) for event in events[:-1])
    assert audio == audio_for(SPEECH, "nova", "pcm")
    assert events[-1]["type"] == "speech.audio.done"
    refused = httpx.post(
        f"{openai_target.base_url}/audio/speech",
        json={**body, "model": "tts-1"},
        headers=openai_target.auth(),
    )
    assert refused.status_code == 400


def test_speech_refusals(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        sdk.audio.speech.create(model="tts-1", voice="alloy", input="x" * 4097)
    assert body_of(info.value) == {
        "message": "[{'type': 'string_too_long', 'loc': ('body', 'input'), "
        "'msg': 'String should have at most 4096 characters', 'ctx': {'max_length': 4096}}]",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(openai.BadRequestError) as info:
        sdk.audio.speech.create(model="tts-1", voice="bob", input=SPEECH)
    message = body_of(info.value)["message"]
    assert message.startswith(
        "[{'type': 'enum', 'loc': ('body', 'voice'), 'msg': \"Input should be 'alloy', 'ash'"
    )
    assert "'input': 'bob'" in message
    with pytest.raises(openai.BadRequestError) as info:
        sdk.audio.speech.create(model="tts-1", voice="alloy", input=SPEECH, speed=5)
    assert "'less_than_equal'" in body_of(info.value)["message"]
    with pytest.raises(openai.NotFoundError):
        sdk.audio.speech.create(model="whisper-1", voice="alloy", input=SPEECH)
    assert sdk.audio.speech.create(model="tts-1", voice={"id": "voice_1234"}, input=SPEECH).content


def test_faults(sdk: openai.OpenAI, openai_target: Target) -> None:
    openai_target.emulator.arm(Fault("500", endpoint="speech"), Fault("429", endpoint="transcriptions"))
    with pytest.raises(openai.InternalServerError):
        sdk.audio.speech.create(model="tts-1", voice="alloy", input=SPEECH)
    with pytest.raises(openai.RateLimitError):
        sdk.audio.transcriptions.create(model="whisper-1", file=("speech.wav", WAV))
    body = {"model": "tts-1", "voice": "alloy", "input": SPEECH * 3, "response_format": "wav"}
    headers = {**openai_target.auth(), "x-emulator-fault": "disconnect_mid_stream:2"}
    with pytest.raises(httpx.HTTPError):
        httpx.post(f"{openai_target.base_url}/audio/speech", json=body, headers=headers)
    whole = len(audio_for(SPEECH * 3, "alloy", "wav"))
    assert math.ceil(whole / 4096) > 2
