"""Each provider's own API through the gateway (``/<provider>/...``), driven by that provider's own SDK: the
project key in whatever header the SDK sends, swapped for the project's provider key; answers and streams
untouched; usage and cost read on the way; recorded and audited like every request."""

from __future__ import annotations

import time
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types as genai_types

from byokgate.emulators import EmulatorServer
from tests.proxy.conftest import CHAT_KEYS as KEYS
from tests.proxy.conftest import Gateway

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _records(gateway: Gateway, project_id: str, count: int) -> list[dict[str, Any]]:
    for _ in range(300):
        records = gateway.admin.get(f"/projects/{project_id}/requests").json()["data"]
        if len(records) >= count:
            return list(records)
        time.sleep(0.02)
    raise AssertionError("the requests were not recorded")


@pytest.mark.parametrize(
    "base", ["/gemini", ""]
)  # google-genai at <gateway>/gemini, or at the gateway itself
def test_google_genai_sdk(
    chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer], base: str
) -> None:
    project_id, key = chat_gateway.project(**KEYS)
    client = genai.Client(api_key=key, http_options=genai_types.HttpOptions(base_url=chat_gateway.url + base))
    answer = client.models.generate_content(model="gemini-2.5-flash", contents="Tell me about the sea.")
    assert answer.text
    assert answer.usage_metadata is not None
    sent = chat_upstreams["gemini"].emulator.requests[-1]
    assert sent.api_key == KEYS["gemini"]  # the project's own Gemini key, never the project key
    assert key not in str(sent.headers)
    pieces = [
        chunk.text for chunk in client.models.generate_content_stream(model="gemini-2.5-flash", contents="Hi")
    ]
    assert "".join(p for p in pieces if p)
    records = _records(chat_gateway, project_id, 2)
    streamed, plain = records[0], records[1]  # newest first
    for record in (plain, streamed):
        assert record["endpoint"] == "native"
        assert record["provider"] == "gemini"
        assert record["resolved_model"] == "gemini-2.5-flash"
        assert record["status"] == 200
        assert record["prompt_tokens"] > 0
        assert record["cost_micro_usd"] is not None
    audit = chat_gateway.admin.get(f"/projects/{project_id}/audit").json()["data"]
    assert any(event["action"] == "provider_key.use" for event in audit)


def test_anthropic_sdk(chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer]) -> None:
    _, key = chat_gateway.project(**KEYS)
    with anthropic.Anthropic(base_url=f"{chat_gateway.url}/anthropic", api_key=key, max_retries=0) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-3-5-sonnet-20241022",
            max_tokens=100,
            messages=[{"role": "user", "content": "Hello"}],
        )
        assert raw.parse().content
        assert raw.headers["x-byokgate-provider"] == "anthropic"
        assert raw.headers["x-byokgate-cost-usd"]
        with client.messages.stream(
            model="claude-3-5-sonnet-20241022", max_tokens=100, messages=[{"role": "user", "content": "Hi"}]
        ) as stream:
            assert stream.get_final_text()
        tokens = client.messages.count_tokens(
            model="claude-3-5-sonnet-20241022", messages=[{"role": "user", "content": "Hi"}]
        )
        assert tokens.input_tokens > 0
    assert chat_upstreams["anthropic"].emulator.requests[-1].api_key == KEYS["anthropic"]


@pytest.mark.parametrize(
    ("provider", "base", "model"),
    [("openai", "/openai/v1", "gpt-4o"), ("groq", "/groq/openai/v1", "llama-3.3-70b-versatile")],
)
def test_openai_format_sdks(
    chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer], provider: str, base: str, model: str
) -> None:
    _, key = chat_gateway.project(**KEYS)
    with openai.OpenAI(base_url=chat_gateway.url + base, api_key=key, max_retries=0) as client:
        answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}])
        assert answer.choices[0].message.content
        listed = [m.id for m in client.models.list()]  # a GET: the provider's own list
        assert model in listed
        chunks = list(
            client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": "Hi"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        assert chunks[-1].usage is not None
    assert chat_upstreams[provider].emulator.requests[-1].api_key == KEYS[provider]


def test_what_the_native_routes_refuse(chat_gateway: Gateway) -> None:
    _, key = chat_gateway.project(groq=KEYS["groq"])
    url = chat_gateway.url
    for headers in ({}, {"x-goog-api-key": "nope"}, {"authorization": "Bearer lgw_proj_wrong"}):
        refused = httpx.post(
            f"{url}/gemini/v1beta/models/gemini-2.5-flash:generateContent", headers=headers, json={}
        )
        assert refused.status_code == 401
    missing = httpx.post(
        f"{url}/gemini/v1beta/models/gemini-2.5-flash:generateContent",
        params={"key": key},
        json={"contents": []},
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "provider_key_missing"
    _, full = chat_gateway.project("full", **KEYS)
    closed = httpx.get(f"{url}/openai/v1/organization/users", headers={"authorization": f"Bearer {full}"})
    assert closed.status_code == 403
    assert closed.json()["error"]["code"] == "path_closed"
