"""Gemini function calling through the SDK: calls (single, parallel, forced, disabled), function responses,
the turn-order rules, and the Gemini 3 thought-signature round trip (the gateway's fidelity trap)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from google import genai
from google.genai import errors, types

from byokgate.emulators import EmulatorServer, content, gemini_signatures
from byokgate.emulators.gemini_validation import (
    CALL_AFTER_USER,
    CORRUPTED_SIGNATURE,
    RESPONSE_AFTER_CALL,
    RESPONSE_COUNT,
)
from tests.emulators.gemini.support import (
    FLASH_20,
    FLASH_25,
    PRO_3,
    TOOLS,
    error_of,
    post,
    reply,
    user,
)

WEATHER_IN_PARIS = "What's the weather in Paris?"
BOTH_IN_NEW_YORK = "What's the weather and the local time in New York?"
NO_AUTO_CALLS = types.AutomaticFunctionCallingConfig(disable=True)


def config(mode: str | None = None, allowed: list[str] | None = None) -> types.GenerateContentConfig:
    tool_config = None
    if mode is not None:
        calling = types.FunctionCallingConfig(
            mode=types.FunctionCallingConfigMode(mode), allowed_function_names=allowed
        )
        tool_config = types.ToolConfig(function_calling_config=calling)
    return types.GenerateContentConfig(
        tools=list(TOOLS), tool_config=tool_config, automatic_function_calling=NO_AUTO_CALLS
    )


def model_turn(response: types.GenerateContentResponse) -> types.Content:
    turn = (response.candidates or [])[0].content
    assert turn is not None
    return turn


def results(*pairs: tuple[str, str]) -> types.Content:
    parts = [
        types.Part.from_function_response(name=name, response={"result": value}) for name, value in pairs
    ]
    return types.Content(role="user", parts=parts)


def test_a_mentioned_function_is_called(client: genai.Client) -> None:
    response = client.models.generate_content(model=FLASH_20, contents=WEATHER_IN_PARIS, config=config())
    calls = response.function_calls or []
    assert [(call.name, call.args, call.id) for call in calls] == [
        ("get_weather", {"location": "Paris", "unit": "c"}, None)
    ]
    candidate = (response.candidates or [])[0]
    assert candidate.finish_reason == types.FinishReason.STOP  # no dedicated tool-call reason
    assert [part.thought_signature for part in model_turn(response).parts or []] == [None]
    usage = response.usage_metadata
    assert usage is not None
    assert usage.candidates_token_count == content.count_tokens("get_weather") + content.count_tokens(
        '{"location":"Paris","unit":"c"}'
    )


def test_parallel_calls_come_whole_in_one_stream_chunk(client: genai.Client) -> None:
    response = client.models.generate_content(model=FLASH_20, contents=BOTH_IN_NEW_YORK, config=config())
    expected = [
        ("get_weather", {"location": "New York", "unit": "c"}),
        ("get_local_time", {"city": "New York"}),
    ]
    assert [(call.name, call.args) for call in response.function_calls or []] == expected
    chunks = list(
        client.models.generate_content_stream(model=FLASH_20, contents=BOTH_IN_NEW_YORK, config=config())
    )
    assert len(chunks) == 1
    assert [(call.name, call.args) for call in chunks[0].function_calls or []] == expected
    assert (chunks[0].candidates or [])[0].finish_reason == types.FinishReason.STOP


def test_unmentioned_functions_are_not_called(client: genai.Client) -> None:
    response = client.models.generate_content(model=FLASH_20, contents="Hello there!", config=config())
    assert response.function_calls is None
    assert response.text == reply("Hello there!")


def test_function_calling_modes(client: genai.Client) -> None:
    none = client.models.generate_content(model=FLASH_20, contents=WEATHER_IN_PARIS, config=config("NONE"))
    assert none.text == reply(WEATHER_IN_PARIS)
    forced = client.models.generate_content(model=FLASH_20, contents="Hello there!", config=config("ANY"))
    assert [call.name for call in forced.function_calls or []] == ["get_weather"]
    named = client.models.generate_content(
        model=FLASH_20, contents=BOTH_IN_NEW_YORK, config=config("ANY", ["get_local_time"])
    )
    assert [(call.name, call.args) for call in named.function_calls or []] == [
        ("get_local_time", {"city": "New York"})
    ]


def test_function_responses_are_quoted_in_the_answer(client: genai.Client) -> None:
    first = client.models.generate_content(model=FLASH_20, contents=BOTH_IN_NEW_YORK, config=config())
    history: list[types.Content] = [
        types.Content(role="user", parts=[types.Part(text=BOTH_IN_NEW_YORK)]),
        model_turn(first),
        types.Content(
            role="user",
            parts=[
                types.Part.from_function_response(name="get_weather", response={"result": "18C, clear"}),
                types.Part.from_function_response(name="get_local_time", response={"hour": 9, "zone": "EST"}),
            ],
        ),
    ]
    response = client.models.generate_content(model=FLASH_20, contents=history, config=config())
    assert response.function_calls is None
    assert response.text == 'Based on the tool results: 18C, clear; {"hour":9,"zone":"EST"}.'


def test_turn_order_rules(server: EmulatorServer) -> None:
    call = {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}}}]}
    response_part = {"functionResponse": {"name": "get_weather", "response": {}}}
    answer = {"role": "user", "parts": [response_part]}
    cases: list[tuple[list[dict[str, Any]], str]] = [
        ([user("Hi"), answer], RESPONSE_AFTER_CALL),
        ([user("Hi"), call, {"role": "user", "parts": [response_part, response_part]}], RESPONSE_COUNT),
        ([call, answer], CALL_AFTER_USER),
    ]
    for contents, message in cases:
        response = post(server, "generateContent", {"contents": contents})
        assert response.status_code == 400
        assert error_of(response) == {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}


def test_gemini3_signs_the_first_call_and_accepts_it_back(client: genai.Client) -> None:
    first = client.models.generate_content(model=PRO_3, contents=BOTH_IN_NEW_YORK, config=config())
    parts = model_turn(first).parts or []
    signatures = [part.thought_signature for part in parts]
    assert signatures[1] is None  # parallel calls: only the first part is signed
    assert signatures[0] is not None
    assert signatures[0][:3] == b"\n!\x01"
    history = [
        types.Content(role="user", parts=[types.Part(text=BOTH_IN_NEW_YORK)]),
        model_turn(first),  # replayed verbatim: the SDK re-encodes the signature as URL-safe base64
        results(("get_weather", "18C"), ("get_local_time", "9:00")),
    ]
    second = client.models.generate_content(model=PRO_3, contents=history, config=config())
    assert second.text == "Based on the tool results: 18C; 9:00."


def test_sdk_automatic_function_calling_round_trips_the_signature(
    server: EmulatorServer, client: genai.Client
) -> None:
    called: list[str] = []

    def get_weather(location: str) -> str:
        """Current weather in a city."""
        called.append(location)
        return "18C, clear"

    tools_config = types.GenerateContentConfig(tools=[get_weather])
    response = client.models.generate_content(model=PRO_3, contents=WEATHER_IN_PARIS, config=tools_config)
    assert called == ["Paris"]
    assert response.text == "Based on the tool results: 18C, clear."
    replayed = server.emulator.requests[-1].body["contents"][1]["parts"][0]
    assert replayed["functionCall"] == {"args": {"location": "Paris"}, "name": "get_weather"}
    assert replayed["thoughtSignature"]  # sent back by the SDK, URL-safe base64


def test_gemini3_rejects_a_dropped_signature(client: genai.Client) -> None:
    first = client.models.generate_content(model=PRO_3, contents=WEATHER_IN_PARIS, config=config())
    call = (first.function_calls or [])[0]
    stripped = types.Content(role="model", parts=[types.Part(function_call=call)])
    history = [
        types.Content(role="user", parts=[types.Part(text=WEATHER_IN_PARIS)]),
        stripped,
        results(("get_weather", "18C")),
    ]
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=PRO_3, contents=history, config=config())
    assert info.value.code == 400
    assert info.value.status == "INVALID_ARGUMENT"
    assert info.value.message == (
        "Function call is missing a thought_signature in functionCall parts. This is required for tools to "
        "work correctly, and missing thought_signature may lead to degraded model performance. Additional "
        "data, function call `default_api:get_weather` , position 2. Please refer to "
        "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
    )
    # Gemini 2.5 signs calls too, but does not demand the signature back.
    assert client.models.generate_content(model=FLASH_25, contents=history, config=config()).text


def test_gemini3_rejects_a_signature_of_another_call_or_model(server: EmulatorServer) -> None:
    args = {"location": "Paris", "unit": "c"}
    issued = gemini_signatures.sign(PRO_3, "get_weather", args)

    def follow_up(signature: str, model: str = PRO_3) -> Any:
        call = {"functionCall": {"name": "get_weather", "args": args}, "thoughtSignature": signature}
        answer = {"functionResponse": {"name": "get_weather", "response": {"result": "18C"}}}
        contents = [
            user(WEATHER_IN_PARIS),
            {"role": "model", "parts": [call]},
            {"role": "user", "parts": [answer]},
        ]
        return post(server, "generateContent", {"contents": contents}, model=model)

    assert follow_up(issued).status_code == 200
    assert follow_up("skip_thought_signature_validator").status_code == 200
    other_model = follow_up(issued, model="gemini-3-flash-preview")
    tampered = follow_up(gemini_signatures.sign(PRO_3, "get_weather", {"location": "Rome", "unit": "c"}))
    for response in (other_model, tampered):
        assert response.status_code == 400
        assert error_of(response)["message"] == CORRUPTED_SIGNATURE


def test_gemini3_checks_only_the_current_turn(server: EmulatorServer) -> None:
    old_call = {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}}}]}
    old_answer = {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {}}}]}
    contents = [
        user("Earlier"),
        old_call,
        old_answer,
        {"role": "model", "parts": [{"text": "Done."}]},
        user("Hi"),
    ]
    response = post(server, "generateContent", {"contents": contents}, model=PRO_3)
    assert response.status_code == 200
    assert response.json()["candidates"][0]["content"]["parts"] == [{"text": reply("Hi")}]


def test_gemini3_streamed_call_carries_its_signature(client: genai.Client) -> None:
    chunks = list(
        client.models.generate_content_stream(model=PRO_3, contents=WEATHER_IN_PARIS, config=config())
    )
    assert len(chunks) == 1
    part = (model_turn(chunks[0]).parts or [])[0]
    assert part.function_call is not None
    assert part.thought_signature is not None
    signature = base64.b64encode(part.thought_signature).decode()
    assert gemini_signatures.valid(signature, PRO_3, "get_weather", {"location": "Paris", "unit": "c"})


def test_openapi_parameters_and_tool_validation(server: EmulatorServer) -> None:
    declaration = {
        "name": "get_weather",
        "parameters": {"type": "OBJECT", "properties": {"days": {"type": "INTEGER"}}, "required": ["days"]},
    }
    body = {"contents": [user(WEATHER_IN_PARIS)], "tools": [{"functionDeclarations": [declaration]}]}
    candidate = post(server, "generateContent", body).json()["candidates"][0]
    assert candidate == {
        "content": {
            "parts": [{"functionCall": {"name": "get_weather", "args": {"days": 3}}}],
            "role": "model",
        },
        "finishReason": "STOP",
        "index": 0,
        "finishMessage": "Model generated function call(s).",  # the SDK drops this field
    }
    empty = {"name": "ping", "parameters": {"type": "object", "properties": {}}}
    body["tools"] = [{"functionDeclarations": [empty]}]
    response = post(server, "generateContent", body)
    assert response.status_code == 400
    assert error_of(response)["message"] == (
        "* GenerateContentRequest.tools[0].function_declarations[0].parameters.properties: "
        "should be non-empty for OBJECT type\n"
    )
    body["tools"] = [{"functionDeclarations": [{"name": "bad name"}]}]
    assert "Invalid function name." in error_of(post(server, "generateContent", body))["message"]
