"""OpenAI's Responses API, for the OpenAI emulator only (`ProviderProfile.has_responses`).

Endpoints (under the base path, the bearer key checked as for chat, faults applied under the endpoint name
`responses`):

- `POST /responses`: checked strictly (`openai_responses_request`, `openai_responses_input`), answered as a
  `response` object or, with `stream: true`, as typed SSE events (`openai_responses_stream`). The answer is
  decided by `chat.answer` from the input read as chat messages, so it is the chat endpoint's answer: the
  same text (`content.reply_for`), tool calls for the function tools the last user message mentions, JSON
  following `text.format`'s schema. `max_output_tokens` cuts the text (`status: incomplete`,
  `incomplete_details.reason: max_output_tokens`). Reasoning models (o1, o3, o4-mini, gpt-5...) put a
  `reasoning` item first and count `reasoning_tokens` by effort (`REASONING_TOKENS`), which spend
  `max_output_tokens` first;
- `GET /responses/{id}` (`?stream=true` replays its events, from `starting_after`), `DELETE
  /responses/{id}`, `POST /responses/{id}/cancel`, `GET /responses/{id}/input_items` (`order`, `limit`,
  `after`): stored responses only (`store`, default true), per API key.

Hosted tools (web_search, file_search, code_interpreter, mcp...) are accepted and echoed, never called.
`background: true` answers `queued` at once; the first poll (`GET`) finds it completed, and `cancel`
before that cancels it. A `conversation` is always unknown (the Conversations API is not emulated).
Error texts follow the real API's where known; the few others are marked (unverified).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from byokgate.emulators import chat, content
from byokgate.emulators.faults import Fault
from byokgate.emulators.openai_responses_input import (
    check_items,
    check_tool_pairs,
    new_id,
    to_messages,
)
from byokgate.emulators.openai_responses_request import (
    JSON_WORD,
    CreateRequest,
    conversation_id,
    validate_create,
)
from byokgate.emulators.openai_responses_store import DEFAULT_CAPACITY, ResponseStore, StoredResponse
from byokgate.emulators.openai_responses_stream import replay, stream_events
from byokgate.emulators.profile import ApiError, ChatAnswer, ModelInfo, ProviderProfile
from byokgate.emulators.validation import ChatOptions, check_number, invalid_type, invalid_value

REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
DEFAULT_EFFORT = "medium"
REASONING_TOKENS = {
    "none": 0,
    "minimal": 16,
    "low": 64,
    "medium": 192,
    "high": 448,
    "xhigh": 768,
    "max": 1024,
}
CONTEXT_WINDOW_EXCEEDED = (
    "Your input exceeds the context window of this model. Please adjust your input and try again."
)
FaultOf = Callable[[str], Fault | None]


@dataclass(slots=True)
class Reply:
    """What the engine sends: a JSON body, or SSE events; with the response id and tokens for headers."""

    body: dict[str, Any] | None = None
    events: Iterator[dict[str, Any]] | None = None
    response_id: str | None = None
    tokens: int = 0


def is_reasoning(model_id: str) -> bool:
    return model_id.startswith(REASONING_PREFIXES)


def not_found(response_id: str) -> ApiError:
    return ApiError(404, f"Response with id '{response_id}' not found.")


def _reasoning_summary(messages: list[dict[str, Any]]) -> str:
    question = " ".join(content.last_user_text(messages).split()[:8]).rstrip(".!?,;:") or "(empty)"
    return f"**Answering the question**\n\nThe user asks: {question}. I will answer directly and briefly."


def _encrypted(text: str) -> str:
    """A stand-in for `reasoning.encrypted_content` (opaque to clients, as the real one is)."""
    return "gAAAAA" + base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest() * 3).decode()


class ResponsesApi:
    """The Responses API of one emulator, with its stored responses."""

    def __init__(self, profile: ProviderProfile, capacity: int = DEFAULT_CAPACITY) -> None:
        self.profile = profile
        self.store = ResponseStore(capacity)

    @staticmethod
    def serves(method: str, relative: str) -> bool:
        """Whether `method relative` is one of the endpoints (else the engine answers 404)."""
        parts = relative.split("/")[1:]  # ["responses", id, operation]
        if parts == ["responses"]:
            return method == "POST"
        if len(parts) == 2 and parts[1]:
            return method in ("GET", "DELETE")
        if len(parts) == 3 and parts[1]:
            return (parts[2], method) in (("cancel", "POST"), ("input_items", "GET"))
        return False

    def handle(self, method: str, relative: str, body: Any, query: str, key: str, fault: FaultOf) -> Reply:
        parts = relative.split("/")[1:]
        if len(parts) == 1:
            return self.create(body, key, fault)
        params = {name: values[-1] for name, values in parse_qs(query).items()}
        response_id = parts[1]
        if len(parts) == 3:
            if parts[2] == "cancel":
                return Reply(self.cancel(key, response_id), response_id=response_id)
            return Reply(self.input_items(key, response_id, params), response_id=response_id)
        if method == "DELETE":
            if not self.store.delete(key, response_id):
                raise not_found(response_id)
            return Reply({"id": response_id, "object": "response.deleted", "deleted": True})
        response = self.retrieve(key, response_id)
        if params.get("stream") == "true":
            after = check_number(
                _integer(params.get("starting_after"), "starting_after"),
                "starting_after",
                0,
                None,
                integer=True,
            )
            return Reply(events=replay(response, after), response_id=response_id)
        return Reply(response, response_id=response_id)

    # POST /responses --------------------------------------------------------------------------------
    def create(self, body: dict[str, Any], key: str, fault: FaultOf) -> Reply:
        request = validate_create(body)
        conversation = conversation_id(body)
        if conversation is not None:  # (unverified) wording
            raise ApiError(404, f"Conversation with id '{conversation}' not found.", param="conversation")
        model = self._model(request.model)
        reasoning = self._reasoning(request, model)
        previous = None
        if request.previous_response_id is not None:
            previous = self.store.get(key, request.previous_response_id)
            if previous is None:
                message = f"Previous response with id '{request.previous_response_id}' not found."
                code = "previous_response_not_found"
                raise ApiError(400, message, param="previous_response_id", code=code)
        items = check_items(request.input, lambda item_id: self.store.find_item(key, item_id))
        context = [*(previous.context if previous else ()), *items]
        check_tool_pairs(context)
        messages = to_messages(context, request.instructions)
        if request.json_object and not any(
            "json" in content.content_text(message.get("content")).lower() for message in messages
        ):
            raise ApiError(400, JSON_WORD, param="input")
        reasoning_tokens = REASONING_TOKENS[reasoning["effort"]] if reasoning["effort"] else 0
        answer, reasoning_tokens = self._answer(request, model, messages, reasoning_tokens)
        if fault("context_length"):
            raise ApiError(400, CONTEXT_WINDOW_EXCEEDED, param="input", code="context_length_exceeded")
        if fault("content_filter"):
            raise self.profile.content_filter_error(model, body)
        output = self._output(request, answer, reasoning, reasoning_tokens, messages)
        response = self._response(request, model, reasoning, output, answer, reasoning_tokens)
        tokens = response["usage"]["total_tokens"]
        if request.store:
            stored = response
            pending = None
            if request.background and not request.stream:
                stored = {**response, "status": "queued", "completed_at": None, "output": [], "usage": None}
                pending = response
            self.store.put(key, StoredResponse(stored, items, [*context, *output], pending))
            if pending is not None:
                return Reply(stored, response_id=response["id"], tokens=tokens)
        if request.stream:
            events = stream_events(response, obfuscate=request.obfuscate)
            return Reply(events=events, response_id=response["id"], tokens=tokens)
        return Reply(response, response_id=response["id"], tokens=tokens)

    def _model(self, model_id: str) -> ModelInfo:
        model = self.profile.model(model_id)
        if model is None or model.kind != "chat":
            message = f"The requested model '{model_id}' does not exist."
            raise ApiError(400, message, param="model", code="model_not_found")
        return model

    def _reasoning(self, request: CreateRequest, model: ModelInfo) -> dict[str, Any]:
        """`reasoning` as the response echoes it; refuses what the model does not take."""
        sent = request.reasoning or {}
        summary = sent.get("summary") or sent.get("generate_summary")
        if not is_reasoning(model.id):
            for name in ("effort", "summary"):
                if sent.get(name) is not None:
                    raise _unsupported(f"reasoning.{name}")
            return {"effort": None, "summary": None}
        for name in ("temperature", "top_p"):
            if getattr(request, name) is not None:
                raise _unsupported(name)
        return {"effort": sent.get("effort") or DEFAULT_EFFORT, "summary": summary}

    def _answer(
        self, request: CreateRequest, model: ModelInfo, messages: list[dict[str, Any]], reasoning_tokens: int
    ) -> tuple[ChatAnswer, int]:
        """The chat answer, and the reasoning tokens spent: reasoning spends `max_output_tokens` first."""
        budget = request.max_output_tokens
        if budget is not None:
            reasoning_tokens = min(reasoning_tokens, budget)
            budget -= reasoning_tokens
        options = ChatOptions(
            model=model.id,
            messages=messages,
            max_tokens=budget,
            tools=request.functions,
            tool_choice=request.chat_tool_choice,
            parallel_tool_calls=request.parallel_tool_calls,
            response_schema=request.response_schema,
        )
        if budget == 0:  # nothing left after reasoning: no answer at all
            prompt = content.prompt_tokens(messages, request.functions or None)
            return ChatAnswer(None, [], "length", prompt, 0), reasoning_tokens
        return chat.answer(options, self.profile), reasoning_tokens

    def _output(
        self,
        request: CreateRequest,
        answer: ChatAnswer,
        reasoning: dict[str, Any],
        reasoning_tokens: int,
        messages: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        output: list[dict[str, Any]] = []
        if reasoning["effort"] not in (None, "none"):
            item: dict[str, Any] = {"id": new_id("rs"), "type": "reasoning", "summary": []}
            summary = _reasoning_summary(messages)
            if reasoning["summary"]:
                item["summary"] = [{"type": "summary_text", "text": summary}]
            if "reasoning.encrypted_content" in request.include:
                item["encrypted_content"] = _encrypted(summary + str(reasoning_tokens))
            output.append(item)
        for call in answer.tool_calls:
            function = call["function"]
            output.append(
                {
                    "id": new_id("fc"),
                    "type": "function_call",
                    "status": "completed",
                    "arguments": function["arguments"],
                    "call_id": call["id"],
                    "name": function["name"],
                }
            )
        if answer.content is not None:
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": answer.content}
            status = "incomplete" if answer.finish_reason == "length" else "completed"
            message = {"id": new_id("msg"), "type": "message", "status": status, "content": [part]}
            output.append({**message, "role": "assistant"})
        return output

    def _response(
        self,
        request: CreateRequest,
        model: ModelInfo,
        reasoning: dict[str, Any],
        output: list[dict[str, Any]],
        answer: ChatAnswer,
        reasoning_tokens: int,
    ) -> dict[str, Any]:
        created = int(time.time())
        incomplete = answer.finish_reason == "length"
        output_tokens = answer.completion_tokens + reasoning_tokens
        tier = request.service_tier
        usage = {
            "input_tokens": answer.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": answer.prompt_tokens + output_tokens,
        }
        echoed = request.echoed
        response: dict[str, Any] = {
            "id": new_id("resp"),
            "object": "response",
            "created_at": created,
            "status": "incomplete" if incomplete else "completed",
            "background": request.background,
            "billing": {"payer": "developer"},
            "completed_at": None if incomplete else created,
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "instructions": request.instructions,
            "max_output_tokens": request.max_output_tokens,
            "max_tool_calls": request.max_tool_calls,
            "model": model.id,
            "output": output,
            "parallel_tool_calls": request.parallel_tool_calls,
            "previous_response_id": request.previous_response_id,
            "prompt_cache_key": echoed.get("prompt_cache_key"),
            "prompt_cache_retention": echoed.get("prompt_cache_retention"),
            "reasoning": reasoning,
            "safety_identifier": echoed.get("safety_identifier"),
            "service_tier": "priority"
            if tier == "fast"
            else tier
            if tier not in (None, "auto")
            else "default",
            "store": request.store,
            "temperature": 1.0 if request.temperature is None else request.temperature,
            "text": request.text,
            "tool_choice": request.tool_choice,
            "tools": request.tools,
            "top_logprobs": request.top_logprobs or 0,
            "top_p": 1.0 if request.top_p is None else request.top_p,
            "truncation": request.truncation,
            "usage": usage,
            "user": echoed.get("user"),
            "metadata": request.metadata,
        }
        if "prompt" in echoed:
            response["prompt"] = echoed["prompt"]
        return response

    # stored responses -------------------------------------------------------------------------------
    def _stored(self, key: str, response_id: str) -> StoredResponse:
        entry = self.store.get(key, response_id)
        if entry is None:
            raise not_found(response_id)
        return entry

    def retrieve(self, key: str, response_id: str) -> dict[str, Any]:
        """The stored response; a background one still `queued` is found completed (the first poll)."""
        entry = self._stored(key, response_id)
        if entry.pending is not None:
            entry.response, entry.pending = entry.pending, None
        return entry.response

    def cancel(self, key: str, response_id: str) -> dict[str, Any]:
        """Cancel a background response not yet completed; cancelling again returns it as it is."""
        entry = self._stored(key, response_id)
        if not entry.response.get("background"):
            raise ApiError(400, "Cannot cancel a synchronous response.")
        if entry.pending is not None:
            entry.response = {**entry.response, "status": "cancelled"}
            entry.pending = None
        return entry.response

    def input_items(self, key: str, response_id: str, params: Mapping[str, str]) -> dict[str, Any]:
        entry = self._stored(key, response_id)
        limit = check_number(_integer(params.get("limit"), "limit"), "limit", 1, 100, integer=True) or 20
        order = params.get("order") or "desc"
        if order not in ("asc", "desc"):
            raise invalid_value("order", order, ("asc", "desc"))
        items = entry.input_items if order == "asc" else entry.input_items[::-1]
        after = params.get("after")
        if after:  # an id that is not among the items: nothing after it (unverified)
            ids = [item.get("id") for item in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        page = items[:limit]
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(items) > limit,
        }


def _unsupported(param: str) -> ApiError:
    message = f"Unsupported parameter: '{param}' is not supported with this model."
    return ApiError(400, message, param=param, code="unsupported_parameter")


def _integer(value: str | None, param: str) -> int | None:
    """A query parameter read as an integer."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise invalid_type(param, "an integer", value) from exc
