"""Embeddings through the SDK (which asks for base64 and decodes it) and raw, where a provider has them."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Sequence
from typing import Any

import httpx
import openai
import pytest

from byokgate.emulators import content
from tests.emulators.conftest import Target


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


def test_sdk_gets_floats_back(embedding_target: Target) -> None:
    model = embedding_target.embedding_model or ""
    with embedding_target.client() as client:
        response = client.embeddings.create(
            model=model, input=["The cat sat on the mat.", "Quarterly revenue rose."]
        )
    assert [item.index for item in response.data] == [0, 1]
    vector = response.data[0].embedding
    assert len(vector) == 1536
    assert all(isinstance(value, float) for value in vector)
    assert math.isclose(sum(value * value for value in vector), 1.0, rel_tol=1e-4)
    expected = content.embed("The cat sat on the mat.", 1536)
    assert max(abs(a - b) for a, b in zip(vector, expected, strict=True)) < 1e-6  # float32 precision
    assert response.usage.prompt_tokens == content.count_tokens("The cat sat on the mat.") + 4
    assert response.model == model
    recorded = embedding_target.emulator.requests[-1].body
    assert recorded["encoding_format"] == "base64"  # what the SDK asks for by default


async def test_async_dimensions_and_token_input(embedding_target: Target) -> None:
    model = embedding_target.embedding_model or ""
    async with embedding_target.async_client() as client:
        response = await client.embeddings.create(model=model, input="hello world", dimensions=64)
        tokens = await client.embeddings.create(
            model=model, input=[[1, 2, 3], [4, 5]], encoding_format="float"
        )
    assert len(response.data[0].embedding) == 64
    assert len(tokens.data) == 2
    assert tokens.usage.prompt_tokens == 5


def test_raw_float_and_base64_agree(embedding_target: Target) -> None:
    url = f"{embedding_target.base_url}/embeddings"
    body = {"model": embedding_target.embedding_model, "input": "same text"}
    floats = httpx.post(url, json=body, headers=embedding_target.auth()).json()
    encoded = httpx.post(
        url, json={**body, "encoding_format": "base64"}, headers=embedding_target.auth()
    ).json()
    assert floats["object"] == "list"
    assert floats["data"][0]["object"] == "embedding"
    raw = base64.b64decode(encoded["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert max(abs(a - b) for a, b in zip(decoded, floats["data"][0]["embedding"], strict=True)) < 1e-6


def test_near_duplicates_are_closer_than_unrelated_text(embedding_target: Target) -> None:
    texts = [
        "How do I reset my account password?",
        "How can I reset the password of my account?",
        "The volcano erupted over the northern islands.",
    ]
    with embedding_target.client() as client:
        response = client.embeddings.create(model=embedding_target.embedding_model or "", input=texts)
    vectors = [item.embedding for item in response.data]
    assert cosine(vectors[0], vectors[1]) > 0.6
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.3


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"input": ""}, 400),
        ({"input": []}, 400),
        ({"input": [1, "two"]}, 400),
        ({}, 400),
        ({"input": "x", "encoding_format": "hex"}, 400),
        ({"input": "x", "dimensions": 100_000}, 400),
        ({"input": "x", "model": "gpt-4o-nope"}, 404),
    ],
)
def test_embedding_validation(embedding_target: Target, body: dict[str, Any], status: int) -> None:
    payload = {"model": embedding_target.embedding_model, **body}
    response = httpx.post(
        f"{embedding_target.base_url}/embeddings", json=payload, headers=embedding_target.auth()
    )
    expected = 400 if embedding_target.name == "openrouter" else status  # OpenRouter: unknown model is a 400
    assert response.status_code == expected


def test_ada_does_not_take_dimensions(get_target: Any) -> None:
    target: Target = get_target("openai")
    body = {"model": "text-embedding-ada-002", "input": "x", "dimensions": 8}
    response = httpx.post(f"{target.base_url}/embeddings", json=body, headers=target.auth())
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "This model does not support specifying dimensions."


def test_large_model_default_dimension(get_target: Any) -> None:
    target: Target = get_target("openai")
    with target.client() as client:
        response = client.embeddings.create(model="text-embedding-3-large", input="x")
    assert len(response.data[0].embedding) == 3072


def test_groq_has_the_endpoint_but_no_embedding_model(get_target: Any) -> None:
    target: Target = get_target("groq")
    with target.client() as client, pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="nomic-embed-text-v1_5", input="x")
