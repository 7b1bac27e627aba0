"""The behaviours behind a `CompatibleSpec`'s style names: ids, error bodies, usage objects, model listings.

Each function takes a style name from the record and returns plain JSON-ready data; none names a provider.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from byokgate.emulators.compatible_spec import (
    CompatibleSpec,
    ErrorStyle,
    Failure,
    IdStyle,
    ListingStyle,
    ModelSpec,
    ToolIdStyle,
    UsageStyle,
)
from byokgate.emulators.profile import ApiError, random_alnum

# How gRPC-backed APIs word a status in their `code` field (the standard gRPC status descriptions).
GRPC_WORDS = {
    400: "Client specified an invalid argument",
    401: "The request does not have valid authentication credentials for the operation",
    403: "The caller does not have permission to execute the specified operation",
    404: "Some requested entity was not found",
    422: "Client specified an invalid argument",
    429: "Some resource has been exhausted",
    500: "Internal error",
    502: "The service is currently unavailable",
    503: "The service is currently unavailable",
    504: "The deadline expired before the operation could complete",
}
HTML_TYPE = "text/html"


# ids -----------------------------------------------------------------------------------------------
def new_id(style: IdStyle) -> str:
    if style == "chatcmpl_uuid":
        return f"chatcmpl-{uuid.uuid4()}"
    if style == "uuid":
        return str(uuid.uuid4())
    if style == "hex32":
        return uuid.uuid4().hex
    if style == "triplet":
        return f"{random_alnum(7)}-{random_alnum(6)}-{os.urandom(8).hex()}"
    return "chatcmpl-" + random_alnum(29)


def tool_call_id(style: ToolIdStyle, index: int) -> str:
    if style == "call_hex24":
        return "call_" + os.urandom(12).hex()
    if style == "call_indexed":
        return f"call_{index:02d}_{random_alnum(24)}"
    if style == "alnum9":
        return random_alnum(9)
    if style == "hex9":
        return os.urandom(5).hex()[:9]
    return "call_" + random_alnum(24)


# errors --------------------------------------------------------------------------------------------
def styled_body(
    style: ErrorStyle,
    *,
    status: int,
    message: Any,
    type: str | None,
    code: str | int | None,
    param: str | None,
    request_id: str,
) -> Any:
    """An error body in the provider's shape."""
    if style == "openai":
        return {"error": {"message": message, "type": type, "param": param, "code": code}}
    if style == "openai_with_id":
        return {"id": request_id, "error": {"message": message, "type": type, "param": param, "code": code}}
    if style == "pydantic":
        return {"object": "error", "message": message, "type": type, "param": param, "code": code}
    if style == "grpc":
        return {"code": GRPC_WORDS.get(status, GRPC_WORDS[500]), "error": message}
    if style == "flat":
        return {"message": message, "type": type, "param": param, "code": code}
    if style == "typed_object":
        return {"error": {"object": "error", "type": type, "code": code, "message": message}}
    return {"error": {"message": message, "type": type, "code": status}}  # status_code


def failure(
    style: ErrorStyle,
    spec_failure: Failure,
    request_id: str,
    *,
    headers: Mapping[str, str] | None = None,
    message: Any = None,
    **values: Any,
) -> ApiError:
    """A `Failure` of the record, rendered into a ready-to-send `ApiError` (`message` replaces the
    formatted text in the body, for APIs whose message is structured)."""
    text = spec_failure.message.format(**values) if values else spec_failure.message
    if spec_failure.html is not None:
        payload, content_type = spec_failure.html.encode(), HTML_TYPE
    elif spec_failure.body is not None:
        payload, content_type = orjson.dumps(spec_failure.body), "application/json"
    else:
        body = styled_body(
            style,
            status=spec_failure.status,
            message=text if message is None else message,
            type=spec_failure.type,
            code=spec_failure.code,
            param=spec_failure.param.format(**values) if spec_failure.param else None,
            request_id=request_id,
        )
        payload, content_type = orjson.dumps(body), "application/json"
    return ApiError(
        spec_failure.status,
        text,
        type=spec_failure.type or "error",
        headers=headers,
        payload=payload,
        content_type=content_type,
    )


def rejected_message(style: ErrorStyle, text: str, field: str, value: Any) -> Any:
    """The message of a refused request field (pydantic-style APIs nest it in a validation detail)."""
    if style != "pydantic":
        return text
    return {"detail": [{"type": "extra_forbidden", "loc": ["body", field], "msg": text, "input": value}]}


def _pydantic_location(param: str | None) -> list[str | int]:
    parts: list[str | int] = ["body"]
    for piece in re.findall(r"[^.\[\]]+", param or ""):
        parts.append(int(piece) if piece.isdigit() else piece)
    return parts


def validation_body(style: ErrorStyle, error: ApiError, status: int, request_id: str) -> Any:
    """A shared-validation error (written in OpenAI's terms) in the provider's shape."""
    if style == "pydantic":
        if status == 404:
            return {"detail": "Not Found"}
        missing = error.code == "missing_required_parameter"
        detail = {
            "type": "missing" if missing else "value_error",
            "loc": _pydantic_location(error.param),
            "msg": "Field required" if missing else error.message,
            "input": None,
        }
        return styled_body(
            style,
            status=status,
            message={"detail": [detail]},
            type="invalid_request_error",
            code=None,
            param=None,
            request_id=request_id,
        )
    kind = "invalid_parameter" if style == "status_code" else error.type
    return styled_body(
        style,
        status=status,
        message=error.message,
        type=kind,
        code=error.code,
        param=error.param,
        request_id=request_id,
    )


