"""Keys, unknown models, validation and faults against every OpenAI-compatible emulator: the status, the
SDK's exception and the provider's own error body."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from byokgate.emulators import EmulatorServer, Fault
from tests.emulators.compatible_cases import BY_NAME, Live, events

HELLO: Any = [{"role": "user", "content": "Hello there, how are you doing today?"}]
WRONG_KEY = "wrong-key-0000"


def test_wrong_key(live: Live) -> None:
    status, error, text = live.case.wrong_key
    with live.client(api_key=WRONG_KEY) as client, pytest.raises(error) as info:
        client.chat.completions.create(model=live.case.chat_model, messages=HELLO)
    assert info.value.status_code == status
    raw = live.chat({"messages": HELLO}, headers={"authorization": f"Bearer {WRONG_KEY}"})
    assert raw.status_code == status
    assert text in raw.text


def test_missing_key(live: Live) -> None:
    response = live.chat({"messages": HELLO}, headers={})
    assert response.status_code == live.case.missing_key_status
    assert response.text


def test_unknown_model(live: Live) -> None:
    status, error, text = live.case.unknown_model
    with live.client() as client, pytest.raises(error) as info:
        client.chat.completions.create(model="no-such-model", messages=HELLO)
    assert info.value.status_code == status
    raw = live.chat({"model": "no-such-model", "messages": HELLO})
    assert raw.status_code == status
    assert text in raw.text


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": HELLO, "temperature": 3}, "temperature"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
    ],
)
def test_validation_errors(live: Live, body: dict[str, Any], param: str) -> None:
    response = live.chat(body)
    assert response.status_code == live.case.validation_status
    payload = response.json()
    name = live.case.name
    if name == "mistral":  # a pydantic-style detail list under `message`
        detail = payload["message"]["detail"][0]
        assert detail["loc"][:2] == ["body", param.split("[")[0]]
        assert payload["object"] == "error"
    elif name == "xai":
        assert payload["code"] == "Client specified an invalid argument"
        assert isinstance(payload["error"], str)
    elif name == "cerebras":  # flat, not nested under `error`
        assert payload["param"] == param
    elif name == "fireworks":
        assert payload["error"]["object"] == "error"
    elif name == "perplexity":
        assert payload["error"]["code"] == 400
        assert payload["error"]["type"] == "invalid_parameter"
    else:
        assert payload["error"]["param"] == param
    if name == "together":
        assert payload["id"]


def test_rate_limit_fault(live: Live) -> None:
    live.emulator.arm(Fault("429", retry_after_s=3))
    with live.client() as client, pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model=live.case.chat_model, messages=HELLO)
    assert info.value.response.headers["retry-after"] == "3"
    assert live.chat({"messages": HELLO}).status_code == 200  # consumed


@pytest.mark.parametrize("status", [500, 503])
def test_server_faults(live: Live, status: int) -> None:
    response = live.chat({"messages": HELLO}, headers={**live.auth(), "x-emulator-fault": str(status)})
    assert response.status_code == status
    assert response.json()
    live.emulator.arm(Fault("500"))
    with live.client() as client, pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model=live.case.chat_model, messages=HELLO)


def test_disconnect_mid_stream(live: Live) -> None:
    live.emulator.arm(Fault("disconnect_mid_stream", after_chunks=2))
    received = []
    with live.client() as client, pytest.raises((httpx.HTTPError, openai.APIError)):  # noqa: PT012
        for chunk in client.chat.completions.create(model=live.case.chat_model, messages=HELLO, stream=True):
            received.append(chunk)
    assert len(received) == 2


def test_control_api_and_recording(live: Live) -> None:
    control = f"{live.server.url}/_emulator"
    assert httpx.get(f"{control}/health").json() == {
        "provider": live.case.name,
        "base_path": live.emulator.base_path,
    }
    httpx.post(f"{control}/faults", json={"kind": "429", "retry_after_s": 5})
    limited = live.chat({"messages": HELLO})
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "5"
    recorded = httpx.get(f"{control}/requests").json()["requests"]
    assert [request["status"] for request in recorded] == [429]
    assert recorded[0]["path"].endswith("/chat/completions")


def test_models_listing(live: Live) -> None:
    response = httpx.get(f"{live.base_url}/models", headers=live.auth())
    name = live.case.name
    if name == "perplexity":  # Sonar documents no models endpoint
        assert response.status_code == 404
        return
    assert response.status_code == 200
    data = response.json() if name == "together" else response.json()["data"]
    ids = [model["id"] for model in data]
    assert live.case.chat_model in ids
    if name == "together":  # a bare array, not a list object
        assert isinstance(response.json(), list)
        assert data[0]["type"] in ("chat", "embedding")
    if name == "deepseek":
        assert "created" not in data[0]
    if name == "mistral":
        assert data[0]["capabilities"]["function_calling"] is True


def test_embeddings(live: Live) -> None:
    if live.case.embedding is None:
        pytest.skip(f"{live.case.name} serves no embedding model")
    model, dimensions = live.case.embedding
    with live.client() as client:
        result = client.embeddings.create(model=model, input=["alpha", "beta"])
    assert [item.index for item in result.data] == [0, 1]
    assert len(result.data[0].embedding) == dimensions
    assert result.usage.prompt_tokens > 0
    with live.client() as client, pytest.raises(openai.APIStatusError):
        client.chat.completions.create(model=model, messages=HELLO)


def test_deepseek_serves_both_base_paths(compatible_servers: dict[str, EmulatorServer]) -> None:
    server = compatible_servers["deepseek"]
    headers = {"authorization": f"Bearer {BY_NAME['deepseek'].key}"}
    body = {"model": "deepseek-v4-pro", "messages": HELLO, "thinking": {"type": "disabled"}}
    assert server.base_url == server.url  # the root, as the docs configure it
    for prefix in ("", "/v1"):
        assert (
            httpx.post(f"{server.url}{prefix}/chat/completions", json=body, headers=headers).status_code
            == 200
        )


def test_mistral_specifics(compatible_servers: dict[str, EmulatorServer]) -> None:
    live = Live(BY_NAME["mistral"], compatible_servers["mistral"])
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    forced = live.chat({"messages": HELLO, "tools": [tool], "tool_choice": "any"}).json()
    call = forced["choices"][0]["message"]["tool_calls"][0]
    assert "type" not in call  # Mistral's tool calls carry no `type`
    assert forced["choices"][0]["message"]["content"] == ""
    refused = httpx.post(
        f"{live.base_url}/embeddings",
        json={"model": "mistral-embed", "input": "x", "dimensions": 8},
        headers=live.auth(),
    )
    assert refused.status_code == 422
    assert refused.json()["message"]["detail"][0]["type"] == "extra_forbidden"
    streamed = events(live.chat({"messages": HELLO, "stream": True}))
    assert streamed[-1]["usage"]["total_tokens"] > 0  # on the finishing chunk
    assert streamed[-1]["choices"][0]["finish_reason"] == "stop"


def test_perplexity_specifics(compatible_servers: dict[str, EmulatorServer]) -> None:
    live = Live(BY_NAME["perplexity"], compatible_servers["perplexity"])
    twice = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    alternation = live.chat({"messages": twice})
    assert alternation.status_code == 400
    assert alternation.json()["error"]["type"] == "invalid_message"
    last = live.chat({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})
    assert last.json()["error"]["message"] == "Last message must have role `user`."
    answer = live.chat({"messages": HELLO}).json()
    assert answer["citations"] == [result["url"] for result in answer["search_results"]]
    assert answer["usage"]["cost"]["request_cost"] == 0.005
    quiet = live.chat({"messages": HELLO, "disable_search": True}).json()
    assert quiet["citations"] == []
    chunks = events(live.chat({"messages": HELLO, "stream": True}))
    assert all(chunk["object"] == "chat.completion" for chunk in chunks)
    assert chunks[-1]["choices"][0]["message"]["content"] == answer["choices"][0]["message"]["content"]
    assert "cost" in chunks[-1]["usage"]
    assert "cost" not in chunks[0]["usage"]
