"""The rest of the canonical (OpenAI) API, on the project's own keys: legacy completions, images, audio
and moderations.

``/v1/completions``, ``/v1/images/generations|edits|variations``, ``/v1/audio/transcriptions|
translations``, ``/v1/audio/speech`` and ``/v1/moderations``. The model (from the JSON body, or the
multipart form's ``model`` field; the endpoint's default when it has one) is routed like any other, on the
BYOK lane only, to a provider whose capabilities list the endpoint (``Capabilities.endpoints``: OpenAI all
of them, Groq its Whisper models); the body goes upstream as it came (multipart uploads untouched), the
answer comes back as it is, audio streamed as it arrives. Uploads are bounded (``UPLOAD_LIMITS``: 25 MiB
for audio, as OpenAI's own limit) with a 413. The cost: the answer's token usage where it reports one,
else per image (count, size, quality), per minute of audio (the duration the answer reports) or per
character of speech, from the price catalog's dated entries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from byokgate.asgi import read_body, send_error
from byokgate.domain.upstream import UpstreamRequest
from byokgate.errors import ApiError, InvalidRequestError, NotFoundError, PayloadTooLargeError
from byokgate.proxy.auth import authenticate
from byokgate.proxy.call import check_model_name
from byokgate.proxy.costs import Coster
from byokgate.proxy.exchange import Exchange
from byokgate.proxy.metering import Metering
from byokgate.proxy.passthrough import Upstream, merged_usage, relay_answer
from byokgate.routing.policy import Lane, RoutingError, RoutingPolicy

# path -> (the capability it needs, the form its body takes, the model when none is named)
ENDPOINTS: Mapping[str, tuple[str, str, str | None]] = {
    "/v1/completions": ("completions", "json", None),
    "/v1/images/generations": ("images", "json", "dall-e-2"),
    "/v1/images/edits": ("images", "multipart", "dall-e-2"),
    "/v1/images/variations": ("images", "multipart", "dall-e-2"),
    "/v1/audio/transcriptions": ("transcriptions", "multipart", None),
    "/v1/audio/translations": ("transcriptions", "multipart", None),
    "/v1/audio/speech": ("speech", "json", None),
    "/v1/moderations": ("moderations", "json", "omni-moderation-latest"),
}
UPLOAD_LIMITS = {"transcriptions": 25 * 1024 * 1024}  # bytes; the rest: the data plane's body limit
_WHAT = {
    "completions": "completions",
    "images": "images",
    "transcriptions": "audio transcription",
    "speech": "speech",
    "moderations": "moderations",
}
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
_FIELD = re.compile(rb'name="([^"]+)"(?:; filename="[^"]*")?')


class MediaDoor:
    api = "media"

    def __init__(
        self,
        upstream: Upstream,
        *,
        policy: RoutingPolicy,
        coster: Coster,
        metering: Metering,
        max_body_bytes: int,
    ) -> None:
        self._upstream = upstream
        self._policy = policy
        self._coster = coster
        self._metering = metering
        self._max_body_bytes = max_body_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send, exchange: Exchange) -> None:
        path: str = scope["path"]
        capability, form, default = ENDPOINTS[path]
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        upstream = self._upstream
        snapshot = upstream.snapshot.current
        exchange.key = key = authenticate(snapshot, headers, datetime.now(UTC))
        limit = min(UPLOAD_LIMITS.get(capability, self._max_body_bytes), self._max_body_bytes)
        try:
            raw = await read_body(receive, limit)
        except PayloadTooLargeError:
            raise PayloadTooLargeError(
                f"Uploads to {path} are limited to {limit // (1024 * 1024)} MiB ({limit} bytes)."
            ) from None
        content_type = next((v.decode("latin-1") for n, v in headers if n == b"content-type"), "")
        fields = _form(raw, content_type) if form == "multipart" else _json_fields(raw)
        model = fields.get("model") or default
        if not isinstance(model, str) or not model:
            raise InvalidRequestError(
                "you must provide a model parameter", param="model", code="missing_model"
            )
        check_model_name(model)
        exchange.model = model
        exchange.stream = fields.get("stream") is True
        billing = snapshot.billing_of(key.project_id).policy
        route = self._policy.resolve(model, snapshot.providers_of(key.project_id), billing)
        if isinstance(route, RoutingError):
            raise NotFoundError(route.message, code=route.code, param="model")
        adapter = upstream.registry[route.provider]
        if route.lane is not Lane.BYOK:
            raise InvalidRequestError(
                f"{_WHAT[capability].capitalize()} is served on the project's own provider keys only: add a "
                f"{adapter.title} key to the project.",
                param="model",
                code="byok_only",
            )
        if capability not in adapter.capabilities.endpoints:
            raise InvalidRequestError(
                f"{adapter.title} models are not served for {_WHAT[capability]} by this gateway.",
                param="model",
                code="model_not_supported",
            )
        exchange.route = route
        await self._metering.admit(snapshot, exchange, len(raw))
        opened = upstream.credentials.open(
            snapshot, key.project_id, route.provider, model=route.upstream_model
        )
        if opened is None:
            raise NotFoundError(f"This project has no {adapter.title} key any more.", code="model_not_found")
        exchange.credential_id = opened.credential_id
        body = raw
        if form == "json" and route.upstream_model != model:  # an alias: the provider's own name goes
            parsed = orjson.loads(raw)
            parsed["model"] = route.upstream_model
            body = orjson.dumps(parsed)
        sent = {"content-type": content_type or "application/json", **adapter.auth.headers(opened.secret)}
        request = UpstreamRequest(
            "POST", f"{upstream.base_urls[route.provider]}{path.removeprefix('/v1')}", sent, body
        )
        if capability == "speech" and isinstance(fields.get("input"), str):
            exchange.usage = {"characters": len(fields["input"])}  # what speech is priced by
            exchange.cost_micro = self._coster.cost(route, exchange.usage)

        def note(answer: dict[str, Any]) -> None:
            usage = _made(capability, fields, answer) or adapter.api_usage(answer)
            if usage:
                exchange.usage = merged_usage(exchange.usage, usage)
                exchange.cost_micro = self._coster.cost(route, exchange.usage)

        await relay_answer(upstream, send, exchange, adapter, request, note)

    async def send_error(self, send: Send, error: ApiError, exchange: Exchange) -> None:
        await send_error(send, error, exchange.gateway_headers())


def _made(capability: str, fields: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """What an answer made, where it is priced that way: images (count, size, quality), audio seconds."""
    if capability == "images" and isinstance(answer.get("data"), list) and not answer.get("usage"):
        return {
            "images": len(answer["data"]),
            "image_size": str(fields.get("size") or "1024x1024"),
            "image_quality": str(fields.get("quality") or "standard"),
        }
    if capability == "transcriptions":
        usage = answer.get("usage")
        if isinstance(usage, dict) and usage.get("type") == "duration":
            return {"audio_seconds": usage.get("seconds")}
        if isinstance(answer.get("duration"), int | float):  # verbose_json
            return {"audio_seconds": answer["duration"]}
    return {}


def _json_fields(raw: bytes) -> dict[str, Any]:
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequestError(
            "We could not parse the JSON body of your request.", code="invalid_json"
        ) from None
    if not isinstance(parsed, dict):
        raise InvalidRequestError("The request body must be a JSON object.", code="invalid_json")
    return parsed


def _form(raw: bytes, content_type: str) -> dict[str, Any]:
    """The text fields of a multipart form (files are left in the body, untouched)."""
    found = _BOUNDARY.search(content_type)
    if not content_type.startswith("multipart/form-data") or found is None:
        raise InvalidRequestError(
            "This endpoint takes a multipart/form-data upload.", code="invalid_content_type"
        )
    fields: dict[str, Any] = {}
    for part in raw.split(b"--" + found.group(1).encode("latin-1")):
        head, _, value = part.partition(b"\r\n\r\n")
        named = _FIELD.search(head)
        if named is None or b"filename=" in head or len(value) > 4096:
            continue
        fields[named.group(1).decode("latin-1")] = value.removesuffix(b"\r\n").decode("utf-8", "replace")
    return fields
