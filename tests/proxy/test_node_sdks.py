"""The official OpenAI Node SDK and the Vercel AI SDK (from npm, `make clients`) against the gateway, run
as real Node processes: the scripts under ``tests/proxy/node/`` make the calls and print what they saw as
one JSON report, the assertions are here.

- ``responses.mjs``: the Responses API for a native model (gpt-4o, relayed to OpenAI's own Responses API)
  and translated ones (Claude, Gemini): plain, streamed (raw events and the SDK's helper), a function call
  and its result sent back with ``previous_response_id`` (also streamed), retrieve, input items, delete.
- ``surface.mjs``: chat completions, embeddings (the Node SDK asks for base64 and decodes it), models,
  legacy completions, images (b64_json, an edit from a PNG upload), a WAV transcription, speech read as
  binary, moderations, and a wrong project key.
- ``ai_sdk.mjs``: ``createOpenAI({baseURL, apiKey})`` whose ``openai(model)`` speaks the Responses API:
  generateText, and a tool the SDK executes itself across two steps, with generateText and streamText.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from byokgate.emulators import EmulatorServer
from byokgate.emulators.recorder import RecordedRequest
from tests.proxy.conftest import CHAT_KEYS as KEYS
from tests.proxy.conftest import Gateway

SCRIPTS = Path(__file__).resolve().parent / "node"
MODULES = Path(__file__).resolve().parents[2] / "clients" / "node_modules"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="Node.js is not installed here (the clients need Node 20+)"),
    pytest.mark.skipif(
        not (MODULES / "openai" / "package.json").exists(),
        reason="the OpenAI Node SDK is not installed here: run `make clients`",
    ),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

# the model each provider is called with, and the provider behind it
MODELS = {"gpt-4o": "openai", "claude-3-5-sonnet-20241022": "anthropic", "gemini-2.5-flash": "gemini"}
TRANSLATED = ["claude-3-5-sonnet-20241022", "gemini-2.5-flash"]
ANSWER = "Echo: Tell me about the sea."  # how the emulators' answer to "Tell me about the sea." opens

TEXT_EVENTS = [  # the Responses stream of a text answer, repeated events (the deltas) collapsed
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]
CALL_EVENTS = [  # ... and of a function call
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
    "response.completed",
]
AI_SDK_TOOL_PARTS = [  # streamText's full stream: the call step, the SDK runs the tool, the answer step
    "start",
    "start-step",
    "tool-input-start",
    "tool-input-delta",
    "tool-input-end",
    "tool-call",
    "tool-result",
    "finish-step",
    "start-step",
    "text-start",
    "text-delta",
    "text-end",
    "finish-step",
    "finish",
]


def _collapsed(kinds: list[str]) -> list[str]:
    return [kind for i, kind in enumerate(kinds) if i == 0 or kinds[i - 1] != kind]


def node(script: str, gateway: Gateway, key: str, models: list[str], steps: str = "") -> dict[str, Any]:
    """Run a script under ``tests/proxy/node/`` against the gateway; its report (``failures``: the steps
    that threw, with the error, empty when all went as expected)."""
    assert NODE is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BYOKGATE_"))}
    env.update(
        BYOKGATE_BASE_URL=f"{gateway.url}/v1",
        BYOKGATE_API_KEY=key,
        BYOKGATE_MODELS=",".join(models),
        BYOKGATE_CLIENTS_DIR=str(MODULES.parent),
        BYOKGATE_STEPS=steps,
    )
    done = subprocess.run(
        [NODE, str(SCRIPTS / script)],
        env=env,
        timeout=120,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"{script} exited {done.returncode} without a report\n{done.stdout}\n{done.stderr}"
        ) from None
    assert (done.returncode == 0) == (not report["failures"]), done.stderr
    return report


def _succeeded(report: dict[str, Any]) -> None:
    failures = report["failures"]
    assert not failures, json.dumps(failures, indent=1)


def _only_key(requests: list[RecordedRequest], key: str) -> None:
    """Something went upstream, and every request carried the project's own provider key."""
    assert requests
    assert {request.api_key for request in requests} == {key}


@pytest.fixture
def key(chat_gateway: Gateway) -> str:
    return chat_gateway.project(**KEYS)[1]