# usage ---------------------------------------------------------------------------------------------
def _cost(model: ModelSpec, prompt: int, completion: int) -> tuple[float, float]:
    pricing = model.extra.get("pricing") or {}
    return (
        prompt * float(pricing.get("input", 0)) / 1_000_000,
        completion * float(pricing.get("output", 0)) / 1_000_000,
    )


def usage(
    style: UsageStyle, model: ModelSpec, prompt: int, completion: int, reasoning: int, *, final: bool = True
) -> dict[str, Any]:
    """The usage object. `completion` already includes `reasoning` when the provider counts it there;
    `final` is false for the running usage some streams repeat on every chunk."""
    total = prompt + completion
    if style == "cache_split":
        body: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": total,
            "prompt_tokens_details": {"cached_tokens": 0},
        }
        if reasoning:
            body["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        return {**body, "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": prompt}
    if style == "itemised":
        prompt_cost, completion_cost = _cost(model, prompt, completion + reasoning)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": total + reasoning,
            "prompt_tokens_details": {
                "text_tokens": prompt,
                "audio_tokens": 0,
                "image_tokens": 0,
                "cached_tokens": 0,
            },
            "completion_tokens_details": {
                "reasoning_tokens": reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
            "num_sources_used": 0,
            "cost_in_usd_ticks": round((prompt_cost + completion_cost) * 1e10),
        }
    if style == "reasoning_count":
        # `reasoning_tokens` reads 0 in observed answers even when a trace was returned.
        return {
            "prompt_tokens": prompt,
            "total_tokens": total,
            "completion_tokens": completion,
            "reasoning_tokens": 0,
        }
    if style == "timed":
        return {
            "image_tokens": 0,
            "total_tokens": total,
            "completion_tokens": completion,
            "completion_tokens_details": {"reasoning_tokens": reasoning},
            "prompt_tokens": prompt,
            "prompt_tokens_details": {"cached_tokens": 0},
        }
    if style == "priced_search":
        body = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": total,
            "search_context_size": "low",
        }
        if final:
            prompt_cost, completion_cost = _cost(model, prompt, completion)
            request_cost = float((model.extra.get("pricing") or {}).get("request", 0))
            body["cost"] = {
                "input_tokens_cost": round(prompt_cost, 6),
                "output_tokens_cost": round(completion_cost, 6),
                "request_cost": request_cost,
                "total_cost": round(prompt_cost + completion_cost + request_cost, 6),
            }
        return body
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


def timing(style: UsageStyle, prompt: int, completion: int) -> dict[str, Any]:
    """Top-level timing fields that ride next to `usage` (none for most styles)."""
    if style != "timed":
        return {}
    prompt_time = round(prompt / 400_000, 9)
    completion_time = round(completion / 2_000, 9)
    return {
        "time_info": {
            "created": time.time(),
            "queue_time": 0.0005,
            "prompt_time": prompt_time,
            "completion_time": completion_time,
            "total_time": round(0.0005 + prompt_time + completion_time, 9),
        }
    }


# models --------------------------------------------------------------------------------------------
def model_object(style: ListingStyle, spec: CompatibleSpec, model: ModelSpec) -> dict[str, Any]:
    if style == "no_created":
        return {"id": model.id, "object": "model", "owned_by": spec.owned_by}
    base = {"id": model.id, "object": "model", "created": model.created, "owned_by": spec.owned_by}
    if style == "capabilities":
        chat = model.kind == "chat"
        return {
            **base,
            "capabilities": {
                "completion_chat": chat,
                "function_calling": chat and model.tools,
                "reasoning": model.reasoning,
                "completion_fim": False,
                "fine_tuning": False,
                "vision": model.vision,
                "classification": False,
            },
            "name": model.id,
            "description": f"{model.id} (emulated).",
            "max_context_length": model.extra.get("context_length", 131072),
            "aliases": list(model.extra.get("aliases", ())),
            "deprecation": None,
            "default_model_temperature": 0.3 if chat else None,
            "type": "base",
        }
    if style == "bare_array":
        return {
            "id": model.id,
            "object": "model",
            "created": model.created,
            "type": model.kind,
            "running": False,
            "display_name": model.extra.get("display_name", model.id),
            "organization": model.extra.get("organization", spec.owned_by),
            "context_length": model.extra.get("context_length", 131072),
            "config": {"chat_template": None, "stop": [], "bos_token": None, "eos_token": None},
            "pricing": {
                "hourly": 0,
                "input": model.extra.get("pricing", {}).get("input", 0),
                "output": model.extra.get("pricing", {}).get("output", 0),
                "base": 0,
                "finetune": 0,
            },
        }
    return base


def models_list(style: ListingStyle, spec: CompatibleSpec) -> Any:
    data = [model_object(style, spec, model) for model in spec.models]
    return data if style == "bare_array" else {"object": "list", "data": data}
