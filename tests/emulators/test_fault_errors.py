"""Error-shaped faults on every emulator, in each provider's own shape: 504, a 429 without any retry hint,
`context_length` and `content_filter`, their `count` and `model` filters, and the SDKs' view of them.

The expected texts are restated here as literals (rather than read from the emulators) so that a wrong
record fails a test."""

from __future__ import annotations

import re
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google.genai import errors

from byokgate.emulators import EmulatorServer, Fault
from tests.emulators.wire import Clients, Engine, engine_of, sdk_chat

# emulator -> (status, text the body holds, the window it quotes: the catalog's, else the default)
CONTEXT: dict[str, tuple[int, str, int | None]] = {
    "openai": (400, "This model's maximum context length is 128000 tokens. However, your messages", 128_000),
    "azure": (400, "This model's maximum context length is 128000 tokens. However, your messages", 128_000),
    "groq": (400, "Please reduce the length of the messages or completion.", None),
    "openrouter": (400, "This endpoint's maximum context length is 128000 tokens. However, you", 128_000),
    "mistral": (400, "too large for model with 262144 maximum context length", 262_144),
    "deepseek": (
        400,
        "This model's maximum context length is 131072 tokens. However, you requested",
        131_072,
    ),
    "xai": (400, "This model's maximum prompt length is 131072 but the request contains", 131_072),
    "together": (400, "`inputs` tokens + `max_new_tokens` must be <= 131072. Given:", 131_072),
    "fireworks": (400, "The prompt is too long: ", 131_072),
    "cerebras": (400, "Please reduce the length of the messages or completion. Current length is", 131_072),
    "perplexity": (400, "This model's maximum context length is 128000 tokens.", 128_000),
    "anthropic": (400, "prompt is too long: ", 1_000_000),
    "gemini": (400, "exceeds the maximum number of tokens allowed (1048576).", 1_048_576),
}
FILTER = {
    "openai": (400, '"code":"content_policy_violation"'),
    "azure": (400, '"innererror":{"code":"ResponsibleAIPolicyViolation"'),
    "groq": (400, '"code":"content_policy_violation"'),
    "openrouter": (403, "requires moderation on OpenRouter"),
    "mistral": (400, '"code":"content_policy_violation"'),
    "deepseek": (400, '"message":"Content Exists Risk"'),
    "xai": (403, "Content violates usage guidelines. Team: "),
    "together": (400, '"code":"content_policy_violation"'),
    "fireworks": (400, '"code":"content_policy_violation"'),
    "cerebras": (400, '"code":"content_policy_violation"'),
    "perplexity": (400, '"type":"content_policy_violation"'),
    "anthropic": (200, '"stop_reason":"refusal"'),
    "gemini": (200, '"promptFeedback":{"blockReason":"SAFETY"'),
}
RETRY_TEXT = re.compile(r"(?i)(try again in|retry after) \d")


def _faulted(kind: str, engine: Engine, response: httpx.Response) -> bool:
    if kind == "504":
        return response.status_code == 504
    status, text = CONTEXT[engine.name][:2] if kind == "context_length" else FILTER[engine.name]
    return response.status_code == status and text in response.text


# 504 ----------------------------------------------------------------------------------------------------
def test_504_in_the_provider_shape(engine: Engine) -> None:
    response = engine.post(fault="504")
    assert response.status_code == 504
    body: Any = response.json()
    if engine.family == "gemini":
        assert (body["error"]["code"], body["error"]["status"]) == (504, "DEADLINE_EXCEEDED")
    elif engine.family == "anthropic":
        assert (body["type"], body["error"]["type"]) == ("error", "timeout_error")
        assert response.headers["x-should-retry"] == "true"
    elif engine.name in ("openai", "azure"):
        assert body["error"]["type"] == "server_error"
    assert engine.post().status_code == 200


