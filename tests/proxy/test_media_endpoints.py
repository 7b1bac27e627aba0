"""The rest of the OpenAI API on the project's own keys, through the official SDK: legacy completions,
images (JSON and multipart), audio transcription and translation (multipart uploads, Groq's Whisper too),
speech (binary, streamed), moderations; each priced from the catalog (tokens, per image, per minute of
audio, per character) and recorded; what a provider cannot serve is a 400, an oversize upload a 413."""

from __future__ import annotations

import io
import struct
import time
import wave
from typing import Any

import httpx
import openai
import pytest

from byokgate.emulators import EmulatorServer
from tests.proxy.conftest import CHAT_KEYS as KEYS
from tests.proxy.conftest import Gateway

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _wav(seconds: float = 1.0) -> bytes:
    """A real WAV file: ``seconds`` of silence, 16 kHz mono."""
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(16_000)
        file.writeframes(struct.pack("<h", 0) * int(16_000 * seconds))
    return out.getvalue()


def _png() -> bytes:
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00\xff" * 4 for _ in range(4))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _last_record(gateway: Gateway, project_id: str, endpoint: str) -> dict[str, Any]:
    for _ in range(300):
        records = gateway.admin.get(f"/projects/{project_id}/requests").json()["data"]
        found = [r for r in records if r["endpoint"] == endpoint]
        if found:
            return dict(found[0])
        time.sleep(0.02)
    raise AssertionError(f"no {endpoint} record")


@pytest.fixture
def project(chat_gateway: Gateway) -> tuple[str, openai.OpenAI]:
    project_id, key = chat_gateway.project(**KEYS)
    return project_id, chat_gateway.client(key)


def test_legacy_completions(project: tuple[str, openai.OpenAI], chat_gateway: Gateway) -> None:
    project_id, client = project
    raw = client.completions.with_raw_response.create(
        model="gpt-3.5-turbo-instruct", prompt="Say hi", max_tokens=20
    )
    answer = raw.parse()
    assert answer.object == "text_completion"
    assert answer.choices[0].text
    assert raw.headers["x-byokgate-provider"] == "openai"
    assert float(raw.headers["x-byokgate-cost-usd"]) > 0
    streamed = list(
        client.completions.create(
            model="gpt-3.5-turbo-instruct",
            prompt="Say hi",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].text for c in streamed if c.choices)
    record = _last_record(chat_gateway, project_id, "completions")
    assert record["prompt_tokens"] > 0
    assert record["cost_micro_usd"] > 0


def test_images(
    project: tuple[str, openai.OpenAI], chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    project_id, client = project
    made = client.images.generate(
        model="dall-e-3", prompt="A lighthouse", size="1024x1792", quality="hd", response_format="b64_json"
    )
    assert made.data is not None
    assert made.data[0].b64_json
    record = _last_record(chat_gateway, project_id, "images/generations")
    assert record["cost_micro_usd"] == 120_000  # $0.12: one HD 1024x1792 DALL-E 3 image
    edited = client.images.edit(
        image=("in.png", _png(), "image/png"), prompt="Make it blue", model="dall-e-2", n=2, size="256x256"
    )
    assert edited.data is not None
    assert len(edited.data) == 2
    sent = chat_upstreams["openai"].emulator.requests[-1]
    assert sent.api_key == KEYS["openai"]
    record = _last_record(chat_gateway, project_id, "images/edits")
    assert record["cost_micro_usd"] == 32_000  # two 256x256 DALL-E 2 images at $0.016


def test_audio(
    project: tuple[str, openai.OpenAI], chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    project_id, client = project
    heard = client.audio.transcriptions.create(
        model="whisper-1", file=("hello.wav", _wav(2.0), "audio/wav"), response_format="verbose_json"
    )
    assert heard.text
    record = _last_record(chat_gateway, project_id, "audio/transcriptions")
    assert record["provider"] == "openai"
    assert record["cost_micro_usd"] == 200  # two seconds of audio at $0.006 a minute
    # The SDK marks translations deprecated; the API still serves them.
    with pytest.warns(DeprecationWarning, match="deprecated"):
        translated = client.audio.translations.create(
            model="whisper-1", file=("hello.wav", _wav(), "audio/wav")
        )
    assert translated.text
    on_groq = client.audio.transcriptions.create(
        model="whisper-large-v3", file=("hello.wav", _wav(), "audio/wav")
    )
    assert on_groq.text
    assert chat_upstreams["groq"].emulator.requests[-1].api_key == KEYS["groq"]
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input="Hello world", response_format="wav"
    ) as spoken:
        assert spoken.headers["content-type"].startswith("audio/")
        audio = b"".join(spoken.iter_bytes())
    assert audio.startswith(b"RIFF")
    record = _last_record(chat_gateway, project_id, "audio/speech")
    assert record["cost_micro_usd"] == 165  # 11 characters at $15 per million


def test_moderations(project: tuple[str, openai.OpenAI]) -> None:
    _, client = project
    checked = client.moderations.create(input="I love the sea")
    assert checked.results
    assert checked.results[0].flagged is False


def test_what_is_refused(project: tuple[str, openai.OpenAI], chat_gateway: Gateway) -> None:
    _, client = project
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.generate(model="claude-3-5-sonnet-20241022", prompt="A lighthouse")
    assert refused.value.code == "model_not_supported"
    with pytest.raises(openai.NotFoundError):
        client.audio.speech.create(model="no-such-voice-model", voice="alloy", input="Hi")
    too_big = b"\x00" * (25 * 1024 * 1024 + 1)
    with pytest.raises(openai.APIStatusError) as oversize:
        client.audio.transcriptions.create(model="whisper-1", file=("big.wav", too_big, "audio/wav"))
    assert oversize.value.status_code == 413
    assert "25 MiB" in oversize.value.message
    key = client.api_key
    plain = httpx.post(
        f"{chat_gateway.url}/v1/audio/transcriptions",
        json={"model": "whisper-1"},
        headers={"authorization": f"Bearer {key}"},
    )
    assert plain.status_code == 400
    assert plain.json()["error"]["code"] == "invalid_content_type"
