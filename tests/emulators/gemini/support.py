"""Helpers shared by the Gemini emulator tests (this module holds no tests of its own)."""

from __future__ import annotations

from typing import Any

import httpx
from google import genai
from google.genai import types

from byokgate.emulators import EmulatorServer, content

KEY = "AIzaSyTest-0123456789abcdefghijklmnopq"
FLASH_20 = "gemini-2.0-flash"  # no thinking
FLASH_25 = "gemini-2.5-flash"  # thinks, signs calls, does not demand signatures back
PRO_3 = "gemini-3-pro-preview"  # thinks, signs calls and demands the signatures back
QUESTION = "Tell me something about emulators."
WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Current weather",
    parameters_json_schema={
        "type": "object",
        "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["location", "unit"],
    },
)
LOCAL_TIME = types.FunctionDeclaration(
    name="get_local_time",
    parameters=types.Schema(
        type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)}
    ),
)
TOOLS = [types.Tool(function_declarations=[WEATHER, LOCAL_TIME])]


def sdk(server: EmulatorServer, key: str = KEY) -> genai.Client:
    """The official client pointed at the emulator (no retries: the SDK's default)."""
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=server.base_url))


def reply(question: str) -> str:
    """The text the emulator answers to one user message."""
    return content.reply_for([{"role": "user", "content": question}])


def parts_of(candidate: types.Candidate) -> list[types.Part]:
    """A candidate's parts (asserting it has content)."""
    assert candidate.content is not None
    return list(candidate.content.parts or [])


def first_parts(response: types.GenerateContentResponse) -> list[types.Part]:
    """The parts of a response's first candidate."""
    return parts_of((response.candidates or [])[0])


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def post(
    server: EmulatorServer,
    rpc: str,
    body: Any,
    *,
    model: str = FLASH_20,
    version: str = "v1beta",
    query: str = "",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A raw `POST /{version}/models/{model}:{rpc}` with the valid key in `x-goog-api-key`."""
    url = f"{server.url}/{version}/models/{model}:{rpc}" + (f"?{query}" if query else "")
    sent = {"x-goog-api-key": KEY} if headers is None else headers
    return httpx.post(url, json=body, headers=sent)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The `error` object of a Google error body (asserting the wrapper's shape)."""
    body = response.json()
    assert list(body) == ["error"]
    error: dict[str, Any] = body["error"]
    assert error["code"] == response.status_code
    return error
