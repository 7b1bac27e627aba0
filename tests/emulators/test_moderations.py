"""OpenAI's moderations on the OpenAI emulator, through the official SDK: flagged trigger words, every
category the SDK's `Moderation` declares (checked strictly), arrays, multi-modal input, the real API's
refusals and faults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types import ModerationCreateResponse, ModerationMultiModalInputParam
from openai.types.moderation import Categories
from pydantic import TypeAdapter

from byokgate.emulators import Fault
from tests.emulators.conftest import Target

STRICT = TypeAdapter(ModerationCreateResponse)
CATEGORIES = {field.alias or name for name, field in Categories.model_fields.items()}


@pytest.fixture
def openai_target(get_target: Any) -> Target:
    target: Target = get_target("openai")
    return target


@pytest.fixture
def sdk(openai_target: Target) -> Iterator[openai.OpenAI]:
    with openai_target.client() as client:
        yield client


def post(target: Target, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{target.base_url}/moderations", json=body, headers=target.auth())


def test_flags_trigger_words(sdk: openai.OpenAI, openai_target: Target) -> None:
    response = sdk.moderations.create(input="I will kill them all.")
    assert response.id.startswith("modr-")
    assert response.model == "omni-moderation-latest"
    result = response.results[0]
    assert result.flagged
    assert result.categories.violence
    assert not result.categories.harassment
    assert result.category_scores.violence >= 0.9
    assert result.category_scores.harassment < 0.01
    assert result.category_applied_input_types.violence == ["text"]
    raw = post(openai_target, {"input": "I will kill them all."}).json()
    STRICT.validate_python(raw, strict=True)
    for part in ("categories", "category_scores", "category_applied_input_types"):
        assert set(raw["results"][0][part]) == CATEGORIES
    assert raw["results"][0]["category_scores"] == result.category_scores.model_dump(by_alias=True)  # stable


def test_arrays_and_subcategories(sdk: openai.OpenAI) -> None:
    response = sdk.moderations.create(
        input=["Hello there", "So much gore here"], model="text-moderation-latest"
    )
    assert response.model == "text-moderation-latest"
    assert [result.flagged for result in response.results] == [False, True]
    graphic = response.results[1].categories
    assert graphic.violence_graphic
    assert graphic.violence  # a flagged sub-category flags its parent


def test_multimodal(sdk: openai.OpenAI, openai_target: Target) -> None:
    parts: list[ModerationMultiModalInputParam] = [
        {"type": "text", "text": "A quiet afternoon"},
        {"type": "image_url", "image_url": {"url": "https://example.com/gore.png"}},
    ]
    response = sdk.moderations.create(model="omni-moderation-latest", input=parts)
    assert len(response.results) == 1
    result = response.results[0]
    assert result.flagged
    assert result.categories.violence_graphic
    assert result.category_applied_input_types.violence == ["text", "image"]
    assert result.category_applied_input_types.harassment == ["text"]
    image_only = [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]
    raw = post(openai_target, {"input": image_only}).json()
    STRICT.validate_python(raw, strict=True)
    assert raw["results"][0]["category_applied_input_types"]["hate"] == []
    refused = post(openai_target, {"input": image_only, "model": "text-moderation-stable"})
    assert refused.status_code == 400


def test_refusals(sdk: openai.OpenAI, openai_target: Target) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        sdk.moderations.create(input="hello", model="gpt-4o-mini")
    assert info.value.body == {
        "message": "Invalid value for 'model' = gpt-4o-mini. "
        "Please check the OpenAI documentation and try again.",
        "type": "invalid_request_error",
        "param": "model",
        "code": None,
    }
    missing = post(openai_target, {"model": "omni-moderation-latest"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "missing_required_parameter")
    wrong = post(openai_target, {"input": 42})
    assert wrong.json()["error"]["code"] == "invalid_type"


def test_faults(sdk: openai.OpenAI, openai_target: Target) -> None:
    openai_target.emulator.arm(Fault("429", endpoint="moderations", retry_after_s=2))
    with pytest.raises(openai.RateLimitError) as info:
        sdk.moderations.create(input="hello")
    assert info.value.response.headers["retry-after"] == "2"
    assert not sdk.moderations.create(input="hello").results[0].flagged
    with pytest.raises(openai.APIConnectionError):
        sdk.moderations.create(input="hello", extra_headers={"x-emulator-fault": "reset"})
    assert openai_target.emulator.requests[-1].body == {"input": "hello"}
