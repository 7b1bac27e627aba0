"""Native provider APIs: ``/<provider>/<any path>`` relayed to that provider with the project's own key.

For SDKs that speak a provider's own API: ``google-genai`` with ``base_url=<gateway>/gemini``, the
Anthropic SDK with ``<gateway>/anthropic``, the OpenAI SDK with ``<gateway>/openai/v1``, Groq's with
``<gateway>/groq``; and ``google-genai`` pointed at the gateway itself (``/v1beta/...`` and
``/v1/models/{model}:{method}``). The project key comes in whatever header that SDK sends it
(``Authorization: Bearer``, ``x-api-key``, ``x-goog-api-key``, ``api-key``) or Gemini's ``?key=``; it is
swapped for one of the project's keys for the provider (its pool, as every attempt picks). Any method and
path goes to the provider's API root (its base URL without the API-version path the adapter's default
carries), body and answer untouched, streams relayed as they arrive; a JSON answer's usage (and so its
cost) is read on the way, a stream's from its events. Paths that need the provider's admin rights
(``admin_paths``) stay closed unless the operator allows them. Every request is recorded and its key use
audited like any other.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson
from starlette.types import Receive, Scope, Send

from byokgate.asgi import read_body
from byokgate.domain.upstream import UpstreamRequest
from byokgate.errors import NotFoundError, PermissionDeniedError
from byokgate.providers.base import ProviderAdapter
from byokgate.proxy.auth import authenticate_token
from byokgate.proxy.costs import Coster
from byokgate.proxy.exchange import Exchange
from byokgate.proxy.metering import Metering
from byokgate.proxy.passthrough import Upstream, merged_usage, relay_answer
from byokgate.routing.policy import Lane, Route

_NOT_FORWARDED = frozenset(
    {  # besides the key headers
        b"host",
        b"content-length",
        b"transfer-encoding",
        b"connection",
        b"keep-alive",
        b"te",
        b"upgrade",
        b"accept-encoding",  # identity: the answer is read on the way (its usage)
        b"cookie",
        b"proxy-authorization",
        b"traceparent",  # the gateway's own goes instead
        b"x-forwarded-for",
        b"x-real-ip",
    }
)
_MODEL_IN_PATH = re.compile(r"/models/([^/:?]+)")


class NativeDoor:
    api = "native"

    def __init__(
        self,
        upstream: Upstream,
        *,
        coster: Coster,
        metering: Metering,
        max_body_bytes: int,
        admin_paths: bool = False,
    ) -> None:
        self._upstream = upstream
        self._coster = coster
        self._metering = metering
        self._max_body_bytes = max_body_bytes
        self._admin_paths = admin_paths
        registry = upstream.registry
        self._roots = {
            name: api_root(upstream.base_urls[name], registry[name].default_base_url)
            for name in registry.byok_names
            if name in upstream.base_urls and registry[name].default_base_url
        }
        # Where SDKs put an API key (each provider's own header): the client's never goes upstream.
        self._key_headers = frozenset(
            {b"authorization", b"x-api-key", b"api-key", *(a.auth.header.encode() for a in registry.values())}
        )
        self._rooted = [
            (name, paths) for name in self._roots if (paths := registry[name].root_paths) is not None
        ]

    def target(self, path: str) -> tuple[str, str] | None:
        """(provider, its API path) for a native path, None for any other."""
        for name, paths in self._rooted:  # an SDK pointed at the gateway itself (paths no one else has)
            if paths.fullmatch(path):
                return name, path
        name, _, rest = path[1:].partition("/")
        if name in self._roots:
            return name, "/" + rest
        return None

    async def handle(
        self, scope: Scope, receive: Receive, send: Send, exchange: Exchange, provider: str, path: str
    ) -> None:
        exchange.endpoint = "native"
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        query = scope.get("query_string", b"").decode("latin-1")
        pairs = parse_qsl(query, keep_blank_values=True)
        token = _client_key(headers, pairs, self._key_headers)
        snapshot = self._upstream.snapshot.current
        exchange.key = key = authenticate_token(snapshot, token, datetime.now(UTC))
        adapter = self._upstream.registry[provider]
        method = scope["method"]
        if not self._admin_paths and path.startswith(adapter.admin_paths):
            raise PermissionDeniedError(
                f"{adapter.title}'s administration API is not forwarded by this gateway.", code="path_closed"
            )
        body = await read_body(receive, self._max_body_bytes)
        model = _model_of(path, body)
        exchange.model = model
        exchange.route = Route(Lane.BYOK, provider, model or "", model or "")
        exchange.routing_reason = "native"
        await self._metering.admit(snapshot, exchange, len(body))
        opened = self._upstream.credentials.open(snapshot, key.project_id, provider, model=model)
        if opened is None:
            raise NotFoundError(
                f"This project has no {adapter.title} key: add one in project settings to use its API.",
                code="provider_key_missing",
            )
        exchange.credential_id = opened.credential_id
        forwarded = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in headers
            if name not in _NOT_FORWARDED
            and name not in self._key_headers
            and not name.startswith(b"x-byokgate-")
        }
        forwarded.update(adapter.auth.headers(opened.secret))
        kept = urlencode([(name, value) for name, value in pairs if name != "key"])
        url = f"{self._roots[provider]}{path}" + (f"?{kept}" if kept else "")
        request = UpstreamRequest(
            method, url, forwarded, body if body or method in ("POST", "PUT", "PATCH") else None
        )
        await relay_answer(
            self._upstream,
            send,
            exchange,
            adapter,
            request,
            lambda answer: self._note(exchange, adapter, answer),
        )

    def _note(self, exchange: Exchange, adapter: ProviderAdapter, answer: Any) -> None:
        """What an answer (or one stream event) says of the usage; the cost once it is known."""
        usage = adapter.api_usage(answer)
        if usage:
            exchange.usage = merged_usage(exchange.usage, usage)
            if exchange.route is not None and exchange.route.upstream_model:
                exchange.cost_micro = self._coster.cost(exchange.route, exchange.usage)


def api_root(base_url: str, default_base_url: str) -> str:
    """Where a provider's own API paths start: its base URL without the version path its default carries
    (``https://api.openai.com/v1`` -> ``https://api.openai.com``; a proxy's prefix is kept)."""
    suffix = urlsplit(default_base_url).path.rstrip("/")
    base = base_url.rstrip("/")
    return base[: -len(suffix)] if suffix and base.endswith(suffix) else base


def _client_key(
    headers: list[tuple[bytes, bytes]], query: list[tuple[str, str]], key_headers: frozenset[bytes]
) -> str | None:
    for name, value in headers:
        if name in key_headers:
            text = value.decode("latin-1").strip()
            if name == b"authorization":
                scheme, _, text = text.partition(" ")
                if scheme.lower() != "bearer":
                    continue
                text = text.strip()
            if text:
                return text
    return next((value for name, value in query if name == "key" and value), None)


def _model_of(path: str, body: bytes) -> str | None:
    found = _MODEL_IN_PATH.search(path)
    if found is not None:
        return found.group(1)
    parsed = _json(body) if body[:1] == b"{" else None
    model = parsed.get("model") if isinstance(parsed, dict) else None
    return model if isinstance(model, str) and len(model) <= 256 else None


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
