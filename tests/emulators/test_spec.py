"""The OpenAI emulator's answers validate against the official OpenAPI spec's schemas."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.emulators.conftest import Target
from tests.support.openapi_spec import assert_valid

HELLO = [{"role": "user", "content": "Hello, what is the weather in Paris?"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


@pytest.fixture
def openai_target(get_target: Any) -> Target:
    target: Target = get_target("openai")
    return target


def _post(target: Target, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{target.base_url}{path}", json=body, headers=target.auth())


def _events(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in response.text.split("\n\n") if line.startswith("data: {")]


@pytest.mark.parametrize("tools", [None, TOOLS])
def test_completion_matches_the_spec(openai_target: Target, tools: Any) -> None:
    body = {"model": "gpt-4o", "messages": HELLO, **({"tools": tools} if tools else {})}
    assert_valid("CreateChatCompletionResponse", _post(openai_target, "/chat/completions", body).json())


@pytest.mark.parametrize("tools", [None, TOOLS])
def test_stream_chunks_match_the_spec(openai_target: Target, tools: Any) -> None:
    body = {"model": "gpt-4o", "messages": HELLO, "stream": True, "stream_options": {"include_usage": True}}
    chunks = _events(
        _post(openai_target, "/chat/completions", {**body, **({"tools": tools} if tools else {})})
    )
    assert len(chunks) > 3
    for chunk in chunks:
        assert_valid("CreateChatCompletionStreamResponse", chunk)


def test_errors_embeddings_and_models_match_the_spec(openai_target: Target) -> None:
    error = _post(openai_target, "/chat/completions", {"model": "gpt-4o", "messages": []}).json()
    assert_valid("ErrorResponse", error)
    embeddings = _post(openai_target, "/embeddings", {"model": "text-embedding-3-small", "input": ["a", "b"]})
    assert_valid("CreateEmbeddingResponse", embeddings.json())
    models = httpx.get(f"{openai_target.base_url}/models", headers=openai_target.auth()).json()
    assert_valid("ListModelsResponse", models)
    assert_valid("Model", models["data"][0])


def test_the_loader_catches_a_broken_answer() -> None:
    with pytest.raises(AssertionError, match="CreateChatCompletionResponse"):
        assert_valid("CreateChatCompletionResponse", {"id": 1, "object": "chat.completion", "choices": []})
