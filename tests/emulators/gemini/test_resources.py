"""Gemini countTokens, embeddings (embedContent / batchEmbedContents) and the models resources, through the
SDK and on the wire."""

from __future__ import annotations

import httpx
import pytest
from google import genai
from google.genai import errors, types

from byokgate.emulators import EmulatorServer, content
from byokgate.emulators.gemini_models import CATALOG
from tests.emulators.gemini.support import FLASH_20, KEY, QUESTION, TOOLS, error_of, post, user

IMAGE = {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}


# countTokens --------------------------------------------------------------------------------------------


def test_count_tokens_matches_the_prompt_count(client: genai.Client) -> None:
    counted = client.models.count_tokens(model=FLASH_20, contents=QUESTION)
    assert counted.total_tokens == content.count_tokens(QUESTION) == 6
    generated = client.models.generate_content(model=FLASH_20, contents=QUESTION)
    assert generated.usage_metadata is not None
    assert generated.usage_metadata.prompt_token_count == counted.total_tokens


def test_count_tokens_on_the_wire(server: EmulatorServer) -> None:
    with_image = {"contents": [{"role": "user", "parts": [{"text": QUESTION}, IMAGE]}]}
    assert post(server, "countTokens", with_image).json() == {
        "totalTokens": 6 + 258,
        "promptTokensDetails": [
            {"modality": "TEXT", "tokenCount": 6},
            {"modality": "IMAGE", "tokenCount": 258},
        ],
    }
    tools = [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in TOOLS]
    whole = {
        "generateContentRequest": {
            "contents": [user(QUESTION)],
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "tools": tools,
        }
    }
    generated = post(server, "generateContent", whole["generateContentRequest"]).json()
    counted = post(server, "countTokens", whole).json()
    assert counted["totalTokens"] == generated["usageMetadata"]["promptTokenCount"] > 6 + 3
    both = post(server, "countTokens", {**whole, "contents": [user("x")]})
    assert error_of(both)["message"] == (
        "* CountTokensRequest.contents: contents and generate_content_request cannot both be set\n"
    )


# embeddings ---------------------------------------------------------------------------------------------


def test_embed_content_batch_through_the_sdk(server: EmulatorServer, client: genai.Client) -> None:
    texts = ["The cat sat on the mat.", "A dog barked."]
    config = types.EmbedContentConfig(output_dimensionality=8, task_type="RETRIEVAL_QUERY")
    result = client.models.embed_content(model="gemini-embedding-001", contents=texts, config=config)
    values = [embedding.values for embedding in result.embeddings or []]
    # Truncated Matryoshka-style: the first 8 values of the 3072-dimension vector, not normalised again.
    assert values == [pytest.approx(content.embed(text, 3072)[:8]) for text in texts]
    assert server.emulator.requests[-1].path == "/v1/models/gemini-embedding-001:batchEmbedContents"
    full = client.models.embed_content(model="text-embedding-004", contents="hello")
    assert len((full.embeddings or [])[0].values or []) == 768


def test_embed_content_on_the_wire(server: EmulatorServer) -> None:
    body = {"content": {"parts": [{"text": "hello"}, {"text": "world"}]}, "outputDimensionality": 4}
    response = post(server, "embedContent", body, model="text-embedding-004")
    assert response.json() == {"embedding": {"values": pytest.approx(content.embed("hello\nworld", 768)[:4])}}
    too_big = post(server, "embedContent", {**body, "outputDimensionality": 1000}, model="text-embedding-004")
    assert error_of(too_big)["message"] == (
        "* EmbedContentRequest.output_dimensionality: output_dimensionality must be between 1 and 768\n"
    )
    chat_model = post(server, "embedContent", body, model=FLASH_20)
    assert chat_model.status_code == 404
    assert "is not supported for embedContent" in error_of(chat_model)["message"]


def test_batch_rules(server: EmulatorServer) -> None:
    item = {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "hi"}]}}
    wrong_model = post(
        server,
        "batchEmbedContents",
        {"requests": [item, {**item, "model": "models/text-embedding-004"}]},
        model="gemini-embedding-001",
    )
    assert error_of(wrong_model)["message"] == (
        "* BatchEmbedContentsRequest.requests[1].model: the model must be the one in the URL "
        "(models/gemini-embedding-001)\n"
    )
    too_many = post(server, "batchEmbedContents", {"requests": [item] * 101}, model="gemini-embedding-001")
    assert error_of(too_many)["message"] == (
        "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n"
    )
    empty = post(
        server,
        "batchEmbedContents",
        {"requests": [{**item, "content": {"parts": [IMAGE]}}]},
        model="gemini-embedding-001",
    )
    assert error_of(empty)["message"] == (
        "* BatchEmbedContentsRequest.requests[0].content.parts: contents.parts must not be empty.\n"
    )


# models -------------------------------------------------------------------------------------------------


def test_models_list_pages_through_the_sdk(client: genai.Client) -> None:
    names = [model.name for model in client.models.list(config={"page_size": 4})]
    assert names == [f"models/{model.id}" for model in CATALOG]
    assert "models/gemini-3-pro-preview" in names


def test_models_list_paging_on_the_wire(server: EmulatorServer) -> None:
    url = f"{server.url}/v1beta/models"
    headers = {"x-goog-api-key": KEY}
    first = httpx.get(url, params={"pageSize": 4}, headers=headers).json()
    assert [model["name"] for model in first["models"]] == [f"models/{model.id}" for model in CATALOG[:4]]
    second = httpx.get(
        url, params={"pageSize": 4, "pageToken": first["nextPageToken"]}, headers=headers
    ).json()
    assert second["models"][0]["name"] == f"models/{CATALOG[4].id}"
    last = httpx.get(
        url, params={"pageSize": 4, "pageToken": second["nextPageToken"]}, headers=headers
    ).json()
    assert "nextPageToken" not in last
    assert len(first["models"]) + len(second["models"]) + len(last["models"]) == len(CATALOG)
    everything = httpx.get(url, headers=headers).json()
    assert len(everything["models"]) == len(CATALOG)
    assert "nextPageToken" not in everything
    bad = httpx.get(url, params={"pageToken": "nope"}, headers=headers)
    assert bad.status_code == 400
    assert error_of(bad) == {"code": 400, "message": "Invalid page token.", "status": "INVALID_ARGUMENT"}
    assert httpx.get(url).status_code == 403


def test_get_model(client: genai.Client, server: EmulatorServer) -> None:
    model = client.models.get(model="gemini-2.5-flash")
    assert model.name == "models/gemini-2.5-flash"
    assert model.display_name == "Gemini 2.5 Flash"
    assert model.input_token_limit == 1_048_576
    assert model.output_token_limit == 65_536
    assert model.supported_actions == [
        "generateContent",
        "countTokens",
        "createCachedContent",
        "batchGenerateContent",
    ]
    assert model.thinking is True
    raw = httpx.get(f"{server.url}/v1beta/models/text-embedding-004", headers={"x-goog-api-key": KEY}).json()
    assert raw["supportedGenerationMethods"][0] == "embedContent"
    assert "thinking" not in raw
    with pytest.raises(errors.ClientError) as info:
        client.models.get(model="gemini-9-ultra")
    assert info.value.code == 404
    assert info.value.message == "Model is not found: models/gemini-9-ultra for api version v1"