def test_504_through_the_sdk(family_engine: Engine) -> None:
    family_engine.emulator.arm(Fault("504"))
    with pytest.raises(
        (openai.InternalServerError, anthropic.InternalServerError, errors.ServerError)
    ) as info:
        sdk_chat(family_engine)
    error: Any = info.value
    assert (error.code if isinstance(error, errors.APIError) else error.status_code) == 504


# 429 without Retry-After ----------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["python", "header", "control"])
def test_429_without_any_retry_hint(engine: Engine, how: str) -> None:
    if how == "python":
        engine.emulator.arm(Fault("429", retry_after_s=None, count=2))
    elif how == "control":
        httpx.post(f"{engine.server.url}/_emulator/faults", json={"kind": "429", "retry_after_s": None})
    response = engine.post(fault="429:none" if how == "header" else None)
    assert response.status_code == 429
    assert "retry-after" not in response.headers
    assert "retry-after-ms" not in response.headers
    assert not RETRY_TEXT.search(response.text)
    assert "RetryInfo" not in response.text
    if how == "python":
        assert engine.post().status_code == 429  # count=2
    assert engine.post().status_code == 200


def test_429_with_a_retry_hint_keeps_it(engine: Engine) -> None:
    response = engine.post(fault="429:4")
    assert response.status_code == 429
    if engine.family == "gemini":  # Gemini's only hint is RetryInfo
        assert '"retryDelay":"4s"' in response.text
    else:
        assert response.headers["retry-after"] == "4"


# context_length ----------------------------------------------------------------------------------------
def test_context_length(engine: Engine) -> None:
    response = engine.post(fault="context_length")
    status, text, window = CONTEXT[engine.name]
    assert response.status_code == status
    assert text in response.text
    if window is not None:  # the model's window is quoted, and the prompt is reported over it
        assert str(window) in response.text
        assert max(int(number) for number in re.findall(r"\d{5,}", response.text)) > window
    assert engine.post().status_code == 200


def test_context_length_body_shapes(engine: Engine) -> None:
    body: Any = engine.post(fault="context_length").json()
    if engine.name in ("openai", "azure", "groq"):
        assert {key: body["error"][key] for key in ("type", "param", "code")} == {
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }
    elif engine.name == "openrouter":
        assert body["error"]["code"] == 400
    elif engine.name == "deepseek":
        assert (body["error"]["code"], body["error"]["param"]) == ("invalid_request_error", None)
    elif engine.name == "xai":
        assert body["code"] == "Client specified an invalid argument"
    elif engine.name == "together":
        assert (body["error"]["param"], body["error"]["code"]) == ("max_tokens", None)
    elif engine.name == "anthropic":
        assert body["error"]["type"] == "invalid_request_error"
        assert re.fullmatch(r"prompt is too long: \d+ tokens > 1000000 maximum", body["error"]["message"])
    elif engine.name == "gemini":
        error = body["error"]
        assert set(error) == {"code", "message", "status"}
        assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
        assert re.fullmatch(
            r"The input token count \(\d+\) exceeds the maximum number of tokens allowed \(1048576\)\.",
            error["message"],
        )


def test_context_length_through_the_sdk(family_engine: Engine) -> None:
    family_engine.emulator.arm(Fault("context_length"))
    with pytest.raises((openai.BadRequestError, anthropic.BadRequestError, errors.ClientError)) as info:
        sdk_chat(family_engine, stream=True)
    error: Any = info.value
    if isinstance(error, openai.BadRequestError):
        assert error.code == "context_length_exceeded"
    elif isinstance(error, errors.ClientError):
        assert (error.code, error.status) == (400, "INVALID_ARGUMENT")
    else:
        assert error.type == "invalid_request_error"


# content_filter ----------------------------------------------------------------------------------------
def test_content_filter(engine: Engine) -> None:
    response = engine.post(fault="content_filter")
    status, text = FILTER[engine.name]
    assert (response.status_code, text in response.text) == (status, True)
    assert not _faulted("content_filter", engine, engine.post())  # consumed


