"""OpenAI's images endpoints on the OpenAI emulator, through the official SDK: generations (url answers
served by the emulator, b64 PNGs, dall-e-3's revised prompt, GPT image usage and streams), edits and
variations as multipart uploads, the real API's per-model refusals, the safety refusal, faults and what the
recorder keeps. Every JSON answer is checked strictly against the SDK's `ImagesResponse`."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types import ImageGenCompletedEvent, ImageGenPartialImageEvent, ImagesResponse
from pydantic import TypeAdapter

from byokgate.emulators import Fault, media_image
from tests.emulators.conftest import Target

STRICT = TypeAdapter(ImagesResponse)
PROMPT = "A cute baby sea otter"
RGBA = media_image.png(b"test", 32, 32, alpha=True)
RGB = media_image.png(b"test", 32, 32)


@pytest.fixture
def openai_target(get_target: Any) -> Target:
    target: Target = get_target("openai")
    return target


@pytest.fixture
def sdk(openai_target: Target) -> Iterator[openai.OpenAI]:
    with openai_target.client() as client:
        yield client


def generate(target: Target, body: dict[str, Any], **headers: str) -> httpx.Response:
    url = f"{target.base_url}/images/generations"
    return httpx.post(url, json={"prompt": PROMPT, **body}, headers={**target.auth(), **headers})


def message(error: openai.APIStatusError) -> str:
    body: Any = error.body
    return str(body["message"])


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def test_dall_e_2_url_served_by_the_emulator(sdk: openai.OpenAI, openai_target: Target) -> None:
    response = sdk.images.generate(prompt=PROMPT, n=2, size="512x512")  # dall-e-2 by default
    assert len(response.data or []) == 2
    urls = [image.url or "" for image in response.data or []]
    assert urls[0] != urls[1]
    assert all(image.b64_json is None and image.revised_prompt is None for image in response.data or [])
    picture = httpx.get(urls[0])  # no key, like the real API's signed URLs
    assert picture.headers["content-type"] == "image/png"
    info = media_image.png_info(picture.content)
    assert info is not None
    assert (info.width, info.height, info.mode) == (32, 32, "RGB")
    again = sdk.images.generate(prompt=PROMPT, n=2, size="512x512")
    assert [image.url for image in again.data or []] == urls  # deterministic
    assert httpx.get(urls[0].replace(".png", "x.png")).status_code == 404
    raw = generate(openai_target, {"n": 2})
    STRICT.validate_python(raw.json(), strict=True)
    assert set(raw.json()) == {"created", "data"}


def test_dall_e_3_revised_prompt_and_b64(sdk: openai.OpenAI, openai_target: Target) -> None:
    response = sdk.images.generate(
        model="dall-e-3", prompt=PROMPT, size="1792x1024", style="natural", response_format="b64_json"
    )
    image = (response.data or [])[0]
    assert image.revised_prompt == f"A natural, understated image of the following scene: {PROMPT}."
    info = media_image.png_info(base64.b64decode(image.b64_json or ""))
    assert info is not None
    assert (info.width, info.height) == (112, 64)
    STRICT.validate_python(
        generate(openai_target, {"model": "dall-e-3", "quality": "hd"}).json(), strict=True
    )


def test_gpt_image(sdk: openai.OpenAI, openai_target: Target) -> None:
    response = sdk.images.generate(model="gpt-image-1", prompt=PROMPT, quality="high", size="1024x1536")
    image = (response.data or [])[0]
    assert image.url is None
    assert media_image.png_info(base64.b64decode(image.b64_json or "")) is not None
    assert (response.size, response.quality, response.background, response.output_format) == (
        "1024x1536",
        "high",
        "opaque",
        "png",
    )
    assert response.usage is not None
    assert response.usage.output_tokens == 6240
    assert response.usage.input_tokens_details.text_tokens == 5
    raw = generate(openai_target, {"model": "gpt-image-1", "n": 2, "background": "transparent"}).json()
    STRICT.validate_python(raw, strict=True)
    assert (raw["size"], raw["quality"], raw["background"], raw["usage"]["output_tokens"]) == (
        "1024x1024",
        "medium",
        "transparent",
        2 * 1056,
    )
    # a GPT-image-only parameter without a model picks a GPT image model
    assert "usage" in generate(openai_target, {"output_format": "webp"}).json()


def test_gpt_image_stream(sdk: openai.OpenAI) -> None:
    events = list(sdk.images.generate(model="gpt-image-1", prompt=PROMPT, stream=True, partial_images=2))
    assert [type(event) for event in events] == [
        ImageGenPartialImageEvent,
        ImageGenPartialImageEvent,
        ImageGenCompletedEvent,
    ]
    completed = events[-1]
    assert isinstance(completed, ImageGenCompletedEvent)
    assert completed.usage.output_tokens == 1056
    assert media_image.png_info(base64.b64decode(completed.b64_json)) is not None


SIZE = ("The size is not supported by this model.", None, "invalid_size")


def unknown(name: str) -> tuple[str, str, str]:
    return f"Unknown parameter: '{name}'.", name, "unknown_parameter"


REFUSALS: list[tuple[dict[str, Any], tuple[str | None, str | None, str | None]]] = [
    ({"model": "dall-e-3", "n": 2}, ("You must provide n=1 for this model.", None, None)),
    ({"model": "dall-e-3", "size": "256x256"}, SIZE),
    ({"model": "gpt-image-1", "size": "1792x1024"}, SIZE),
    ({"model": "gpt-image-1", "response_format": "url"}, unknown("response_format")),
    ({"model": "dall-e-2", "quality": "standard"}, unknown("quality")),
    ({"model": "dall-e-2", "style": "vivid"}, unknown("style")),
    ({"model": "dall-e-3", "background": "opaque"}, unknown("background")),
    ({"wat": 1}, unknown("wat")),
    ({"model": "gpt-4o"}, ("Invalid model gpt-4o. The model argument should be left blank.", None, None)),
    ({"n": 11}, (None, "n", "integer_above_max_value")),
    ({"size": "300x300"}, (None, "size", "invalid_value")),
    ({"model": "dall-e-3", "quality": "high"}, (None, "quality", "invalid_value")),
    ({"prompt": "x" * 1001}, (None, "prompt", "string_above_max_length")),
    ({"prompt": None}, ("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")),
]


@pytest.mark.parametrize(("body", "expected"), REFUSALS)
def test_refusals(
    openai_target: Target, body: dict[str, Any], expected: tuple[str | None, str | None, str | None]
) -> None:
    message, param, code = expected
    error = error_of(generate(openai_target, body))
    if message is not None:
        assert error["message"] == message
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")


def test_safety_refusal(sdk: openai.OpenAI, openai_target: Target) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        sdk.images.generate(prompt="A scene full of gore")
    assert info.value.code == "content_policy_violation"
    assert message(info.value).startswith("Your request was rejected as a result of our safety system.")
    filtered = generate(openai_target, {}, **{"x-emulator-fault": "content_filter"})
    assert error_of(filtered)["code"] == "content_policy_violation"


def test_edits(sdk: openai.OpenAI, openai_target: Target) -> None:
    edited = sdk.images.edit(
        model="dall-e-2", image=("otter.png", RGBA, "image/png"), prompt="Add a hat", n=2
    )
    assert len(edited.data or []) == 2
    assert (edited.data or [])[0].url
    masked = sdk.images.edit(
        model="dall-e-2",
        image=("otter.png", RGB, "image/png"),
        mask=("mask.png", RGBA, "image/png"),
        prompt="Add a hat",
        response_format="b64_json",
        size="256x256",
    )
    assert media_image.png_info(base64.b64decode((masked.data or [])[0].b64_json or "")) is not None
    with pytest.raises(openai.BadRequestError) as info:
        sdk.images.edit(model="dall-e-2", image=("otter.png", RGB, "image/png"), prompt="Add a hat")
    assert message(info.value).endswith("got RGB.")
    with pytest.raises(openai.BadRequestError) as info:
        sdk.images.edit(
            model="dall-e-2", image=("otter.jpg", b"\xff\xd8\xff\xe0", "image/jpeg"), prompt="Hat"
        )
    assert message(info.value) == "Uploaded image must be a PNG and less than 4 MB."
    gpt = sdk.images.edit(
        image=[("a.png", RGB, "image/png"), ("b.png", RGBA, "image/png")], prompt="Combine them"
    )  # gpt-image-1.5 by default
    assert gpt.usage is not None
    assert gpt.usage.input_tokens_details.image_tokens == 2 * 258
    with pytest.raises(openai.BadRequestError) as info:
        sdk.images.edit(model="gpt-image-1", image=("a.bin", RGB, "application/octet-stream"), prompt="Hat")
    assert message(info.value).startswith(
        "Invalid file 'image': unsupported mimetype ('application/octet-stream')"
    )
    recorded = openai_target.emulator.requests[-2]
    assert recorded.body["prompt"] == "Combine them"
    assert recorded.body["image[]"] == [
        {"filename": "a.png", "content_type": "image/png", "size": len(RGB)},
        {"filename": "b.png", "content_type": "image/png", "size": len(RGBA)},
    ]
    raw = httpx.post(
        f"{openai_target.base_url}/images/edits",
        files={"image": ("a.png", RGBA, "image/png")},
        data={"prompt": "Hat", "model": "dall-e-2"},
        headers=openai_target.auth(),
    )
    STRICT.validate_python(raw.json(), strict=True)
    as_json = httpx.post(
        f"{openai_target.base_url}/images/edits", json={"prompt": "Hat"}, headers=openai_target.auth()
    )
    assert error_of(as_json)["message"].startswith(
        "Invalid Content-Type header (application/json), expected multipart/form-data."
    )


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks create_variation deprecated
def test_variations(sdk: openai.OpenAI, openai_target: Target) -> None:
    varied = sdk.images.create_variation(image=("otter.png", RGB, "image/png"), n=3, size="256x256")
    assert len({image.url for image in varied.data or []}) == 3
    with pytest.raises(openai.BadRequestError) as info:
        sdk.images.create_variation(image=("otter.png", RGB, "image/png"), model="gpt-image-1")
    assert info.value.param == "model"
    wide = media_image.png(b"wide", 64, 32)
    with pytest.raises(openai.BadRequestError) as info:
        sdk.images.create_variation(image=("wide.png", wide, "image/png"))
    assert message(info.value) == "Uploaded image must be square."
    raw = httpx.post(
        f"{openai_target.base_url}/images/variations",
        files={"image": ("a.png", RGB, "image/png")},
        data={"response_format": "b64_json"},
        headers=openai_target.auth(),
    )
    STRICT.validate_python(raw.json(), strict=True)


def test_faults(sdk: openai.OpenAI, openai_target: Target) -> None:
    openai_target.emulator.arm(Fault("503", endpoint="images"))
    with pytest.raises(openai.InternalServerError):
        sdk.images.generate(prompt=PROMPT)
    assert sdk.images.generate(prompt=PROMPT).data
    with pytest.raises(openai.RateLimitError):
        sdk.images.generate(prompt=PROMPT, extra_headers={"x-emulator-fault": "429"})
    broken = generate(openai_target, {}, **{"x-emulator-fault": "malformed_chunk"})
    with pytest.raises(json.JSONDecodeError):
        broken.json()


def test_only_openai_serves_images(get_target: Any) -> None:
    for name in ("groq", "openrouter"):
        target: Target = get_target(name)
        response = httpx.post(
            f"{target.base_url}/images/generations", json={"prompt": "x"}, headers=target.auth()
        )
        assert response.status_code == 404
