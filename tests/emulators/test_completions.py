"""OpenAI's legacy completions on the OpenAI emulator, through the official SDK: text, prompts and
choices, stop and max_tokens, echo, suffix, logprobs, streams (every chunk the SDK's type, checked
strictly), the real API's refusals, the context-window error, faults, and the new models in the catalog."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types import Completion
from pydantic import TypeAdapter

from byokgate.emulators import Fault, content
from byokgate.emulators.openai_completions import completion_text, pieces
from tests.emulators.conftest import Target

MODEL = "gpt-3.5-turbo-instruct"
PROMPT = "Say this is a test"
STRICT = TypeAdapter(Completion)
HELLO: Any = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def openai_target(get_target: Any) -> Target:
    target: Target = get_target("openai")
    return target


@pytest.fixture
def sdk(openai_target: Target) -> Iterator[openai.OpenAI]:
    with openai_target.client() as client:
        yield client


def post(target: Target, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(f"{target.base_url}/completions", json=body, headers={**target.auth(), **headers})


def expected(prompt: str, max_tokens: int = 16) -> str:
    return content.truncate_to_tokens(completion_text(prompt), max_tokens)


def strict_chunk(chunk: dict[str, Any]) -> None:
    """A stream chunk checked strictly against `Completion`; the wire's `finish_reason: null` (the real
    API's, per the spec's example) is the one thing the SDK's type does not allow."""
    choices = [{**choice, "finish_reason": choice["finish_reason"] or "stop"} for choice in chunk["choices"]]
    STRICT.validate_python({**chunk, "choices": choices}, strict=True)


def test_text_and_usage(sdk: openai.OpenAI, openai_target: Target) -> None:
    completion = sdk.completions.create(model=MODEL, prompt=PROMPT)
    assert completion.object == "text_completion"
    assert completion.id.startswith("cmpl-")
    assert completion.model == MODEL
    choice = completion.choices[0]
    assert choice.text == expected(PROMPT)  # max_tokens defaults to 16
    assert choice.finish_reason == "length"
    assert choice.logprobs is None
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == content.count_tokens(PROMPT)
    assert completion.usage.completion_tokens == 16
    raw = post(openai_target, {"model": MODEL, "prompt": PROMPT})
    STRICT.validate_python(raw.json(), strict=True)
    assert raw.headers["x-ratelimit-limit-requests"] == "10000"
    assert raw.json()["choices"][0]["text"] == choice.text


def test_max_tokens_stop_and_n(sdk: openai.OpenAI) -> None:
    whole = sdk.completions.create(model="davinci-002", prompt=PROMPT, max_tokens=200)
    assert whole.choices[0].text == completion_text(PROMPT)
    assert whole.choices[0].finish_reason == "stop"
    stopped = sdk.completions.create(model=MODEL, prompt=PROMPT, max_tokens=200, stop=["."])
    assert stopped.choices[0].text == completion_text(PROMPT).split(".")[0]
    assert stopped.choices[0].finish_reason == "stop"
    none = sdk.completions.create(model=MODEL, prompt=PROMPT, max_tokens=0)
    assert (none.choices[0].text, none.choices[0].finish_reason) == ("", "length")
    many = sdk.completions.create(model="babbage-002", prompt=["First one", "Second"], n=2, max_tokens=4)
    assert [choice.index for choice in many.choices] == [0, 1, 2, 3]
    assert [choice.text for choice in many.choices] == [expected("First one", 4)] * 2 + [
        expected("Second", 4)
    ] * 2
    assert many.usage is not None
    assert many.usage.completion_tokens == 16
    tokens = sdk.completions.create(model=MODEL, prompt=[1212, 318, 257])
    assert tokens.usage is not None
    assert tokens.usage.prompt_tokens == 3


def test_echo_suffix_and_logprobs(sdk: openai.OpenAI, openai_target: Target) -> None:
    echoed = sdk.completions.create(model=MODEL, prompt=PROMPT, echo=True, max_tokens=5)
    assert echoed.choices[0].text == PROMPT + expected(PROMPT, 5)
    assert sdk.completions.create(model=MODEL, prompt=PROMPT, suffix=" end.").choices[0].text == expected(
        PROMPT
    )
    with pytest.raises(openai.BadRequestError):
        sdk.completions.create(model="davinci-002", prompt=PROMPT, suffix=" end.")
    scored = sdk.completions.create(model=MODEL, prompt=PROMPT, logprobs=3, max_tokens=6)
    logprobs = scored.choices[0].logprobs
    assert logprobs is not None
    assert logprobs.tokens is not None
    assert logprobs.text_offset is not None
    assert logprobs.top_logprobs is not None
    assert "".join(logprobs.tokens) == scored.choices[0].text
    assert logprobs.tokens == pieces(scored.choices[0].text)
    assert logprobs.text_offset[0] == len(PROMPT)
    for token, top in zip(logprobs.tokens, logprobs.top_logprobs, strict=True):
        assert token in top
        assert len(top) <= 4
    raw = post(openai_target, {"model": MODEL, "prompt": PROMPT, "logprobs": 3, "max_tokens": 6}).json()
    STRICT.validate_python(raw, strict=True)
    assert raw == {**raw, "choices": [{**raw["choices"][0], "text": scored.choices[0].text}]}
    both = post(openai_target, {"model": MODEL, "prompt": PROMPT, "logprobs": 1, "echo": True}).json()
    first = both["choices"][0]["logprobs"]
    assert (first["token_logprobs"][0], first["top_logprobs"][0], first["text_offset"][0]) == (None, None, 0)