def test_azure_content_filter(wire_servers: dict[str, EmulatorServer]) -> None:
    azure = engine_of(wire_servers, "azure")
    error = azure.post(fault="content_filter").json()["error"]
    assert (error["code"], error["param"], error["status"], error["type"]) == (
        "content_filter",
        "prompt",
        400,
        None,
    )
    result = error["innererror"]["content_filter_result"]
    assert result["jailbreak"] == {"filtered": True, "detected": True}
    assert result["hate"] == {"filtered": False, "severity": "safe"}
    azure.emulator.arm(Fault("content_filter"))
    with pytest.raises(openai.BadRequestError) as info:
        sdk_chat(azure)
    assert info.value.code == "content_filter"


def test_openrouter_moderation(wire_servers: dict[str, EmulatorServer]) -> None:
    router = engine_of(wire_servers, "openrouter")
    router.emulator.arm(Fault("content_filter"))
    with pytest.raises(openai.PermissionDeniedError) as info:
        sdk_chat(router)
    body: Any = info.value.body
    assert body["code"] == 403
    assert body["metadata"] == {
        "reasons": ["violence"],
        "flagged_input": "Hello there, how are you doing today?",
        "provider_name": "OpenAI",
        "model_slug": "openai/gpt-4o",
    }


def test_anthropic_refusal(wire_servers: dict[str, EmulatorServer]) -> None:
    claude = engine_of(wire_servers, "anthropic")
    normal: Any = sdk_chat(claude)
    claude.emulator.arm(Fault("content_filter", count=2))
    refused: Any = sdk_chat(claude)
    assert refused.stop_reason == "refusal"
    assert refused.stop_details.category == "cyber"
    assert refused.stop_details.explanation
    assert normal.content[0].text.startswith(refused.content[0].text)  # cut short
    assert refused.usage.output_tokens < normal.usage.output_tokens
    streamed: Any = sdk_chat(claude, stream=True)
    assert (streamed.stop_reason, streamed.stop_details.type) == ("refusal", "refusal")
    assert streamed.content[0].text == refused.content[0].text


@pytest.mark.parametrize("stream", [False, True])
def test_gemini_blocked_prompt(wire_servers: dict[str, EmulatorServer], stream: bool) -> None:
    gemini = engine_of(wire_servers, "gemini")
    gemini.emulator.arm(Fault("content_filter"))
    answer: Any = sdk_chat(gemini, stream=stream)
    [response] = answer if stream else [answer]
    assert response.candidates is None
    assert response.prompt_feedback.block_reason.value == "SAFETY"
    assert [rating.blocked for rating in response.prompt_feedback.safety_ratings] == [None, None, None, True]
    assert response.usage_metadata.prompt_token_count == response.usage_metadata.total_token_count > 0


# count, model and endpoint filters -----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["504", "context_length", "content_filter"])
def test_count_and_model_filters(engine: Engine, kind: Any) -> None:
    engine.emulator.arm(Fault(kind, count=2, model=engine.model))
    assert not _faulted(kind, engine, engine.post(model=engine.other_model))  # another model: untouched
    for _ in range(2):
        assert _faulted(kind, engine, engine.post())
    assert not _faulted(kind, engine, engine.post())
    assert engine.emulator.faults.armed() == []


def test_rejections_leave_other_endpoints_alone(family_engine: Engine) -> None:
    family_engine.emulator.arm(Fault("context_length"), Fault("content_filter"))
    clients = Clients(family_engine)
    if family_engine.family == "anthropic":
        with clients.anthropic() as claude:
            assert claude.models.list().data
            assert claude.messages.count_tokens(
                model=family_engine.model, messages=[{"role": "user", "content": "x"}]
            )
    elif family_engine.family == "gemini":
        with clients.gemini() as gemini:
            assert list(gemini.models.list())
    else:
        with clients.openai() as client:
            assert client.models.list().data
    assert len(family_engine.emulator.faults.armed()) == 2
