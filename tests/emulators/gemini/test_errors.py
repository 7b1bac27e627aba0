"""Gemini errors and faults: auth, unknown models, request validation, injected faults, and the wire
details the SDK hides (error body shape, SSE framing, `?key=`, the JSON-array stream, recording)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import httpx2
import pytest
from google import genai
from google.genai import errors

from byokgate.emulators import EmulatorServer, Fault, build, gemini_emulator
from byokgate.emulators.runner import PROVIDERS
from tests.emulators.gemini.support import FLASH_20, KEY, QUESTION, error_of, post, reply, sdk, user

HELLO = {"contents": [user(QUESTION)]}


# auth -------------------------------------------------------------------------------------------------


def test_wrong_key_is_a_400_api_key_invalid(server: EmulatorServer) -> None:
    with sdk(server, key="AIzaSyWrong") as wrong, pytest.raises(errors.ClientError) as info:
        wrong.models.generate_content(model=FLASH_20, contents=QUESTION)
    assert info.value.code == 400
    assert info.value.status == "INVALID_ARGUMENT"
    assert info.value.message == "API key not valid. Please pass a valid API key."
    raw = post(server, "generateContent", HELLO, headers={"x-goog-api-key": "AIzaSyWrong"})
    assert raw.json() == {
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                },
                {
                    "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                    "locale": "en-US",
                    "message": "API key not valid. Please pass a valid API key.",
                },
            ],
        }
    }


def test_key_in_the_query_missing_key_and_bearer_tokens(server: EmulatorServer) -> None:
    assert post(server, "generateContent", HELLO, headers={}, query=f"key={KEY}").status_code == 200
    missing = post(server, "generateContent", HELLO, headers={})
    assert missing.status_code == 403
    assert error_of(missing) == {
        "code": 403,
        "message": "Method doesn't allow unregistered callers (callers without established identity). "
        "Please use API Key or other form of API consumer identity to call this API.",
        "status": "PERMISSION_DENIED",
    }
    bearer = post(server, "generateContent", HELLO, headers={"authorization": f"Bearer {KEY}"})
    assert bearer.status_code == 401
    error = error_of(bearer)
    assert error["status"] == "UNAUTHENTICATED"
    assert error["details"][0]["reason"] == "ACCESS_TOKEN_TYPE_UNSUPPORTED"
    assert error["details"][0]["metadata"]["method"] == (
        "google.ai.generativelanguage.v1beta.GenerativeService.GenerateContent"
    )


def test_accept_any_key() -> None:
    with EmulatorServer(build("gemini", accept_any_key=True)) as running:
        assert (
            post(running, "generateContent", HELLO, headers={"x-goog-api-key": "whatever"}).status_code == 200
        )
        assert post(running, "generateContent", HELLO, headers={}).status_code == 403


# routing and models --------------------------------------------------------------------------------------


def test_unknown_model_and_unsupported_method(client: genai.Client, server: EmulatorServer) -> None:
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model="gemini-9-ultra", contents=QUESTION)
    assert info.value.code == 404
    assert info.value.status == "NOT_FOUND"
    assert info.value.message == (
        "models/gemini-9-ultra is not found for API version v1, or is not supported for generateContent. "
        "Call ListModels to see the list of available models and their supported methods."
    )
    embedding = post(server, "generateContent", HELLO, model="text-embedding-004")
    assert embedding.status_code == 404
    assert "models/text-embedding-004 is not found for API version v1beta" in error_of(embedding)["message"]


def test_unknown_paths(server: EmulatorServer) -> None:
    method = httpx.post(
        f"{server.url}/v1beta/models/{FLASH_20}:explode", json={}, headers={"x-goog-api-key": KEY}
    )
    assert method.status_code == 404
    assert error_of(method) == {"code": 404, "message": "Method not found.", "status": "NOT_FOUND"}
    page = httpx.get(f"{server.url}/nothing/here")
    assert page.status_code == 404
    assert page.headers["content-type"] == "text/html; charset=UTF-8"
    assert "The requested URL <code>/nothing/here</code> was not found on this server." in page.text


def test_the_cli_knows_gemini(server: EmulatorServer) -> None:
    assert PROVIDERS["gemini"] is gemini_emulator
    assert server.base_url == server.url  # the SDK's base URL is the root
    health = httpx.get(f"{server.url}/_emulator/health").json()
    assert health == {"provider": "gemini", "base_path": ""}


# validation -----------------------------------------------------------------------------------------------


def test_validation_error_raises_client_error(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=FLASH_20, contents=QUESTION, config={"temperature": 3})
    assert info.value.code == 400
    assert (
        info.value.message
        == "* GenerateContentRequest.generation_config.temperature: must be in the range [0, 2]\n"
    )


UNKNOWN_TOP = 'Invalid JSON payload received. Unknown name "prompt": Cannot find field.'
UNKNOWN_NESTED = (
    "Invalid JSON payload received. Unknown name \"max_tokens\" at 'generation_config': Cannot find field."
)
CASES: list[tuple[Any, str]] = [
    ({}, "* GenerateContentRequest.contents: contents is not specified\n"),
    ({"contents": []}, "* GenerateContentRequest.contents: contents is not specified\n"),
    (
        {"contents": [{"role": "user", "parts": []}]},
        "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n",
    ),
    (
        {"contents": [{"role": "assistant", "parts": [{"text": "hi"}]}]},
        "Please use a valid role: user, model.",
    ),
    (
        {"contents": [{"parts": [{"thought": True}]}]},
        "* GenerateContentRequest.contents[0].parts[0].data: "
        "required oneof field 'data' must have one initialized field\n",
    ),
    (
        {"contents": [{"parts": [{"text": "a", "inlineData": {"mimeType": "image/png", "data": "AAAA"}}]}]},
        "Invalid JSON payload received. Oneof field 'data' is already set. Cannot set 'inlineData'",
    ),
    (
        {"contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": "not base64!"}}]}]},
        "Invalid value at 'contents[0].parts[0].inline_data.data' (TYPE_BYTES), "
        'Base64 decoding failed for "not base64!"',
    ),
    (
        {"contents": [{"parts": [{"functionResponse": {"name": "f", "response": "18C"}}]}]},
        "Invalid value at 'contents[0].parts[0].function_response.response' "
        '(type.googleapis.com/google.protobuf.Struct), "18C"',
    ),
    (
        {**HELLO, "generationConfig": {"temperature": "hot"}},
        "Invalid value at 'generation_config.temperature' (TYPE_FLOAT), \"hot\"",
    ),
    (
        {**HELLO, "generationConfig": {"maxOutputTokens": [5]}},
        "Invalid JSON payload received. Unknown name \"maxOutputTokens\" at 'generation_config': "
        "Proto field is not repeating, cannot start list.",
    ),
    (
        {**HELLO, "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}},
        "Invalid value at 'tool_config.function_calling_config.mode' "
        '(type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), "SOMETIMES"',
    ),
    ({**HELLO, "prompt": "x", "generationConfig": {"max_tokens": 5}}, f"{UNKNOWN_TOP}\n{UNKNOWN_NESTED}"),
    (
        {**HELLO, "generationConfig": {"stopSequences": list("abcdef")}},
        "* GenerateContentRequest.generation_config.stop_sequences: at most 5 stop sequences are allowed\n",
    ),
    (
        {**HELLO, "generationConfig": {"maxOutputTokens": 100000}},
        "Unable to submit request because it has a maxOutputTokens value of 100000 but the supported range "
        "is from 1 (inclusive) to 8193 (exclusive). Update the value and try again.",
    ),
    (
        {**HELLO, "generationConfig": {"responseMimeType": "text/html"}},
        "* GenerateContentRequest.generation_config.response_mime_type: allowed mimetypes are `text/plain`, "
        "`application/json`, `application/xml`, `application/yaml` and `text/x.enum`.\n",
    ),
    (
        {**HELLO, "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}},
        "Function calling config is set without function_declarations.",
    ),
    (
        {**HELLO, "safetySettings": [{"category": "HARM_CATEGORY_MEDICAL", "threshold": "BLOCK_NONE"}]},
        "* GenerateContentRequest.safety_settings[0]: element predicate failed: $.category in "
        "(HarmCategory.HARM_CATEGORY_HATE_SPEECH, HarmCategory.HARM_CATEGORY_SEXUALLY_EXPLICIT, "
        "HarmCategory.HARM_CATEGORY_DANGEROUS_CONTENT, HarmCategory.HARM_CATEGORY_HARASSMENT, "
        "HarmCategory.HARM_CATEGORY_CIVIC_INTEGRITY)\n",
    ),
    ([HELLO], 'Invalid JSON payload received. Unknown name "": Root element must be a message.'),
    (  # OpenAI-style JSON schema sent as OpenAPI `parameters` (belongs in `parametersJsonSchema`)
        {
            **HELLO,
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "f",
                            "parameters": {
                                "type": "object",
                                "properties": {"city": {"type": "string", "additionalProperties": False}},
                            },
                        }
                    ]
                }
            ],
        },
        'Invalid JSON payload received. Unknown name "additionalProperties" at '
        "'tools[0].function_declarations[0].parameters.properties[0].value': Cannot find field.",
    ),
]


@pytest.mark.parametrize(("body", "message"), CASES)
def test_validation_messages(server: EmulatorServer, body: Any, message: str) -> None:
    response = post(server, "generateContent", body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == message


def test_parse_errors_list_field_violations(server: EmulatorServer) -> None:
    body = {**HELLO, "prompt": "x", "generationConfig": {"max_tokens": 5}}
    assert error_of(post(server, "generateContent", body))["details"] == [
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [
                {"description": UNKNOWN_TOP},
                {"field": "generation_config", "description": UNKNOWN_NESTED},
            ],
        }
    ]


def test_snake_case_names_and_single_values_are_accepted(server: EmulatorServer) -> None:
    body = {
        "contents": {"role": "user", "parts": {"text": QUESTION}},
        "system_instruction": {"parts": [{"text": "Be brief."}]},
        "generation_config": {"max_output_tokens": 3, "stop_sequences": "zzz"},
    }
    response = post(server, "generateContent", body)
    assert response.status_code == 200
    assert response.json()["candidates"][0]["content"]["parts"] == [{"text": "Echo: Tell"}]


def test_malformed_json(server: EmulatorServer) -> None:
    response = httpx.post(
        f"{server.url}/v1beta/models/{FLASH_20}:generateContent",
        content=b"{not json",
        headers={"x-goog-api-key": KEY, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert error_of(response)["message"] == "Invalid JSON payload received. Unexpected token."


# faults ---------------------------------------------------------------------------------------------------


def test_429_is_resource_exhausted_with_retry_info(server: EmulatorServer, client: genai.Client) -> None:
    server.emulator.arm(Fault("429", retry_after_s=7))
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=FLASH_20, contents=QUESTION)
    assert info.value.code == 429
    assert info.value.status == "RESOURCE_EXHAUSTED"
    details = info.value.details["error"]["details"]
    assert [detail["@type"].rsplit(".", 1)[1] for detail in details] == ["QuotaFailure", "Help", "RetryInfo"]
    assert details[2]["retryDelay"] == "7s"
    assert details[0]["violations"][0]["quotaDimensions"] == {"location": "global", "model": FLASH_20}
    assert "retry-after" not in info.value.response.headers
    assert client.models.generate_content(model=FLASH_20, contents=QUESTION).text == reply(QUESTION)


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("503", "UNAVAILABLE", "The model is overloaded. Please try again later."),
        (
            "500",
            "INTERNAL",
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        ),
    ],
)
def test_server_errors(
    server: EmulatorServer, client: genai.Client, kind: Any, status: str, message: str
) -> None:
    server.emulator.arm(Fault(kind))
    with pytest.raises(errors.ServerError) as info:
        client.models.generate_content(model=FLASH_20, contents=QUESTION)
    assert info.value.code == int(kind)
    assert info.value.status == status
    assert info.value.message == message


def test_502_is_an_html_page(server: EmulatorServer, client: genai.Client) -> None:
    server.emulator.arm(Fault("502"))
    with pytest.raises(errors.ServerError) as info:
        client.models.generate_content(model=FLASH_20, contents=QUESTION)
    assert info.value.code == 502
    assert info.value.message is not None
    assert "<title>Error 502 (Server Error)!!1</title>" in info.value.message


def test_faults_match_endpoints_and_models(server: EmulatorServer, client: genai.Client) -> None:
    server.emulator.arm(Fault("503", endpoint="embeddings"), Fault("429", model="gemini-2.5-pro"))
    assert client.models.generate_content(model=FLASH_20, contents=QUESTION).text
    with pytest.raises(errors.ClientError):
        client.models.generate_content(model="gemini-2.5-pro", contents=QUESTION)
    with pytest.raises(errors.ServerError):
        client.models.embed_content(model="text-embedding-004", contents="x")
    assert server.emulator.faults.armed() == []


def test_fault_header_and_control_api(server: EmulatorServer) -> None:
    server.emulator.reset()
    limited = post(
        server, "generateContent", HELLO, headers={"x-goog-api-key": KEY, "x-emulator-fault": "429:3"}
    )
    assert limited.status_code == 429
    assert error_of(limited)["details"][2]["retryDelay"] == "3s"
    armed = httpx.post(f"{server.url}/_emulator/faults", json={"kind": "503"})
    assert armed.status_code == 200
    assert post(server, "generateContent", HELLO).status_code == 503
    assert post(server, "generateContent", HELLO).status_code == 200


def test_latency(server: EmulatorServer) -> None:
    started = time.perf_counter()
    response = post(
        server, "generateContent", HELLO, headers={"x-goog-api-key": KEY, "x-emulator-fault": "latency:200"}
    )
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.2


def test_disconnect_mid_stream(server: EmulatorServer, client: genai.Client) -> None:
    server.emulator.arm(Fault("disconnect_mid_stream", after_chunks=2))
    texts: list[str | None] = []
    with pytest.raises(httpx2.RemoteProtocolError):
        texts.extend(
            chunk.text for chunk in client.models.generate_content_stream(model=FLASH_20, contents=QUESTION)
        )
    assert texts == ["Echo: Tell me ", "something about emulators. "]


def test_malformed_chunk(server: EmulatorServer, client: genai.Client) -> None:
    server.emulator.arm(Fault("malformed_chunk", after_chunks=1))
    texts: list[str | None] = []
    with pytest.raises(errors.UnknownApiResponseError):
        texts.extend(
            chunk.text for chunk in client.models.generate_content_stream(model=FLASH_20, contents=QUESTION)
        )
    assert texts == ["Echo: Tell me "]


# wire details -------------------------------------------------------------------------------------------


def test_sse_framing(server: EmulatorServer) -> None:
    response = post(server, "streamGenerateContent", HELLO, query="alt=sse")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "x-request-id" not in response.headers
    assert response.text.endswith("\n\n")
    events = response.text.split("\n\n")[:-1]
    assert all(event.startswith("data: {") and "\n" not in event for event in events)
    chunks = [json.loads(event[len("data: ") :]) for event in events]
    assert "".join(chunk["candidates"][0]["content"]["parts"][0]["text"] for chunk in chunks) == reply(
        QUESTION
    )
    assert [chunk["candidates"][0].get("finishReason") for chunk in chunks][-2:] == [None, "STOP"]
    assert "[DONE]" not in response.text


def test_stream_without_alt_sse_is_a_json_array(server: EmulatorServer) -> None:
    response = post(server, "streamGenerateContent", HELLO)
    assert response.headers["content-type"] == "application/json; charset=UTF-8"
    assert response.text.startswith("[{")
    assert "\n,\r\n{" in response.text
    assert response.text.endswith("}]")
    chunks = response.json()
    assert "".join(chunk["candidates"][0]["content"]["parts"][0]["text"] for chunk in chunks) == reply(
        QUESTION
    )


def test_requests_are_recorded(server: EmulatorServer, client: genai.Client) -> None:
    client.models.generate_content(model=FLASH_20, contents=QUESTION)
    (record,) = server.emulator.requests
    assert record.method == "POST"
    assert record.path == f"/v1/models/{FLASH_20}:generateContent"
    assert record.headers["x-goog-api-key"] == KEY
    assert record.body == {"contents": [{"parts": [{"text": QUESTION}], "role": "user"}]}
    assert record.status == 200
    server.emulator.reset()
    assert server.emulator.requests == []