@pytest.mark.parametrize("model", list(MODELS))
def test_responses(
    chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer], key: str, model: str
) -> None:
    report = node("responses.mjs", chat_gateway, key, [model])
    _succeeded(report)
    provider = MODELS[model]
    step = {name.removeprefix(f"{model}/"): value for name, value in report.items() if name != "failures"}

    plain = step["plain"]
    assert plain["id"].startswith("resp_")
    assert (plain["object"], plain["status"], plain["model"]) == ("response", "completed", model)
    assert plain["instructions"] == "Be brief."
    assert plain["output_text"].startswith(ANSWER)
    assert plain["output_types"] == ["message"]
    assert plain["output_tokens"] > 0
    assert plain["provider"] == provider
    assert float(plain["cost"]) > 0

    stream = step["stream"]
    assert _collapsed(stream["types"]) == TEXT_EVENTS
    assert stream["types"].count("response.output_text.delta") > 1
    assert stream["sequence"] == list(range(len(stream["types"])))
    assert stream["deltas"] == stream["final_text"] == plain["output_text"]  # deterministic emulators
    assert stream["final_status"] == "completed"
    assert stream["final_id"].startswith("resp_")
    assert stream["final_output_tokens"] > 0
    helper = step["stream_helper"]
    assert helper["deltas"] == helper["output_text"] != ""
    assert helper["status"] == "completed"

    called = step["tool_call"]
    assert called["status"] == "completed"
    assert [(c["name"], c["arguments"], c["status"]) for c in called["calls"]] == [
        ("get_weather", {"city": "Paris"}, "completed")
    ]
    result = step["tool_result"]
    assert result["previous_response_id"] == called["id"]
    assert result["status"] == "completed"
    assert result["output_types"] == ["message"]
    assert "Sunny, 21 C" in result["output_text"]

    streamed_call = step["tool_stream"]
    assert _collapsed(streamed_call["types"]) == CALL_EVENTS
    assert streamed_call["arguments_from_deltas"] == streamed_call["arguments_done"] == {"city": "Paris"}
    assert streamed_call["final_call"] == {
        "name": "get_weather",
        "status": "completed",
        "arguments": {"city": "Paris"},
    }

    assert step["retrieve"] == {"id": plain["id"], "status": "completed", "output_text": plain["output_text"]}
    assert step["input_items"] == [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Tell me about the sea."}],
        }
    ]
    deleted = step["delete"]["returned"]
    assert (deleted["id"], deleted["deleted"]) == (plain["id"], True)
    gone = step["retrieve_deleted"]
    assert (gone["name"], gone["status"]) == ("NotFoundError", 404)

    requests = chat_upstreams[provider].emulator.requests
    _only_key(requests, KEYS[provider])
    followed = [r for r in requests if "Sunny, 21 C" in json.dumps(r.body)]
    assert len(followed) == 1
    if provider == "openai":  # relayed as sent: OpenAI continues from its own stored response
        assert followed[0].path == "/v1/responses"
        assert followed[0].body["previous_response_id"] == called["id"]
        assert any(r.method == "DELETE" and r.path == f"/v1/responses/{plain['id']}" for r in requests)
    else:  # the gateway rebuilt the conversation from the response it kept
        assert "What's the weather in Paris?" in json.dumps(followed[0].body)
        assert not any(r.method == "DELETE" for r in requests)


def test_a_deleted_response_reads_the_same_on_both_lanes(chat_gateway: Gateway, key: str) -> None:
    """DELETE /v1/responses/{id} of a relayed (OpenAI) and of a kept (translated) response."""
    report = node("responses.mjs", chat_gateway, key, ["gpt-4o", TRANSLATED[0]], steps="plain,delete")
    _succeeded(report)
    native = report["gpt-4o/delete"]["returned"]
    kept = report[f"{TRANSLATED[0]}/delete"]["returned"]
    assert native == {"id": report["gpt-4o/plain"]["id"], "object": "response.deleted", "deleted": True}
    assert kept == {
        "id": report[f"{TRANSLATED[0]}/plain"]["id"],
        "object": "response.deleted",
        "deleted": True,
    }


