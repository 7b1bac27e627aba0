"""A `ProviderProfile` rendered entirely from a `CompatibleSpec` record: one class for every
OpenAI-compatible provider whose differences are data (paths, ids, errors, usage, stream shape, refusals).

Reasoning models answer with a deterministic trace (`reasoning_text`), returned in the record's field or
inline in `<think>` tags, and counted in usage the way the record says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import orjson

from byokgate.emulators import compatible_render as render
from byokgate.emulators import content
from byokgate.emulators.compatible_spec import CompatibleSpec, Failure, ModelSpec
from byokgate.emulators.compatible_stream import stream_chunks
from byokgate.emulators.faults import Fault
from byokgate.emulators.openai_compat import Emulator
from byokgate.emulators.profile import (
    ApiError,
    Exchange,
    Headers,
    ModelInfo,
    Position,
    ProviderProfile,
    retry_headers,
)

REASONING = "The user asks: {text} I will answer directly and briefly."
_JSON_FORMATS = ("json_object", "json_schema")


def _without_sentence(text: str, marker: str) -> str:
    """`text` without the sentences holding `marker` (a rate-limit message armed without a retry time)."""
    sentences = re.split(r"(?<=\.)\s+", text)
    return " ".join(sentence for sentence in sentences if marker not in sentence)


def _info(spec: CompatibleSpec, model: ModelSpec) -> ModelInfo:
    return ModelInfo(
        model.id,
        model.created,
        spec.owned_by,
        model.kind,
        model.dimensions,
        model.resizable,
        extra=model.extra,
    )


class CompatibleProfile(ProviderProfile):
    """Renders the OpenAI chat-completions format the way `spec` describes."""

    def __init__(self, spec: CompatibleSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.base_path = spec.base_path
        self.extra_base_paths = spec.extra_base_paths
        self.catalog = tuple(_info(spec, model) for model in spec.models)
        self.has_embeddings = any(model.kind == "embedding" for model in spec.models)
        self.has_models_list = self.has_model_retrieve = spec.has_models_list
        self.stream_done = spec.stream.done
        self.extra_chat_fields = spec.extra_fields
        super().__init__()

    # ids -------------------------------------------------------------------------------------------
    def completion_id(self) -> str:
        return render.new_id(self.spec.completion_id)

    def tool_call_id(self) -> str:
        # Indexed styles are numbered when rendered (`calls`), from a plain `call_` id.
        style = self.spec.tool_call_id
        return render.tool_call_id("call_alnum24" if style == "call_indexed" else style, 0)

    def request_id(self) -> str:
        return render.new_id("uuid")

    def fingerprint(self, model: ModelInfo) -> str | None:
        return self.spec.fingerprint

    # headers ---------------------------------------------------------------------------------------
    def _id_headers(self, request_id: str) -> Headers:
        return [*self.spec.extra_headers, *((name, request_id) for name in self.spec.request_id_headers)]

    def response_headers(
        self, request_id: str, *, endpoint: str, generation_id: str | None, tokens: int, elapsed_ms: int
    ) -> Headers:
        headers = self._id_headers(request_id)
        if endpoint in ("chat", "embeddings"):
            for limit in self.spec.rate_limits:
                used = tokens if limit.unit == "tokens" else 1
                headers += [
                    (limit.limit_header, str(limit.limit)),
                    (limit.remaining_header, str(max(limit.limit - used, 0))),
                ]
        return headers

    def error_headers(self, error: ApiError, request_id: str) -> Headers:
        return [*self._id_headers(request_id), *error.headers.items()]

    # errors ----------------------------------------------------------------------------------------
    def _fail(
        self,
        failure: Failure,
        *,
        headers: Mapping[str, str] | None = None,
        message: Any = None,
        **values: Any,
    ) -> ApiError:
        style = self.spec.errors.style
        request_id = render.new_id(self.spec.completion_id)
        return render.failure(style, failure, request_id, headers=headers, message=message, **values)

    def error_response(self, error: ApiError) -> tuple[int, bytes, str]:
        if error.payload is not None:
            return error.status, error.payload, error.content_type
        errors = self.spec.errors
        status = errors.validation_status if error.status == 400 else error.status
        request_id = render.new_id(self.spec.completion_id)
        body = render.validation_body(errors.style, error, status, request_id)
        return status, orjson.dumps(body), "application/json"

    def auth_error(self, key: str | None) -> ApiError:
        errors = self.spec.errors
        if key is None:
            return self._fail(errors.missing_key)
        masked = errors.key_mask.apply(key) if errors.key_mask else key
        return self._fail(errors.wrong_key, key=masked)

    def model_not_found(self, model: str) -> ApiError:
        return self._fail(self.spec.errors.unknown_model, model=model)

    def retrieve_not_found(self, model: str) -> ApiError:
        return self.model_not_found(model)

    def fault_error(self, fault: Fault, model: str | None) -> ApiError:
        errors = self.spec.errors
        if fault.kind == "429":
            failure = errors.rate_limit
            if fault.retry_after_s is None:  # no retry hint: no header, and no sentence quoting one
                failure = replace(failure, message=_without_sentence(failure.message, "{retry}"))
            return self._fail(
                failure, headers=retry_headers(fault), retry=fault.retry_after_s, model=model or ""
            )
        status = int(fault.kind)
        failure = errors.server.get(status) or Failure(status, "Internal Server Error", "server_error")
        return self._fail(failure, status=status)

    def context_window(self, model: ModelInfo) -> int:
        value = model.extra.get("context_length")
        return value if isinstance(value, int) else self.spec.context_window

    def context_length_error(self, model: ModelInfo, prompt_tokens: int, max_tokens: int | None) -> ApiError:
        failure = self.spec.errors.context_length
        if failure is None:
            return super().context_length_error(model, prompt_tokens, max_tokens)
        limit = self.context_window(model)
        messages, completion = limit + prompt_tokens, max_tokens or 0
        return self._fail(
            failure,
            model=model.id,
            limit=limit,
            messages=messages,
            completion=completion,
            total=messages + completion,
        )

    def content_filter_error(self, model: ModelInfo, body: Mapping[str, Any]) -> ApiError:
        failure = self.spec.errors.content_filter
        if failure is None:
            return super().content_filter_error(model, body)
        return self._fail(failure, model=model.id)

    # request checks --------------------------------------------------------------------------------
    def _refuse(self, field: str, value: Any) -> ApiError:
        failure = self.spec.errors.rejected_field
        head, *rest = field.split("_")
        camel = head + "".join(part.title() for part in rest)
        text = failure.message.format(field=field, field_camel=camel)
        message = render.rejected_message(self.spec.errors.style, text, field, value)
        return self._fail(failure, message=message, field=field, field_camel=camel)

    def _check_roles(self, messages: Sequence[Any]) -> None:
        errors = self.spec.errors
        roles = [message.get("role") for message in messages if isinstance(message, Mapping)]
        while roles and roles[0] == "system":
            roles.pop(0)
        expected = ("user", "assistant")
        if errors.role_order and any(role != expected[index % 2] for index, role in enumerate(roles)):
            raise self._fail(errors.role_order)
        if errors.last_role and roles and roles[-1] != "user":
            raise self._fail(errors.last_role)

    def check_chat(self, body: Mapping[str, Any]) -> None:
        errors = self.spec.errors
        for field in sorted(self.spec.rejected_fields):
            if body.get(field) is not None:
                raise self._refuse(field, body[field])
        model_id = body.get("model")
        model = self.spec.model(model_id) if isinstance(model_id, str) else None
        for field in sorted(model.rejects if model else ()):
            if body.get(field) is not None:
                raise self._refuse(field, body[field])
        tools = body.get("tools")
        if tools and model and not model.tools and errors.unsupported_tools:
            raise self._fail(errors.unsupported_tools, model=model.id)
        response_format = body.get("response_format")
        json_mode = isinstance(response_format, Mapping) and response_format.get("type") in _JSON_FORMATS
        if tools and json_mode and errors.tools_with_response_format:
            raise self._fail(errors.tools_with_response_format)
        messages = body.get("messages")
        if isinstance(messages, list) and messages:
            self._check_roles(messages)

    def chat_view(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        choice = body.get("tool_choice")
        if isinstance(choice, str) and choice in self.spec.tool_choice_aliases:
            return {**body, "tool_choice": self.spec.tool_choice_aliases[choice]}
        return body

    def check_embeddings(self, body: Mapping[str, Any]) -> None:
        for field in sorted(self.spec.embedding_rejected_fields):
            if body.get(field) is not None:
                raise self._refuse(field, body[field])

    # answer pieces ---------------------------------------------------------------------------------
    def _model_spec(self, exchange: Exchange) -> ModelSpec:
        return self.spec.model(exchange.model.id) or ModelSpec(exchange.model.id)

    def _reasoning_active(self, exchange: Exchange) -> bool:
        reasoning = self.spec.reasoning
        if reasoning is None:
            return False
        active = self._model_spec(exchange).reasoning
        switch = exchange.body.get(reasoning.switch) if reasoning.switch else None
        if isinstance(switch, Mapping) and switch.get("type") in ("enabled", "disabled"):
            active = switch["type"] == "enabled"
        return active

    def reasoning_text(self, exchange: Exchange) -> str | None:
        """The (deterministic) reasoning trace, when the model reasons for this request."""
        if not self._reasoning_active(exchange):
            return None
        return REASONING.format(text=content.last_user_text(list(exchange.body.get("messages") or [])))

    def shown_reasoning(self, exchange: Exchange) -> str | None:
        """The trace as returned to the client (None for models that only count it)."""
        return self.reasoning_text(exchange) if self._model_spec(exchange).reasoning_visible else None

    def visible_content(self, exchange: Exchange) -> str:
        """The message content as sent (with an inline `<think>` trace for APIs that inline it)."""
        text = exchange.answer.content or ""
        reasoning = self.spec.reasoning
        trace = self.shown_reasoning(exchange)
        if reasoning is not None and reasoning.field is None and trace:
            return f"<think>\n{trace}\n</think>\n\n{text}"
        return text

    def tool_call(self, call: Mapping[str, Any], index: int) -> dict[str, Any]:
        rendered: dict[str, Any] = {"id": call["id"]}
        if self.spec.tool_call_type:
            rendered["type"] = "function"
        rendered["function"] = dict(call["function"])
        if self.spec.tool_call_index or self.spec.stream.tool_calls != "fragments":
            rendered["index"] = index
        return rendered

    def calls(self, exchange: Exchange) -> list[dict[str, Any]]:
        """The answer's tool calls with ids in the provider's style (indexed styles number them)."""
        calls = [dict(call) for call in exchange.answer.tool_calls]
        if self.spec.tool_call_id == "call_indexed":
            for index, call in enumerate(calls):
                call["id"] = f"call_{index:02d}_{str(call['id'])[5:]}"
        return calls

    def usage_for(
        self, exchange: Exchange, *, final: bool = True, completion_tokens: int | None = None
    ) -> dict[str, Any]:
        """The usage object; `completion_tokens` gives the running count of a stream that repeats usage
        on every chunk (`final` false until its last chunk)."""
        answer = exchange.answer
        trace = self.reasoning_text(exchange)
        reasoning = content.count_tokens(trace) * answer.n if trace else 0
        settings = self.spec.reasoning
        counted = settings is not None and (settings.in_completion or settings.field is None)
        if completion_tokens is None:
            completion_tokens = answer.completion_tokens * answer.n + (reasoning if counted else 0)
        completion = completion_tokens
        style = self.spec.usage
        return render.usage(
            style, self._model_spec(exchange), answer.prompt_tokens, completion, reasoning, final=final
        )

    def timing_for(self, exchange: Exchange) -> dict[str, Any]:
        answer = exchange.answer
        return render.timing(self.spec.usage, answer.prompt_tokens, answer.completion_tokens * answer.n)

    def _search(self, exchange: Exchange) -> dict[str, Any]:
        if not self.spec.search_results:
            return {}
        if self.spec.search_off and exchange.body.get(self.spec.search_off):
            return {"citations": [], "search_results": []}
        text = content.last_user_text(list(exchange.body.get("messages") or []))
        slug = "-".join(re.findall(r"[a-z0-9]+", text.lower())[:4]) or "query"
        results = [
            {
                "title": f"Result {rank} for {text[:40]}",
                "url": f"https://example.org/{slug}/{rank}",
                "date": "2025-01-01",
                "last_updated": "2025-01-02",
                "snippet": f"An emulated search result about {text[:60]}.",
            }
            for rank in (1, 2)
        ]
        return {"citations": [result["url"] for result in results], "search_results": results}

    # rendering -------------------------------------------------------------------------------------
    def message(self, exchange: Exchange) -> dict[str, Any]:
        answer = exchange.answer
        spec = self.spec
        message: dict[str, Any] = {"role": "assistant", "content": self.visible_content(exchange)}
        if answer.tool_calls:
            message["content"] = spec.content_with_tools
            message["tool_calls"] = [
                self.tool_call(call, index) for index, call in enumerate(self.calls(exchange))
            ]
        elif spec.tool_calls_when_none != "absent":
            message["tool_calls"] = None if spec.tool_calls_when_none == "null" else []
        trace = self.shown_reasoning(exchange)
        if trace and spec.reasoning and spec.reasoning.field:
            message[spec.reasoning.field] = trace
        if spec.refusal_field:
            message["refusal"] = None
        return message

    def choice(self, exchange: Exchange, index: int) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": index, "message": self.message(exchange)}
        if self.spec.logprobs_null:
            choice["logprobs"] = None
        return {**choice, "finish_reason": exchange.answer.finish_reason, **self.spec.choice_extras}

    def usage(self, exchange: Exchange) -> dict[str, Any]:
        return self.usage_for(exchange)

    def completion(self, exchange: Exchange) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": exchange.completion_id,
            "object": "chat.completion",
            "created": exchange.created,
            "model": exchange.model.id,
            **self.spec.completion_extras,
            "choices": [self.choice(exchange, index) for index in range(exchange.answer.n)],
            "usage": self.usage(exchange),
            **self.timing_for(exchange),
            **self._search(exchange),
        }
        if self.spec.fingerprint is not None:
            body["system_fingerprint"] = self.spec.fingerprint
        return body

    def chunk(
        self, exchange: Exchange, choices: Sequence[dict[str, Any]], position: Position
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": exchange.completion_id,
            "object": self.spec.stream.chunk_object,
            "created": exchange.created,
            "model": exchange.model.id,
        }
        if self.spec.fingerprint is not None:
            chunk["system_fingerprint"] = self.spec.fingerprint
        return {**chunk, **self._search(exchange), "choices": list(choices)}

    def stream_chunks(self, exchange: Exchange) -> Iterator[dict[str, Any]]:
        return stream_chunks(self, exchange)

    # embeddings and models -------------------------------------------------------------------------
    def embeddings(self, model: ModelInfo, data: list[dict[str, Any]], tokens: int) -> dict[str, Any]:
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return {"object": "list", "data": data, "model": model.id, "usage": usage}

    def model_object(self, model: ModelInfo) -> dict[str, Any]:
        spec_model = self.spec.model(model.id) or ModelSpec(model.id)
        return render.model_object(self.spec.listing, self.spec, spec_model)

    def models_list(self, query: Mapping[str, str]) -> Any:
        return render.models_list(self.spec.listing, self.spec)


def compatible_emulator(
    spec: CompatibleSpec, keys: Iterable[str] = (), *, accept_any_key: bool = False, **options: Any
) -> Emulator:
    """An emulator of the provider `spec` describes (clients use `<root><spec.base_path>` as base URL)."""
    return Emulator(CompatibleProfile(spec), keys=keys, accept_any_key=accept_any_key, **options)
