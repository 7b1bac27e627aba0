"""GET /v1/models and /v1/models/{id} through the official SDKs: OpenAI's shapes with a Bearer key, and
Anthropic's (``type``, ``display_name``, ``created_at``, cursor pages, its error shape) for the Anthropic
SDK, which sends ``x-api-key`` and ``anthropic-version``."""

from __future__ import annotations

import anthropic
import openai
import pytest

from tests.proxy.conftest import Gateway

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

GROQ = "gsk_" + "d" * 52
ANTHROPIC = "sk-ant-api03-" + "d" * 80


def test_openai_sdk_lists_and_retrieves(gateway: Gateway) -> None:
    _, key = gateway.project(groq=GROQ)
    client = gateway.client(key)
    model = client.models.retrieve("llama-3.3-70b-versatile")
    assert model.id == "llama-3.3-70b-versatile"
    assert model.owned_by == "groq"
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("gpt-4o")  # no OpenAI key in this project
    assert missing.value.code == "model_not_found"


def test_anthropic_sdk_lists_and_retrieves(gateway: Gateway) -> None:
    _, key = gateway.project(anthropic=ANTHROPIC, groq=GROQ)
    with anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0) as client:
        every = list(client.models.list(limit=3))  # several pages, followed by the SDK with after_id
        ids = [model.id for model in every]
        assert "claude-3-5-sonnet-20241022" in ids
        assert "llama-3.3-70b-versatile" in ids
        assert len(ids) == len(set(ids)) > 3
        assert all(model.type == "model" and model.display_name for model in every)
        first = client.models.list(limit=2)
        assert first.has_more
        assert [m.id for m in first.data] == ids[:2]
        one = client.models.retrieve("claude-3-5-sonnet-20241022")
        assert one.type == "model"
        assert one.id == "claude-3-5-sonnet-20241022"
        with pytest.raises(anthropic.NotFoundError) as missing:
            client.models.retrieve("gpt-4o")
        assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    with anthropic.Anthropic(base_url=gateway.url, api_key="lgw_proj_wrong", max_retries=0) as client:
        with pytest.raises(anthropic.AuthenticationError) as refused:
            client.models.list()
        assert refused.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