def test_stream(sdk: openai.OpenAI, openai_target: Target) -> None:
    body: Any = {"model": MODEL, "prompt": PROMPT, "max_tokens": 30, "logprobs": 1}
    whole = sdk.completions.create(**body)
    chunks = list(sdk.completions.create(**body, stream=True, stream_options={"include_usage": True}))
    assert all(chunk.object == "text_completion" and chunk.id == chunks[0].id for chunk in chunks)
    assert "".join(chunk.choices[0].text for chunk in chunks if chunk.choices) == whole.choices[0].text
    finishes = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices]
    assert finishes[-1] == whole.choices[0].finish_reason
    assert set(finishes[:-1]) == {None}
    assert chunks[-1].choices == []
    assert chunks[-1].usage == whole.usage
    assert len(chunks) > 3
    wire = post(openai_target, {**body, "stream": True, "stream_options": {"include_usage": True}})
    assert wire.headers["content-type"].startswith("text/event-stream")
    blocks = [block for block in wire.text.split("\n\n") if block]
    assert blocks[-1] == "data: [DONE]"
    for block in blocks[:-1]:
        chunk = json.loads(block.removeprefix("data: "))
        strict_chunk(chunk)
        assert "usage" in chunk


def test_wrong_model_kinds(sdk: openai.OpenAI, openai_target: Target) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        sdk.completions.create(model="gpt-4o-mini", prompt=PROMPT)
    assert info.value.body == {
        "message": "This is a chat model and not supported in the v1/completions endpoint. Did you mean to "
        "use v1/chat/completions?",
        "type": "invalid_request_error",
        "param": "model",
        "code": None,
    }
    with pytest.raises(openai.NotFoundError) as info:
        sdk.chat.completions.create(model=MODEL, messages=HELLO)
    body: Any = info.value.body
    assert body["message"] == (
        "This is not a chat model and thus not supported in the v1/chat/completions endpoint. Did you mean "
        "to use v1/completions?"
    )
    assert (body["param"], body["code"]) == ("model", None)
    with pytest.raises(openai.NotFoundError) as info:
        sdk.completions.create(model="no-such-model", prompt=PROMPT)
    assert info.value.code == "model_not_found"


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({}, "prompt", "missing_required_parameter"),
        ({"prompt": PROMPT, "n": 0}, "n", "integer_below_min_value"),
        ({"prompt": PROMPT, "logprobs": 6}, "logprobs", "integer_above_max_value"),
        ({"prompt": PROMPT, "temperature": 2.5}, "temperature", "decimal_above_max_value"),
        ({"prompt": PROMPT, "max_tokens": -1}, "max_tokens", "integer_below_min_value"),
        ({"prompt": PROMPT, "stream_options": {"include_usage": True}}, "stream_options", None),
        ({"prompt": PROMPT, "stop": ["a", "b", "c", "d", "e"]}, "stop", "invalid_type"),
        ({"prompt": PROMPT, "n": 3, "best_of": 2}, "best_of", None),
        ({"prompt": {"text": PROMPT}}, None, None),
    ],
)
def test_validation(openai_target: Target, body: dict[str, Any], param: str | None, code: str | None) -> None:
    response = post(openai_target, {"model": MODEL, **body})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")


def test_context_window(openai_target: Target) -> None:
    response = post(openai_target, {"model": MODEL, "prompt": PROMPT, "max_tokens": 5000})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "This model's maximum context length is 4096 tokens, however you requested 5005 tokens (5 in your "
        "prompt; 5000 for the completion). Please reduce your prompt; or completion length."
    )
    faulted = post(
        openai_target, {"model": MODEL, "prompt": PROMPT}, **{"x-emulator-fault": "context_length"}
    )
    assert "you requested 4117 tokens (4101 in your prompt; 16" in faulted.json()["error"]["message"]
    refused = post(
        openai_target, {"model": MODEL, "prompt": PROMPT}, **{"x-emulator-fault": "content_filter"}
    )
    assert refused.json()["error"]["code"] == "content_policy_violation"


def test_faults_and_recorder(sdk: openai.OpenAI, openai_target: Target) -> None:
    openai_target.emulator.arm(Fault("429", endpoint="completions", retry_after_s=3))
    assert sdk.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices  # not chat's fault
    with pytest.raises(openai.RateLimitError) as info:
        sdk.completions.create(model=MODEL, prompt=PROMPT)
    assert info.value.response.headers["retry-after"] == "3"
    assert sdk.completions.create(model=MODEL, prompt=PROMPT).choices
    broken = post(
        openai_target, {"model": MODEL, "prompt": PROMPT, "stream": True}, **{"x-emulator-fault": "no_done"}
    )
    assert "[DONE]" not in broken.text
    recorded = openai_target.emulator.requests[-1]
    assert recorded.path == "/v1/completions"
    assert recorded.body["prompt"] == PROMPT


NEW_MODELS = {
    "gpt-3.5-turbo-instruct": "completions",
    "davinci-002": "completions",
    "dall-e-3": "images",
    "gpt-image-1": "images",
    "whisper-1": "transcriptions",
    "gpt-4o-transcribe": "transcriptions",
    "tts-1": "speech",
    "gpt-4o-mini-tts": "speech",
    "omni-moderation-latest": "moderations",
}


def test_catalog(sdk: openai.OpenAI, get_target: Any) -> None:
    listed = {model.id for model in sdk.models.list()}
    assert set(NEW_MODELS) <= listed
    for model_id in NEW_MODELS:
        assert sdk.models.retrieve(model_id).id == model_id
    groq: Target = get_target("groq")
    with groq.client() as client:
        assert {"whisper-large-v3", "whisper-large-v3-turbo"} <= {model.id for model in client.models.list()}
        for path in ("/completions", "/images/generations", "/audio/speech", "/moderations"):
            response = httpx.post(f"{groq.base_url}{path}", json={}, headers=groq.auth())
            assert response.status_code == 404, path
