"""Stored responses through the gateway: the calls on a response id (GET, DELETE, cancel, input_items) for
responses the gateway kept (translated models) and responses the provider kept (OpenAI, on the project's
key), isolation between projects, ``store: false``, and what a translated model refuses."""

from __future__ import annotations

import json
from typing import Any, cast

import httpx
import openai
import pytest

from byokgate.emulators import EmulatorServer
from tests.proxy.conftest import CHAT_KEYS as KEYS
from tests.proxy.conftest import CHAT_MODELS as MODELS
from tests.proxy.conftest import Gateway

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

TRANSLATED = "anthropic"  # a model the gateway translates (the behaviour is the door's, not the provider's)
NATIVE = "openai"  # a provider serving the Responses API itself


@pytest.fixture
def client(chat_gateway: Gateway) -> openai.OpenAI:
    _, key = chat_gateway.project(**KEYS)
    return chat_gateway.client(key)


@pytest.mark.parametrize("provider", [TRANSLATED, NATIVE])
def test_a_stored_response_is_read_listed_and_deleted(client: openai.OpenAI, provider: str) -> None:
    made = client.responses.create(
        model=MODELS[provider],
        input=[{"role": "user", "content": "Tell me about the sea."}],
        instructions="Be brief.",
    )
    again = client.responses.retrieve(made.id)
    assert again.id == made.id
    assert again.output_text == made.output_text
    items = client.responses.input_items.list(made.id)
    assert [item.type for item in items.data] == ["message"]
    first = items.data[0]
    assert first.type == "message"
    assert first.role == "user"
    assert first.content[0].type == "input_text"
    assert first.content[0].text == "Tell me about the sea."
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(made.id)  # only background responses can be cancelled
    client.responses.delete(made.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(made.id)


@pytest.mark.parametrize("provider", [TRANSLATED, NATIVE])
def test_another_project_cannot_see_a_response(chat_gateway: Gateway, provider: str) -> None:
    _, mine = chat_gateway.project("mine", **KEYS)
    _, theirs = chat_gateway.project("theirs", **KEYS)
    made = chat_gateway.client(mine).responses.create(model=MODELS[provider], input="Hello there")
    other = chat_gateway.client(theirs)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(made.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(made.id)
    with pytest.raises(openai.BadRequestError) as refused:
        other.responses.create(model=MODELS[provider], input="And then?", previous_response_id=made.id)
    assert refused.value.body["param"] == "previous_response_id"  # type: ignore[index]
    assert chat_gateway.client(mine).responses.retrieve(made.id).id == made.id


def test_store_false_keeps_nothing(client: openai.OpenAI) -> None:
    raw = client.responses.with_raw_response.create(
        model=MODELS[TRANSLATED], input="Hello there", store=False
    )
    made = raw.parse()
    assert raw.http_response.json()["store"] is False  # echoed as OpenAI does
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(made.id)


def test_a_conversation_goes_on_across_turns(
    client: openai.OpenAI, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    first = client.responses.create(
        model=MODELS[TRANSLATED], input="My name is Ada.", instructions="Be kind."
    )
    second = client.responses.create(
        model=MODELS[TRANSLATED], input="What is my name?", previous_response_id=first.id
    )
    third = client.responses.create(model=MODELS[TRANSLATED], input="Thanks!", previous_response_id=second.id)
    assert third.previous_response_id == second.id
    sent = chat_upstreams[TRANSLATED].emulator.requests[-1].body
    said = [
        (m["role"], m["content"] if isinstance(m["content"], str) else m["content"][0]["text"])
        for m in sent["messages"]
    ]
    assert said == [
        ("user", "My name is Ada."),
        ("assistant", first.output_text),
        ("user", "What is my name?"),
        ("assistant", second.output_text),
        ("user", "Thanks!"),
    ]
    assert "system" not in sent  # as at OpenAI: instructions are not carried over to the next response
    # input_items lists this turn's own input
    listed = client.responses.input_items.list(third.id).data
    assert [item.model_dump()["content"][0]["text"] for item in listed] == ["Thanks!"]


def test_a_kept_conversation_continues_on_a_native_model(
    client: openai.OpenAI, chat_upstreams: dict[str, EmulatorServer]
) -> None:
    first = client.responses.create(model=MODELS[TRANSLATED], input="My name is Ada.")
    second = client.responses.create(
        model=MODELS[NATIVE], input="What is my name?", previous_response_id=first.id
    )
    assert second.output_text
    sent = chat_upstreams[NATIVE].emulator.requests[-1].body
    assert "previous_response_id" not in sent  # the provider never saw that id: the conversation went whole
    assert [item["role"] for item in sent["input"]] == ["user", "assistant", "user"]


def test_a_native_response_is_not_continued_by_a_translated_model(client: openai.OpenAI) -> None:
    first = client.responses.create(model=MODELS[NATIVE], input="My name is Ada.")
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model=MODELS[TRANSLATED], input="And?", previous_response_id=first.id)
    assert refused.value.body["param"] == "previous_response_id"  # type: ignore[index]


def test_unknown_previous_response(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model=MODELS[TRANSLATED], input="Hi", previous_response_id="resp_nothing")
    assert "resp_nothing" in refused.value.message


@pytest.mark.parametrize("tool", ["web_search", "file_search", "code_interpreter", "computer_use_preview"])
def test_a_built_in_tool_is_refused_for_a_translated_model(client: openai.OpenAI, tool: str) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(
            model=MODELS[TRANSLATED],
            input="Look it up",
            tools=[cast(Any, {"type": tool})],
        )
    assert tool in refused.value.message
    assert refused.value.body["param"] == "tools[0]"  # type: ignore[index]


def test_structured_output(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    made = client.responses.create(
        model=MODELS[TRANSLATED],
        input="Name a big city and its population.",
        text={"format": {"type": "json_schema", "name": "city", "schema": schema, "strict": True}},
    )
    assert set(json.loads(made.output_text)) == {"city", "population"}
    assert made.text is not None
    assert made.text.format is not None
    assert made.text.format.type == "json_schema"


def test_a_wrong_key_and_a_bad_path(chat_gateway: Gateway) -> None:
    url = f"{chat_gateway.url}/v1/responses"
    refused = httpx.post(
        url, json={"model": "gpt-4o", "input": "hi"}, headers={"authorization": "Bearer nope"}
    )
    assert refused.status_code == 401
    refused = httpx.get(f"{url}/resp_1", headers={"authorization": "Bearer nope"})
    assert refused.status_code == 401
    _, key = chat_gateway.project()
    wrong = httpx.post(f"{url}/resp_1/nothing", headers={"authorization": f"Bearer {key}"})
    assert wrong.status_code == 404
    assert wrong.json()["error"]["code"] == "unknown_url"
