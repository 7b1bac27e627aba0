"""Models endpoints: OpenAI's list shape (with Groq's extras) and OpenRouter's own."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tests.emulators.conftest import Target


def test_sdk_lists_models(target: Target, client: openai.OpenAI) -> None:
    ids = [model.id for model in client.models.list()]
    assert target.chat_model in ids
    expected = {
        "openai": {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini", "o4-mini", "text-embedding-3-small"},
        "groq": {"llama-3.3-70b-versatile", "llama-3.1-8b-instant", "openai/gpt-oss-120b"},
        "openrouter": {"openai/gpt-4o", "anthropic/claude-3.5-sonnet", "meta-llama/llama-3.3-70b-instruct"},
    }[target.name]
    assert expected <= set(ids)


def test_openai_and_groq_shapes(get_target: Any) -> None:
    for name in ("openai", "groq"):
        target: Target = get_target(name)
        body = httpx.get(f"{target.base_url}/models", headers=target.auth()).json()
        assert body["object"] == "list"
        model = body["data"][0]
        assert {"id", "object", "created", "owned_by"} <= set(model)
        assert model["object"] == "model"
        if name == "groq":
            assert model["context_window"] > 0
            assert model["active"] is True
        with target.client() as client:
            assert client.models.retrieve(target.chat_model).id == target.chat_model
            with pytest.raises(openai.NotFoundError):
                client.models.retrieve("no-such-model")


def test_groq_retrieves_slashed_ids(get_target: Any) -> None:
    target: Target = get_target("groq")
    with target.client() as client:
        assert client.models.retrieve("openai/gpt-oss-120b").owned_by == "OpenAI"


def test_openrouter_shape_and_public_listing(get_target: Any) -> None:
    target: Target = get_target("openrouter")
    response = httpx.get(f"{target.base_url}/models")  # no key needed
    assert response.status_code == 200
    body = response.json()
    assert "object" not in body
    assert body["total_count"] == len(body["data"])
    assert body["links"] == {"next": None}
    model = next(item for item in body["data"] if item["id"] == "anthropic/claude-3.5-sonnet")
    assert "object" not in model
    assert "owned_by" not in model
    assert isinstance(model["pricing"]["prompt"], str)
    assert model["context_length"] == 200000
    assert model["architecture"]["modality"] == "text->text"
    embeddings = httpx.get(f"{target.base_url}/embeddings/models", headers=target.auth()).json()
    assert [item["id"] for item in embeddings["data"]] == [
        "openai/text-embedding-3-small",
        "openai/text-embedding-3-large",
    ]


def test_openrouter_key_endpoint(get_target: Any) -> None:
    target: Target = get_target("openrouter")
    assert httpx.get(f"{target.base_url}/key").status_code == 401
    data = httpx.get(f"{target.base_url}/key", headers=target.auth()).json()["data"]
    assert data["limit"] is None
    assert data["is_free_tier"] is False


def test_models_need_a_key_where_the_real_api_does(get_target: Any) -> None:
    for name in ("openai", "groq"):
        target: Target = get_target(name)
        with target.client(api_key="wrong") as client, pytest.raises(openai.AuthenticationError):
            client.models.list()
