"""Stored responses of the OpenAI emulator's Responses API, through the official SDK: `previous_response_id`
chains, retrieve, delete, input items (order, limit, after), cancel and background responses, per key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import ResponseCompletedEvent, ResponseInputMessageItem

from byokgate.emulators import EmulatorServer, content, openai_emulator
from byokgate.emulators.openai_responses_stream import stream_events
from tests.emulators.conftest import Target
from tests.emulators.test_responses import EVENT_CLASSES, MODEL, call_of, message_of

FIRST = "My name is Ada and I like chess."
SECOND = "What did I just tell you?"


@pytest.fixture
def openai_target(get_target: Any) -> Target:
    target: Target = get_target("openai")
    return target


@pytest.fixture
def sdk(openai_target: Target) -> Iterator[openai.OpenAI]:
    with openai_target.client() as client:
        yield client


def not_found(response_id: str) -> dict[str, Any]:
    message = f"Response with id '{response_id}' not found."
    return {"message": message, "type": "invalid_request_error", "param": None, "code": None}


def test_previous_response_chain(sdk: openai.OpenAI) -> None:
    first = sdk.responses.create(model=MODEL, input=FIRST, instructions="Be brief.")
    second = sdk.responses.create(model=MODEL, input=SECOND, previous_response_id=first.id)
    third = sdk.responses.create(model=MODEL, input="And then?", previous_response_id=second.id)
    conversation = [
        {"role": "user", "content": FIRST},
        {"role": "assistant", "content": first.output_text},
        {"role": "user", "content": SECOND},
    ]
    assert second.output_text == content.reply_for(conversation)
    assert second.usage is not None
    # the instructions of the first response are not carried over
    assert second.usage.input_tokens == content.prompt_tokens(conversation)
    assert (second.instructions, second.previous_response_id) == (None, first.id)
    assert third.usage is not None
    assert third.usage.input_tokens > second.usage.input_tokens


def test_unknown_previous_response(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        sdk.responses.create(model=MODEL, input="Hi", previous_response_id="resp_nope")
    assert info.value.status_code == 400
    assert info.value.body == {
        "message": "Previous response with id 'resp_nope' not found.",
        "type": "invalid_request_error",
        "param": "previous_response_id",
        "code": "previous_response_not_found",
    }


def test_unanswered_function_call(sdk: openai.OpenAI) -> None:
    tools: list[Any] = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]
    first = sdk.responses.create(model=MODEL, input="The weather?", tools=tools)
    call_id = call_of(first).call_id
    with pytest.raises(openai.BadRequestError) as info:
        sdk.responses.create(model=MODEL, input="Never mind", previous_response_id=first.id)
    assert info.value.body == {
        "message": f"No tool output found for function call {call_id}.",
        "type": "invalid_request_error",
        "param": "input",
        "code": None,
    }
    stray_output: list[Any] = [{"type": "function_call_output", "call_id": "call_x", "output": "1"}]
    with pytest.raises(openai.BadRequestError) as stray:
        sdk.responses.create(model=MODEL, input=stray_output)
    assert stray.value.body == {
        "message": "No tool call found for function call output with call_id call_x.",
        "type": "invalid_request_error",
        "param": "input",
        "code": None,
    }


def test_retrieve_and_delete(sdk: openai.OpenAI) -> None:
    created = sdk.responses.create(model=MODEL, input=FIRST, metadata={"a": "b"})
    fetched = sdk.responses.retrieve(created.id)
    assert fetched.to_dict() == created.to_dict()
    sdk.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError) as info:
        sdk.responses.retrieve(created.id)
    assert info.value.body == not_found(created.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.delete(created.id)
    with pytest.raises(openai.BadRequestError):  # a deleted response cannot be continued either
        sdk.responses.create(model=MODEL, input="Hi", previous_response_id=created.id)


def test_delete_body(openai_target: Target, sdk: openai.OpenAI) -> None:
    created = sdk.responses.create(model=MODEL, input=FIRST)
    reply = httpx.delete(f"{openai_target.base_url}/responses/{created.id}", headers=openai_target.auth())
    assert reply.json() == {"id": created.id, "object": "response.deleted", "deleted": True}


def test_not_stored(sdk: openai.OpenAI) -> None:
    created = sdk.responses.create(model=MODEL, input=FIRST, store=False)
    assert created.to_dict()["store"] is False
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(created.id)
    with pytest.raises(openai.BadRequestError):
        sdk.responses.create(model=MODEL, input="Hi", previous_response_id=created.id)


def test_streamed_response_is_stored(sdk: openai.OpenAI) -> None:
    final = list(sdk.responses.create(model=MODEL, input=FIRST, stream=True))[-1]
    assert isinstance(final, ResponseCompletedEvent)
    assert sdk.responses.retrieve(final.response.id).output_text == final.response.output_text


def test_replay_stream(sdk: openai.OpenAI) -> None:
    created = sdk.responses.create(model=MODEL, input=FIRST)
    replayed: list[Any] = list(sdk.responses.retrieve(created.id, stream=True))
    for event in replayed:
        assert type(event) is EVENT_CLASSES[event.type]
    assert replayed[-1].response.output_text == created.output_text
    later = list(sdk.responses.retrieve(created.id, stream=True, starting_after=3))
    assert [event.sequence_number for event in later] == [event.sequence_number for event in replayed[4:]]


def test_input_items(openai_target: Target, sdk: openai.OpenAI) -> None:
    items: list[Any] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
        {"role": "user", "content": "Thanks"},
    ]
    created = sdk.responses.create(model=MODEL, input=items)
    page = sdk.responses.input_items.list(created.id)
    kinds = [item.type for item in page.data]
    assert kinds == ["message", "function_call_output", "function_call", "message", "message"]  # newest first
    ids = [str(item.id) for item in page.data]
    assert [id_.split("_")[0] for id_ in ids] == ["msg", "fco", "fc", "msg", "msg"]
    assert page.has_more is False
    url = f"{openai_target.base_url}/responses/{created.id}/input_items"
    raw = httpx.get(url, headers=openai_target.auth()).json()
    assert (raw["object"], raw["first_id"], raw["last_id"]) == ("list", ids[0], ids[-1])
    ascending = sdk.responses.input_items.list(created.id, order="asc")
    assert [item.id for item in ascending.data] == ids[::-1]
    first = ascending.data[0]
    assert isinstance(first, ResponseInputMessageItem)
    assert first.role == "system"
    assert first.content[0].to_dict() == {"type": "input_text", "text": "Be brief."}
    paged = sdk.responses.input_items.list(created.id, order="asc", limit=2)
    assert len(paged.data) == 2
    assert paged.has_more
    walked = [item.id for item in sdk.responses.input_items.list(created.id, order="asc", limit=2)]
    assert walked == ids[::-1]  # the SDK pages on with `after`
    with pytest.raises(openai.BadRequestError) as info:
        sdk.responses.input_items.list(created.id, limit=101)
    assert info.value.code == "integer_above_max_value"
    with pytest.raises(openai.NotFoundError):
        sdk.responses.input_items.list("resp_missing")


def test_item_reference(sdk: openai.OpenAI) -> None:
    created = sdk.responses.create(model=MODEL, input=FIRST)
    reference: list[Any] = [
        {"type": "item_reference", "id": message_of(created).id},
        {"role": "user", "content": SECOND},
    ]
    follow = sdk.responses.create(model=MODEL, input=reference)
    conversation = [
        {"role": "assistant", "content": created.output_text},
        {"role": "user", "content": SECOND},
    ]
    assert follow.usage is not None
    assert follow.usage.input_tokens == content.prompt_tokens(conversation)
    unknown: list[Any] = [{"type": "item_reference", "id": "msg_nope"}]
    with pytest.raises(openai.NotFoundError):
        sdk.responses.create(model=MODEL, input=unknown)


def test_cancel(sdk: openai.OpenAI) -> None:
    created = sdk.responses.create(model=MODEL, input=FIRST)
    with pytest.raises(openai.BadRequestError) as info:
        sdk.responses.cancel(created.id)
    assert info.value.body == {
        "message": "Cannot cancel a synchronous response.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.responses.cancel("resp_missing")
    assert missing.value.body == not_found("resp_missing")
    queued = sdk.responses.create(model=MODEL, input=FIRST, background=True)
    assert (queued.status, queued.background, queued.output, queued.usage) == ("queued", True, [], None)
    cancelled = sdk.responses.cancel(queued.id)
    assert (cancelled.id, cancelled.status) == (queued.id, "cancelled")
    assert sdk.responses.cancel(queued.id).status == "cancelled"  # again: the same answer
    assert sdk.responses.retrieve(queued.id).status == "cancelled"


def test_background_poll(sdk: openai.OpenAI) -> None:
    queued = sdk.responses.create(model=MODEL, input=FIRST, background=True)
    done = sdk.responses.retrieve(queued.id)
    assert (done.id, done.status, done.background) == (queued.id, "completed", True)
    assert done.output_text == content.reply_for([{"role": "user", "content": FIRST}])
    assert sdk.responses.cancel(queued.id).status == "completed"
    with pytest.raises(openai.BadRequestError):  # background responses must be stored
        sdk.responses.create(model=MODEL, input=FIRST, background=True, store=False)


def test_responses_are_per_key() -> None:
    with EmulatorServer(openai_emulator(["sk-one-0123456789", "sk-two-0123456789"])) as server:
        one = openai.OpenAI(base_url=server.base_url, api_key="sk-one-0123456789", max_retries=0)
        two = openai.OpenAI(base_url=server.base_url, api_key="sk-two-0123456789", max_retries=0)
        created = one.responses.create(model=MODEL, input=FIRST)
        assert one.responses.retrieve(created.id).id == created.id
        with pytest.raises(openai.NotFoundError):
            two.responses.retrieve(created.id)
        with pytest.raises(openai.BadRequestError):
            two.responses.create(model=MODEL, input="Hi", previous_response_id=created.id)


def test_store_is_bounded() -> None:
    emulator = openai_emulator(["sk-test-0123456789"])
    assert emulator.responses is not None
    emulator.responses.store.capacity = 3
    with EmulatorServer(emulator) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test-0123456789", max_retries=0)
        ids = [client.responses.create(model=MODEL, input=f"Question {n}").id for n in range(4)]
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(ids[0])  # the least recently used one was dropped
        assert [client.responses.retrieve(id_).id for id_ in ids[1:]] == ids[1:]
    assert len(emulator.responses.store) == 3


def test_stream_events_shape() -> None:
    """`stream_events` alone: numbered from 0; the final event carries the response as given."""
    response: dict[str, Any] = {"status": "completed", "output": [], "usage": {"total_tokens": 1}}
    events = list(stream_events(response, obfuscate=False))
    kinds = [event["type"] for event in events]
    assert kinds == ["response.created", "response.in_progress", "response.completed"]
    assert [event["sequence_number"] for event in events] == [0, 1, 2]
    assert events[0]["response"]["usage"] is None
    assert events[-1]["response"] is response
