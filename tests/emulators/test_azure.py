"""The Azure OpenAI emulator through `openai.AzureOpenAI` (and raw httpx where the SDK hides the wire):
deployments, api-version, keys, Azure's error bodies, content-filter results and faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from byokgate.emulators import EmulatorServer, Fault, azure_emulator, build, content

KEY = "0123456789abcdef0123456789abcdef"
VERSION = "2024-10-21"
HELLO: Any = [{"role": "user", "content": "Tell me something about emulators."}]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(build("azure", [KEY])) as running:
        yield running


@pytest.fixture
def azure(server: EmulatorServer) -> Iterator[openai.AzureOpenAI]:
    server.emulator.reset()
    with openai.AzureOpenAI(
        azure_endpoint=server.base_url, api_key=KEY, api_version=VERSION, max_retries=0
    ) as client:
        yield client


def _url(server: EmulatorServer, deployment: str, version: str | None = VERSION) -> str:
    query = f"?api-version={version}" if version else ""
    return f"{server.url}/openai/deployments/{deployment}/chat/completions{query}"


def test_base_url_is_the_resource_root(server: EmulatorServer) -> None:
    assert server.base_url == server.url
    assert server.emulator.base_path == ""


def test_plain_answer(azure: openai.AzureOpenAI, server: EmulatorServer) -> None:
    raw = azure.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO)
    completion = raw.parse()
    assert completion.choices[0].message.content == content.reply_for(HELLO)
    assert completion.model == "gpt-4o-mini"
    assert str(raw.http_request.url).endswith(
        f"/openai/deployments/gpt-4o-mini/chat/completions?api-version={VERSION}"
    )
    body = json.loads(raw.text)
    assert body["prompt_filter_results"][0]["content_filter_results"]["jailbreak"] == {
        "filtered": False,
        "detected": False,
    }
    assert body["choices"][0]["content_filter_results"]["hate"] == {"filtered": False, "severity": "safe"}
    assert raw.headers["apim-request-id"] == raw.headers["x-request-id"]
    assert int(raw.headers["x-ratelimit-remaining-requests"]) < int(raw.headers["x-ratelimit-limit-requests"])
    assert server.emulator.requests[-1].api_key == KEY


def test_streamed_answer(azure: openai.AzureOpenAI, server: EmulatorServer) -> None:
    chunks = list(
        azure.chat.completions.create(
            model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == content.reply_for(HELLO)
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == content.count_tokens(text)
    raw = httpx.post(
        _url(server, "gpt-4o-mini"), json={"messages": HELLO, "stream": True}, headers={"api-key": KEY}
    )
    assert raw.text.endswith("data: [DONE]\n\n")
    frames = [json.loads(line[6:]) for line in raw.text.split("\n\n") if line.startswith("data: {")]
    assert frames[0]["choices"] == []
    assert frames[0]["id"] == ""
    assert "prompt_filter_results" in frames[0]
    assert frames[1]["choices"][0]["content_filter_results"] == {}  # the role frame
    assert frames[2]["choices"][0]["content_filter_results"]["violence"]["severity"] == "safe"


def test_embeddings(azure: openai.AzureOpenAI) -> None:
    result = azure.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"])
    assert len(result.data) == 2
    assert len(result.data[0].embedding) == 1536
    assert result.model == "text-embedding-3-small"


def test_wrong_key(server: EmulatorServer) -> None:
    client = openai.AzureOpenAI(
        azure_endpoint=server.base_url, api_key="nope", api_version=VERSION, max_retries=0
    )
    with client, pytest.raises(openai.AuthenticationError) as info:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    body: Any = info.value.body
    assert body["code"] == "401"
    assert body["message"].startswith("Access denied due to invalid subscription key or wrong API endpoint.")
    assert httpx.post(_url(server, "gpt-4o"), json={"messages": HELLO}).status_code == 401


def test_unknown_deployment(azure: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        azure.chat.completions.create(model="no-such-deployment", messages=HELLO)
    body: Any = info.value.body
    assert body["code"] == "DeploymentNotFound"
    assert body["message"].startswith("The API deployment for this resource does not exist.")


def test_api_version_missing_or_unsupported(server: EmulatorServer) -> None:
    missing = httpx.post(_url(server, "gpt-4o", None), json={"messages": HELLO}, headers={"api-key": KEY})
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "404", "message": "Resource not found"}}
    unsupported = httpx.post(
        _url(server, "gpt-4o", "2099-01-01"), json={"messages": HELLO}, headers={"api-key": KEY}
    )
    assert unsupported.status_code == 400
    assert unsupported.json()["error"]["code"] == "BadRequest"


def test_key_as_bearer(server: EmulatorServer) -> None:
    classic = httpx.post(
        _url(server, "gpt-4o"), json={"messages": HELLO}, headers={"authorization": f"Bearer {KEY}"}
    )
    assert classic.status_code == 401  # read as an Entra ID token there
    with openai.OpenAI(base_url=f"{server.url}/openai/v1/", api_key=KEY, max_retries=0) as v1:
        completion = v1.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert completion.model == "gpt-4o"
    keyed = httpx.post(
        f"{server.url}/openai/v1/chat/completions",
        json={"model": "gpt-4o", "messages": HELLO},
        headers={"api-key": KEY},
    )
    assert keyed.status_code == 200


def test_custom_deployments_and_wrong_operation() -> None:
    emulator = azure_emulator([KEY], {"prod-chat": "gpt-4o", "vectors": "text-embedding-3-large"})
    with EmulatorServer(emulator) as server:
        client = openai.AzureOpenAI(
            azure_endpoint=server.base_url, api_key=KEY, api_version=VERSION, max_retries=0
        )
        with client:
            assert client.chat.completions.create(model="prod-chat", messages=HELLO).model == "gpt-4o"
            with pytest.raises(openai.NotFoundError):
                client.chat.completions.create(model="gpt-4o", messages=HELLO)
            with pytest.raises(openai.BadRequestError) as info:
                client.chat.completions.create(model="vectors", messages=HELLO)
            body: Any = info.value.body
            assert body["code"] == "OperationNotSupported"
            assert len(client.embeddings.create(model="vectors", input="x").data[0].embedding) == 3072
        listing = httpx.get(
            f"{server.url}/openai/deployments?api-version={VERSION}", headers={"api-key": KEY}
        )
        assert [(item["id"], item["model"]) for item in listing.json()["data"]] == [
            ("prod-chat", "gpt-4o"),
            ("vectors", "text-embedding-3-large"),
        ]
    with pytest.raises(ValueError, match="no such model"):
        azure_emulator([KEY], {"x": "gpt-99"})


def test_rate_limit_and_server_faults(azure: openai.AzureOpenAI, server: EmulatorServer) -> None:
    server.emulator.arm(Fault("429", retry_after_s=3))
    with pytest.raises(openai.RateLimitError) as info:
        azure.chat.completions.create(model="gpt-4o", messages=HELLO)
    headers = info.value.response.headers
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("3", "3000")
    body: Any = info.value.body
    assert body["code"] == "429"
    assert f"API version {VERSION}" in body["message"]
    assert "Please retry after 3 seconds" in body["message"]
    server.emulator.arm(Fault("500"))
    with pytest.raises(openai.InternalServerError):
        azure.chat.completions.create(model="gpt-4o", messages=HELLO)
    server.emulator.arm(Fault("disconnect_mid_stream", after_chunks=2))
    received = []
    with pytest.raises((httpx.HTTPError, openai.APIError)):  # noqa: PT012
        for chunk in azure.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True):
            received.append(chunk)
    assert len(received) == 2
    assert azure.chat.completions.create(model="gpt-4o", messages=HELLO).choices