def test_the_rest_of_the_api(
    chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer], key: str
) -> None:
    report = node("surface.mjs", chat_gateway, key, list(MODELS))
    _succeeded(report)

    for model, provider in MODELS.items():
        chat = report[f"chat/{model}"]
        assert chat["object"] == "chat.completion"
        assert chat["content"].startswith(ANSWER)
        assert chat["finish_reason"] == "stop"
        assert chat["completion_tokens"] > 0
        assert chat["provider"] == provider
        streamed = report[f"chat_stream/{model}"]
        assert streamed["text"] == chat["content"]
        assert streamed["chunks"] > 2
        assert streamed["finish_reason"] == "stop"
        assert streamed["completion_tokens"] == chat["completion_tokens"]

    for model, dimensions in (("text-embedding-3-small", 1536), ("text-embedding-004", 768)):
        embedded = report[f"embeddings/{model}"]  # base64 asked by the SDK, decoded to floats
        assert (embedded["object"], embedded["count"]) == ("list", 2)
        assert embedded["dimensions"] == [dimensions, dimensions]
        assert embedded["all_numbers"] is True
        assert embedded["prompt_tokens"] > 0

    models = report["models"]
    assert {"gpt-4o", "claude-3-5-sonnet-20241022", "gemini-2.5-flash", "text-embedding-3-small"} <= set(
        models["ids"]
    )
    assert len(models["ids"]) == len(set(models["ids"]))
    assert models["retrieved"] == {"id": "gpt-4o", "object": "model", "owned_by": "openai"}
    missing = report["model_missing"]
    assert (missing["name"], missing["status"], missing["code"]) == ("NotFoundError", 404, "model_not_found")

    completion = report["completions"]
    assert completion["object"] == "text_completion"
    assert "Echo: Say hi." in completion["text"]
    assert completion["completion_tokens"] > 0
    assert report["images_generate"] == {"count": 1, "png": True, "bytes": report["images_generate"]["bytes"]}
    assert report["images_generate"]["bytes"] > 100
    assert report["images_edit"] == {"count": 2, "kinds": ["url", "url"]}
    heard = report["transcription"]
    assert heard["text"]
    assert heard["duration"] == pytest.approx(2.0)
    spoken = report["speech"]
    assert spoken["content_type"].startswith("audio/wav")
    assert spoken["riff"] is True
    assert spoken["bytes"] > 44
    assert report["moderations"] == {"count": 1, "flagged": False, "model": "omni-moderation-latest"}
    wrong = report["wrong_key"]
    assert (wrong["name"], wrong["status"], wrong["code"]) == ("AuthenticationError", 401, "invalid_api_key")

    openai_requests = chat_upstreams["openai"].emulator.requests
    _only_key(openai_requests, KEYS["openai"])  # the wrong key went nowhere
    paths = {request.path for request in openai_requests}
    assert {
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/completions",
        "/v1/images/generations",
        "/v1/images/edits",
        "/v1/audio/transcriptions",
        "/v1/audio/speech",
        "/v1/moderations",
    } <= paths
    embedded = next(r for r in openai_requests if r.path == "/v1/embeddings")
    assert embedded.body["encoding_format"] == "base64"  # relayed as the SDK asked
    for provider in ("anthropic", "gemini"):
        _only_key(chat_upstreams[provider].emulator.requests, KEYS[provider])


def test_the_models_served_on_the_other_endpoints_are_listed(chat_gateway: Gateway, key: str) -> None:
    """The models surface.mjs calls on completions, images, audio and moderations, in /v1/models."""
    report = node("surface.mjs", chat_gateway, key, [], steps="media_models")
    _succeeded(report)
    seen = report["media_models"]
    every = list(seen["retrieved"])
    assert seen["listed"] == every
    assert set(seen["retrieved"].values()) == {200}


@pytest.mark.skipif(
    not (MODULES / "ai" / "package.json").exists() or not (MODULES / "@ai-sdk" / "openai").exists(),
    reason="the Vercel AI SDK is not installed here: run `make clients`",
)
@pytest.mark.parametrize("model", list(MODELS))
def test_vercel_ai_sdk(
    chat_gateway: Gateway, chat_upstreams: dict[str, EmulatorServer], key: str, model: str
) -> None:
    report = node("ai_sdk.mjs", chat_gateway, key, [model])
    _succeeded(report)
    provider = MODELS[model]

    generated = report[f"{model}/generate"]
    assert generated["text"].startswith(ANSWER)
    assert generated["finish_reason"] == "stop"
    assert generated["output_tokens"] > 0
    assert generated["response_id"].startswith("resp_")
    assert generated["provider"] == provider
    assert generated["sent"]["path"] == "/v1/responses"  # openai(model) speaks the Responses API

    for name in ("generate_tool", "stream_tool"):
        run = report[f"{model}/{name}"]
        assert run["calls"] == [{"name": "get_weather", "input": {"city": "Paris"}}]
        assert run["results"] == ["Sunny, 21 C in Paris"]
        assert "Sunny, 21 C in Paris" in run["text"]
        assert run["finish_reason"] == "stop"
        sent = run["sent"]
        assert [request["path"] for request in sent] == ["/v1/responses", "/v1/responses"]
        assert "function_call_output" in sent[1]["input_types"]  # the SDK sent the tool's result back
    assert report[f"{model}/generate_tool"]["steps"] == 2
    streamed = report[f"{model}/stream_tool"]
    assert _collapsed(streamed["types"]) == AI_SDK_TOOL_PARTS
    assert streamed["final_text"] == streamed["text"]

    requests = chat_upstreams[provider].emulator.requests
    _only_key(requests, KEYS[provider])
    assert "Sunny, 21 C in Paris" in json.dumps(requests[-1].body)  # the tool's result reached the model
