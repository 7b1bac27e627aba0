"""Google Gemini, Developer API (`https://generativelanguage.googleapis.com`): a faithful emulator.

Serve it at a root URL; clients use that root as their base URL, e.g.
`genai.Client(api_key=key, http_options=types.HttpOptions(base_url=server.base_url))`.

- Paths: `/{v1,v1beta,v1alpha}/models[/{model}]`, `POST .../models/{model}:generateContent`,
  `:streamGenerateContent` (`?alt=sse`: `data:` events, no terminator; without it a JSON array streamed
  element by element, as observed), `:countTokens`, `:embedContent`, `:batchEmbedContents`. `google-genai`
  3.x calls `/v1/` by default (the reference's "v1beta default" is outdated); every version behaves alike.
- Auth: `x-goog-api-key` or `?key=`. A wrong key is 400 INVALID_ARGUMENT / `API_KEY_INVALID` (not 401); no
  key is 403 PERMISSION_DENIED "Method doesn't allow unregistered callers" (as captured in public bug
  reports); a bearer token without key is 401 UNAUTHENTICATED / `ACCESS_TOKEN_TYPE_UNSUPPORTED`
  (Gemini reads bearer tokens as OAuth tokens).
- Order of checks: route, key, JSON, faults, then parse errors (unknown names, wrong types:
  `gemini_schema`), then an unknown model (404 NOT_FOUND), then the request rules (`gemini_validation`,
  including the Gemini 3 thought-signature check). The answer is decided by `gemini_content` and rendered
  by `gemini_render`; error bodies, headers and faults are `gemini_profile`'s.
- Unknown paths outside `/v1*` get the Google front end's HTML 404, unknown methods under it a JSON 404
  "Method not found." (unverified).
- Faults as `faults.Fault` says; `context_length` is the real 400 INVALID_ARGUMENT "The input token count
  (M) exceeds the maximum number of tokens allowed (N)." for the model's `inputTokenLimit`,
  `content_filter` a 200 blocked by `promptFeedback` (`gemini_render.blocked`), `slow_first_token` waits
  before the first chunk (Gemini streams have no opening event), `no_done` is a no-op (no terminator).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson

from byokgate.emulators import asgi, content, gemini_content, gemini_render, gemini_schema
from byokgate.emulators.gemini_models import MODELS, GeminiModel, model_object, models_page
from byokgate.emulators.gemini_profile import HTML_TYPE, MALFORMED, GeminiProfile, google_error, html_page
from byokgate.emulators.gemini_validation import Checker, check_batch, check_count, check_generate, embed_text
from byokgate.emulators.openai_compat import Emulator, _Request
from byokgate.emulators.profile import ApiError, Headers

VERSIONS = ("v1", "v1beta", "v1alpha")
# RPC -> (fault endpoint, the model capability it needs)
RPCS = {
    "generateContent": ("chat", "generateContent"),
    "streamGenerateContent": ("chat", "generateContent"),
    "countTokens": ("count_tokens", "countTokens"),
    "embedContent": ("embeddings", "embedContent"),
    "batchEmbedContents": ("embeddings", "embedContent"),
}
JSON_STREAM_TYPE = b"application/json; charset=UTF-8"


@dataclass(frozen=True, slots=True)
class Route:
    version: str
    model: str | None  # the bare model id from the path
    rpc: str | None  # generateContent, ...; None for the models resources


def parse_route(path: str) -> Route | None:
    """`/v1beta/models/gemini-2.5-flash:generateContent` -> Route; None when it names nothing."""
    version, _, rest = path.lstrip("/").partition("/")
    if version not in VERSIONS or not rest.startswith("models"):
        return None
    if rest == "models":
        return Route(version, None, None)
    if not rest.startswith("models/") or "/" in rest[len("models/") :]:
        return None
    resource = rest[len("models/") :]
    model, colon, rpc = resource.partition(":")
    if not model or (colon and not rpc):
        return None
    return Route(version, model, rpc or None)


class GeminiEmulator(Emulator):
    """The Gemini API on the shared engine: same control API, faults and request log, its own wire format.

    Options as `Emulator` (`record`, `capacity`, `stream_chunk_delay_ms`); `strict_unknown_fields` has no
    effect: Gemini always rejects unknown fields, like the real API.
    """

    profile: GeminiProfile

    def __init__(self, keys: Iterable[str] = (), *, accept_any_key: bool = False, **options: Any) -> None:
        super().__init__(GeminiProfile(), keys=keys, accept_any_key=accept_any_key, **options)

    async def _send_error(self, request: _Request, error: ApiError, send: asgi.Send) -> None:
        page = (error.metadata or {}).get("html")
        if error.status != 502 and page is None:
            await super()._send_error(request, error, send)
            return
        request.record.status = error.status
        body = page if isinstance(page, bytes) else html_page(error.status, request.record.path)
        headers = [(b"content-type", HTML_TYPE), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _gemini_key(self, request: _Request, route: Route) -> None:
        headers = request.record.headers
        query = parse_qs(request.record.query)
        key = headers.get("x-goog-api-key") or (query.get("key") or [""])[0]
        if not key:
            if headers.get("authorization", "")[:7].lower() == "bearer ":
                raise self.profile.oauth_error(route.version, route.rpc)
            raise self.profile.auth_error(None)
        if not self.accept_any_key and key not in self.keys:
            raise self.profile.auth_error(key)

    def _gemini_model(self, route: Route) -> GeminiModel:
        model = MODELS.get(route.model or "")
        needed = RPCS[route.rpc or ""][1]
        if model is None or needed not in model.methods:
            raise self.profile.model_not_found(route.model or "", route.version, route.rpc or "")
        return model

    async def _answer(self, request: _Request, method: str, path: str, raw: bytes, send: asgi.Send) -> None:
        route = parse_route(path)
        if route is None:
            if path.lstrip("/").split("/", 1)[0] in VERSIONS:
                raise google_error(404, "Method not found.")
            raise ApiError(404, "Not Found", metadata={"html": html_page(404, path)})
        expected = "POST" if route.rpc else "GET"
        if method != expected or (route.rpc is not None and route.rpc not in RPCS):
            raise google_error(404, "Method not found.")
        request.endpoint = RPCS[route.rpc][0] if route.rpc else "models"
        self._gemini_key(request, route)
        malformed = False
        if method == "POST":
            try:
                request.body = orjson.loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError:
                malformed = True
            request.record.body = request.body
        if malformed:
            raise google_error(400, MALFORMED)
        await self._apply_faults(request, route.model)
        if route.rpc in ("generateContent", "streamGenerateContent"):
            await self._generate(request, route, send)
        elif route.rpc == "countTokens":
            await self._count_tokens(request, route, send)
        elif route.rpc is not None:
            await self._embed(request, route, send)
        else:
            await self._models(request, route, send)

    async def _reply(self, request: _Request, body: Any, send: asgi.Send, tokens: int = 0) -> None:
        request.record.status = 200
        headers = self._success_headers(request, None, tokens)
        await asgi.send_json(send, 200, body, headers, faults=self._answer_faults(request))

    async def _generate(self, request: _Request, route: Route, send: asgi.Send) -> None:
        parsed = gemini_schema.parse("GenerateContentRequest", request.body, route.version)
        model = self._gemini_model(route)
        if parsed.get("cachedContent"):
            raise google_error(403, "CachedContent not found (or permission denied)")
        check_generate(parsed, model)
        if request.fault("context_length"):  # the prompt taken as `limit + its tokens` long
            size = model.input_limit + gemini_content.prompt_tokens(parsed)[0]
            message = (
                f"The input token count ({size}) exceeds the maximum number of tokens allowed "
                f"({model.input_limit})."
            )
            raise google_error(400, message)
        answer = gemini_content.answer(parsed, model)
        tokens = answer.prompt_tokens + answer.candidate_tokens * answer.candidates + answer.thought_tokens
        chunks = gemini_render.stream_chunks(answer, model, request.request_id)
        if request.fault("content_filter"):
            body = gemini_render.blocked(answer.prompt_tokens)
            tokens, chunks = answer.prompt_tokens, iter([body])
        else:
            body = gemini_render.response(answer, model, request.request_id)
        if route.rpc == "generateContent":
            await self._reply(request, body, send, tokens)
            return
        request.record.status = 200
        sse = "sse" in parse_qs(request.record.query).get("alt", [])
        await self._stream(request, chunks, self._success_headers(request, None, tokens), send, sse=sse)

    async def _stream(
        self,
        request: _Request,
        chunks: Iterator[dict[str, Any]],
        headers: Headers,
        send: asgi.Send,
        *,
        sse: bool,
    ) -> None:
        """SSE (`data: {...}` events, no terminator) or a JSON array sent element by element."""
        faults = self._answer_faults(request)
        kind = asgi.SSE_TYPE if sse else JSON_STREAM_TYPE
        raw = [(b"content-type", kind), (b"cache-control", b"no-cache"), *asgi.encode_headers(headers)]
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        breaker = asgi.StreamBreaker(send, faults)
        count = 0
        for index, chunk in enumerate(chunks):
            if not await breaker.proceed(index):
                return
            separator = b"[" if index == 0 else b"\n,\r\n"
            encoded = asgi.sse_event(chunk) if sse else separator + orjson.dumps(chunk)
            if faults.malformed_at is not None and index == faults.malformed_at:
                broken = encoded[: max(8, len(encoded) // 2)].rstrip(b"\n") + (b"\n\n" if sse else b"")
                await send({"type": "http.response.body", "body": broken, "more_body": True})
            if self.stream_chunk_delay_s:
                await asyncio.sleep(self.stream_chunk_delay_s)
            await send({"type": "http.response.body", "body": encoded, "more_body": True})
            count += 1
        tail = b"" if sse else (b"]" if count else b"[]")
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    async def _count_tokens(self, request: _Request, route: Route, send: asgi.Send) -> None:
        parsed = gemini_schema.parse("CountTokensRequest", request.body, route.version)
        model = self._gemini_model(route)
        contents = check_count(parsed, model)
        request_like = parsed.get("generateContentRequest") or {"contents": contents}
        total, media = gemini_content.prompt_tokens(request_like)
        details = [{"modality": "TEXT", "tokenCount": total - media}] if total - media else []
        if media:
            details.append({"modality": "IMAGE", "tokenCount": media})
        await self._reply(request, {"totalTokens": total, "promptTokensDetails": details}, send)

    async def _embed(self, request: _Request, route: Route, send: asgi.Send) -> None:
        batch = route.rpc == "batchEmbedContents"
        message = "BatchEmbedContentsRequest" if batch else "EmbedContentRequest"
        parsed = gemini_schema.parse(message, request.body, route.version)
        model = self._gemini_model(route)
        url_model = route.model or ""
        if batch:
            items = list(parsed.get("requests") or [])
            check_batch(items, model, url_model)
            inputs = [
                embed_text(Checker(message), item, model, f"requests[{index}].", url_model)
                for index, item in enumerate(items)
            ]
        else:
            inputs = [embed_text(Checker(message), parsed, model, "", url_model)]
        # Matryoshka truncation: the first `size` values of the full vector, not normalised again.
        vectors = [{"values": content.embed(text, model.dimensions)[:size]} for text, size in inputs]
        tokens = sum(content.count_tokens(text) for text, _ in inputs)
        body = {"embeddings": vectors} if batch else {"embedding": vectors[0]}
        await self._reply(request, body, send, tokens)

    async def _models(self, request: _Request, route: Route, send: asgi.Send) -> None:
        if route.model is None:
            query = {name: values[0] for name, values in parse_qs(request.record.query).items()}
            await self._reply(request, models_page(query), send)
            return
        model = MODELS.get(route.model)
        if model is None:
            message = f"Model is not found: models/{route.model} for api version {route.version}"
            raise google_error(404, message)
        await self._reply(request, model_object(model), send)


def gemini_emulator(keys: Iterable[str] = (), *, accept_any_key: bool = False, **options: Any) -> Emulator:
    """A Gemini (Developer API) emulator; its base URL is the server's root URL."""
    return GeminiEmulator(keys, accept_any_key=accept_any_key, **options)
