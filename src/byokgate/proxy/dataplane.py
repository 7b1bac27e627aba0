"""The data-plane ASGI app: /v1/chat/completions, /v1/embeddings, /v1/models.

Per request: authenticate against the snapshot, route (pure policy), open the provider key (memory), call
upstream through the transport, answer, and hand a record to the batch writer. No database round trip.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from byokgate.asgi import (
    JSON_CONTENT,
    ClientGoneError,
    parse_json_object,
    read_body,
    send_bytes,
    send_error,
)
from byokgate.cache.keys import CacheKeys
from byokgate.cache.message_replay import MessageAssembler, replay_message_stream, storable_message
from byokgate.cache.replay import StreamAssembler, replay_stream, storable
from byokgate.cache.store import CacheStore
from byokgate.domain.ids import new_request_id
from byokgate.domain.secret import Secret
from byokgate.errors import (
    ApiError,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from byokgate.providers.anthropic_chat import openai_usage as anthropic_to_openai_usage
from byokgate.providers.anthropic_ingress import ToAnthropicStream, error_body, to_chat_payload, to_message
from byokgate.providers.base import NativeMessages, ProviderAdapter, error_type_for
from byokgate.providers.registry import ProviderRegistry
from byokgate.providers.translation import ChatStream, TranslationError
from byokgate.proxy.auth import authenticate
from byokgate.proxy.cached import CacheGate, Replay
from byokgate.proxy.costs import Coster
from byokgate.proxy.errors import UpstreamApiError
from byokgate.proxy.exchange import (
    Exchange,
    Responded,
    check_model_name,
    parsed_body,
    passed_headers,
    upstream_failures,
    upstream_request_id,
    usage_of,
    validate,
)
from byokgate.proxy.generations import FindRequest, generation, not_found
from byokgate.proxy.metering import Metering
from byokgate.proxy.models import models_list
from byokgate.proxy.records import record
from byokgate.proxy.semantic import CacheTicket, SemanticCache
from byokgate.proxy.streaming import relay_stream
from byokgate.routing.policy import Lane, Route, RoutingError, RoutingPolicy
from byokgate.snapshot.credentials import CredentialOpener
from byokgate.snapshot.holder import SnapshotHolder
from byokgate.snapshot.model import Snapshot
from byokgate.telemetry.writer import BatchWriter
from byokgate.transport import Transport, UpstreamStream

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"req_[0-9a-f]{32}")
_ANTHROPIC_HEADERS = (b"anthropic-version", b"anthropic-beta")


def _replay_message(entry: bytes) -> list[bytes]:
    message: dict[str, Any] = orjson.loads(entry)
    return replay_message_stream(message)


def _replay_chat(entry: bytes, *, include_usage: bool) -> list[bytes]:
    completion: dict[str, Any] = orjson.loads(entry)
    return replay_stream(completion, include_usage=include_usage)


def _usage_event(usage: dict[str, Any]) -> bytes:
    """OpenAI's usage chunk (as much of it as the entry needs)."""
    return b"data: " + orjson.dumps({"choices": [], "usage": usage}) + b"\n\n"


def _chat_usage(entry: dict[str, Any]) -> dict[str, Any]:
    return usage_of(entry)


def _message_usage(entry: dict[str, Any]) -> dict[str, Any]:
    usage = entry.get("usage")
    return anthropic_to_openai_usage(usage) if isinstance(usage, dict) else {}


# A recorded stream with tool calls is assembled before it is stored (arguments must parse to be stored).
_MESSAGE_REPLAY = Replay(_replay_message, "message", _message_usage, MessageAssembler, b'"input_json_delta"')
_CHAT_REPLAY = Replay(
    functools.partial(_replay_chat, include_usage=False),
    "chat",
    _chat_usage,
    StreamAssembler,
    b'"tool_calls"',
)
_CHAT_USAGE_REPLAY = _CHAT_REPLAY._replace(
    render=functools.partial(_replay_chat, include_usage=True), variant="chat+usage"
)


@dataclass(frozen=True, slots=True)
class DataPlaneConfig:
    base_urls: dict[str, str]
    pooled_key: Secret | None
    cache_secret: bytes  # what cache keys are derived from (``cache.keys.cache_secret``)
    max_body_bytes: int = 32 * 1024 * 1024
    flight_wait_s: float = 60.0  # how long an identical miss waits for the first one before going itself


class DataPlane:
    def __init__(
        self,
        *,
        snapshot: SnapshotHolder,
        credentials: CredentialOpener,
        registry: ProviderRegistry,
        policy: RoutingPolicy,
        transport: Transport,
        writer: BatchWriter,
        config: DataPlaneConfig,
        coster: Coster,
        metering: Metering,
        find_request: FindRequest | None = None,
        cache: CacheStore | None = None,
        semantic: SemanticCache | None = None,
    ) -> None:
        self._snapshot = snapshot
        self._credentials = credentials
        self._registry = registry
        self._policy = policy
        self._transport = transport
        self._writer = writer
        self._config = config
        self._coster = coster
        self._find_request = find_request
        self._metering = metering
        self._gate = None
        if cache is not None:
            keys = CacheKeys(config.cache_secret)
            self._gate = CacheGate(cache, semantic, coster, config.flight_wait_s, keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        exchange = Exchange(new_request_id(), time.perf_counter(), path.removeprefix("/v1/"))
        responded = Responded(send)
        try:
            if path == "/v1/chat/completions" and method == "POST":
                await self._proxy(scope, receive, responded, exchange, "chat")
            elif path == "/v1/embeddings" and method == "POST":
                await self._proxy(scope, receive, responded, exchange, "embeddings")
            elif path in ("/v1/messages", "/v1/messages/count_tokens") and method == "POST":
                exchange.anthropic_format = True
                await self._messages(scope, receive, responded, exchange, path)
            elif path == "/v1/models" and method == "GET":
                await self._models(scope, responded, exchange)
            elif path.startswith("/v1/generations/") and method == "GET":
                exchange.endpoint = "generations"
                await self._generation(scope, responded, exchange, path.removeprefix("/v1/generations/"))
            else:
                raise NotFoundError(f"Invalid URL ({method} {path})", code="unknown_url")
        except ClientGoneError:
            exchange.status, exchange.error_code = 499, "client_closed_request"
        except ApiError as error:
            exchange.status = error.status
            exchange.error_code = error.code or error.type
            if not responded.started:
                await self._send_error(responded, error, exchange)
        except Exception:
            log.exception("data plane internal error (request %s)", exchange.request_id)
            exchange.status, exchange.error_code = 500, "internal_error"
            if not responded.started:
                internal = ApiError(
                    "The gateway hit an internal error; the request id is in x-byokgate-request-id."
                )
                await self._send_error(responded, internal, exchange)
        finally:
            record(self._writer, exchange)

    async def _send_error(self, send: Send, error: ApiError, exchange: Exchange) -> None:
        if not exchange.anthropic_format:
            await send_error(send, error, exchange.gateway_headers())
            return
        body = orjson.dumps(error_body(error.status, error.message, exchange.request_id))
        extra = [(k.encode(), v.encode()) for k, v in error.headers.items()]
        await send_bytes(send, error.status, body, [JSON_CONTENT, *exchange.gateway_headers(), *extra])

    # --- /v1/models -----------------------------------------------------------------------------------

    async def _models(self, scope: Scope, send: Send, exchange: Exchange) -> None:
        snapshot = self._snapshot.current
        exchange.key = authenticate(snapshot, scope["headers"], datetime.now(UTC))
        body = models_list(
            self._registry, snapshot.providers_of(exchange.key.project_id), self._policy.pooled_provider
        )
        exchange.status = 200
        await send_bytes(send, 200, orjson.dumps(body), [JSON_CONTENT, *exchange.gateway_headers()])

    async def _generation(self, scope: Scope, send: Send, exchange: Exchange, request_id: str) -> None:
        exchange.key = authenticate(self._snapshot.current, scope["headers"], datetime.now(UTC))
        if self._find_request is None or not _REQUEST_ID.fullmatch(request_id):
            raise not_found()
        body = await generation(request_id, exchange.key.project_id, self._writer, self._find_request)
        exchange.status = 200
        await send_bytes(send, 200, orjson.dumps(body), [JSON_CONTENT, *exchange.gateway_headers()])

    # --- chat and embeddings --------------------------------------------------------------------------

    async def _proxy(
        self, scope: Scope, receive: Receive, send: Responded, exchange: Exchange, kind: str
    ) -> None:
        snapshot = self._snapshot.current
        exchange.key = key = authenticate(snapshot, scope["headers"], datetime.now(UTC))
        raw = await read_body(receive, self._config.max_body_bytes)
        payload = parse_json_object(raw)
        model = payload.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequestError(
                "you must provide a model parameter", param="model", code="missing_model"
            )
        check_model_name(model)
        validate(kind, payload)
        stream = payload.get("stream", False)
        if not isinstance(stream, bool) or (stream and kind != "chat"):
            raise InvalidRequestError("'stream' must be a boolean", param="stream", code="invalid_type")
        exchange.stream = stream
        _, adapter = self._route(snapshot, exchange, model)
        if kind == "chat" and not adapter.serves_chat:
            raise InvalidRequestError(
                f"{adapter.title} models are not served on this endpoint by this gateway version yet.",
                param="model",
                code="provider_not_supported",
            )
        await self._metering.admit(snapshot, exchange, len(raw))
        ticket, gate = None, self._gate
        if kind == "chat" and gate is not None:
            ticket = gate.ticket(scope["headers"], snapshot.cache_of(key.project_id), exchange, payload)
        if ticket is None or gate is None:
            call = functools.partial(
                self._call_provider, receive, send, exchange, adapter, payload, kind, None
            )
            await self._metered(exchange, payload, kind, call)
            return
        options = payload.get("stream_options")
        replay = (
            _CHAT_USAGE_REPLAY
            if isinstance(options, dict) and options.get("include_usage") is True
            else _CHAT_REPLAY
        )
        try:
            looked = gate.lookup(send, exchange, ticket, replay)
            if looked is not None and await looked:
                return
            if ticket.query is not None and await gate.similar(send, exchange, snapshot, ticket, replay):
                return
            call = functools.partial(
                self._call_provider, receive, send, exchange, adapter, payload, kind, ticket
            )
            await self._metered(exchange, payload, kind, call)
        finally:
            if ticket.leading:
                gate.land(ticket)

    # --- limits -------------------------------------------------------------------------------------------

    async def _metered(
        self, exchange: Exchange, payload: dict[str, Any], kind: str, call: Callable[[], Awaitable[None]]
    ) -> None:
        """Run ``call`` (the upstream exchange) with the request's worst case held against its limits and
        credits, settled to what it used afterwards. ``kind`` "" (token counting) holds nothing."""
        held = await self._metering.hold(exchange, payload, kind) if kind else None
        try:
            await call()
        finally:
            await self._metering.settle(held, exchange)

    def _route(self, snapshot: Snapshot, exchange: Exchange, model: str) -> tuple[Route, ProviderAdapter]:
        assert exchange.key is not None
        project_id = exchange.key.project_id
        billing = snapshot.billing_of(project_id)
        routed = self._policy.resolve(model, snapshot.providers_of(project_id), billing.policy)
        if isinstance(routed, RoutingError):
            if routed.code == "pooled_lane_not_allowed":
                raise PermissionDeniedError(routed.message, param="model", code=routed.code)
            raise NotFoundError(routed.message, param="model", code=routed.code)
        if routed.lane is Lane.POOLED:
            self._metering.check_plan(model, routed, billing.plan)
        exchange.route = routed
        return routed, self._registry[routed.provider]

    async def _call_provider(
        self,
        receive: Receive,
        send: Responded,
        exchange: Exchange,
        adapter: ProviderAdapter,
        payload: dict[str, Any],
        kind: str,
        ticket: CacheTicket | None,
    ) -> None:
        assert exchange.key is not None
        assert exchange.route is not None
        routed, stream = exchange.route, exchange.stream
        api_key = self._api_key(routed, exchange.key.project_id, exchange)
        payload["model"] = routed.upstream_model
        base_url = self._config.base_urls[routed.provider]
        options = payload.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        if stream and adapter.speaks_openai and not include_usage:
            # The cost needs the usage: ask for it always (the relay drops it for a client that did not).
            asked = options if isinstance(options, dict) else {}
            payload["stream_options"] = {**asked, "include_usage": True}
        try:
            if kind == "chat":
                upstream = adapter.chat_request(base_url, api_key, payload)
            else:
                upstream = adapter.embeddings_request(base_url, api_key, payload)
        except TranslationError as exc:
            raise InvalidRequestError(exc.message, param=exc.param, code=exc.code) from None
        exchange.upstream_started = time.perf_counter()
        with upstream_failures(adapter.title, exchange):
            async with self._transport.open(upstream) as response:  # the client's default timeouts
                exchange.upstream_request_id = upstream_request_id(response)
                if response.status >= 400:
                    body = await response.read()
                    exchange.upstream_done()
                    raise self._upstream_error(adapter, response, body, exchange)
                if stream:
                    translator = adapter.chat_stream(routed.upstream_model, include_usage=include_usage)
                    recording = CacheGate.recording(ticket, _CHAT_REPLAY)
                    await relay_stream(
                        self._coster, receive, send, exchange, response, translator, include_usage, recording
                    )
                    tally = translator.tally
                    if recording is not None and ticket is not None and exchange.status == 200 and tally.done:
                        # The entry needs the usage chunk the gateway asked for and withheld from the client.
                        tail = b""
                        if not include_usage and tally.usage is not None:
                            tail = tally.withheld or _usage_event(tally.usage)
                        assert self._gate is not None  # a ticket comes from the gate
                        pending = self._gate.store_recorded(ticket, recording, tail)
                        if pending is not None:
                            await pending
                else:
                    read = await response.read()
                    exchange.upstream_done()
                    if kind == "chat":
                        body = adapter.chat_response(read)
                    else:
                        body = adapter.embeddings_response(read, payload)
                    parsed = parsed_body(body)
                    exchange.usage = usage_of(parsed)
                    exchange.cost_micro = self._coster.cost(routed, exchange.usage)
                    exchange.status = response.status
                    headers = [JSON_CONTENT, *passed_headers(response), *exchange.gateway_headers()]
                    await send_bytes(send, response.status, body, headers)
                    if ticket is not None and response.status == 200 and storable(parsed):
                        gate = self._gate
                        assert gate is not None  # a ticket comes from the gate
                        pending = gate.store(ticket, body, exact=body is read)  # relayed as read
                        if pending is not None:
                            await pending

    # --- the Anthropic-format front door -------------------------------------------------------------

    async def _messages(
        self, scope: Scope, receive: Receive, send: Responded, exchange: Exchange, path: str
    ) -> None:
        """Claude models pass through natively; any other model is translated to and from OpenAI format."""
        snapshot = self._snapshot.current
        exchange.key = key = authenticate(snapshot, scope["headers"], datetime.now(UTC), x_api_key=True)
        raw = await read_body(receive, self._config.max_body_bytes)
        body = parse_json_object(raw)
        counting = path.endswith("/count_tokens")
        if not any(name == b"anthropic-version" for name, _ in scope["headers"]):
            raise InvalidRequestError("anthropic-version: header is required", param="anthropic-version")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequestError("model: Field required", param="model")
        check_model_name(model)
        max_tokens = body.get("max_tokens")
        if not counting and (
            not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 0
        ):
            raise InvalidRequestError(
                "max_tokens: Field required (a non-negative integer)", param="max_tokens"
            )
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            raise InvalidRequestError("messages: at least one message is required", param="messages")
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise InvalidRequestError("stream: Input should be a valid boolean", param="stream")
        exchange.stream = stream and not counting
        _, adapter = self._route(snapshot, exchange, model)
        native = adapter if isinstance(adapter, NativeMessages) else None
        if native is None and (counting or not adapter.serves_chat):
            what = "token counting" if counting else "this endpoint"
            raise InvalidRequestError(f"{adapter.title} models are not served for {what}.", param="model")
        await self._metering.admit(snapshot, exchange, len(raw))
        ticket, gate = None, self._gate
        if not counting and gate is not None:
            # The API version and beta flags change an answer without being in the body: part of the key.
            versions = [value for name, value in scope["headers"] if name in _ANTHROPIC_HEADERS]
            scope_tag = "messages\0" + b"\0".join(versions).decode("latin-1")
            settings = snapshot.cache_of(key.project_id)
            ticket = gate.ticket(scope["headers"], settings, exchange, body, scope=scope_tag)
        if ticket is None or gate is None:
            call = functools.partial(
                self._messages_provider, scope, receive, send, exchange, body, path, None
            )
            await self._metered(exchange, body, "chat" if not counting else "", call)
            return
        try:
            looked = gate.lookup(send, exchange, ticket, _MESSAGE_REPLAY)
            if looked is not None and await looked:
                return
            if ticket.query is not None and await gate.similar(
                send, exchange, snapshot, ticket, _MESSAGE_REPLAY
            ):
                return
            call = functools.partial(
                self._messages_provider, scope, receive, send, exchange, body, path, ticket
            )
            await self._metered(exchange, body, "chat", call)
        finally:
            if ticket.leading:
                gate.land(ticket)

    async def _messages_provider(
        self,
        scope: Scope,
        receive: Receive,
        send: Responded,
        exchange: Exchange,
        body: dict[str, Any],
        path: str,
        ticket: CacheTicket | None,
    ) -> None:
        assert exchange.key is not None
        assert exchange.route is not None
        routed, model = exchange.route, exchange.route.requested_model
        adapter = self._registry[routed.provider]
        native = adapter if isinstance(adapter, NativeMessages) else None
        counting = path.endswith("/count_tokens")
        api_key = self._api_key(routed, exchange.key.project_id, exchange)
        body["model"] = routed.upstream_model
        base_url = self._config.base_urls[routed.provider]
        if native is not None:
            client_headers = {
                name.decode("latin-1"): value.decode("latin-1")
                for name, value in scope["headers"]
                if name in _ANTHROPIC_HEADERS
            }
            upstream = native.messages_request(base_url, api_key, body, client_headers, path)
        else:
            try:
                chat = to_chat_payload(body)
                upstream = adapter.chat_request(base_url, api_key, chat)
            except TranslationError as exc:
                raise InvalidRequestError(exc.message, param=exc.param, code=exc.code) from None
        exchange.upstream_started = time.perf_counter()
        with upstream_failures(adapter.title, exchange):
            async with self._transport.open(upstream) as response:
                exchange.upstream_request_id = upstream_request_id(response)
                if response.status >= 400:
                    answer = await response.read()
                    exchange.upstream_done()
                    raise self._upstream_error(adapter, response, answer, exchange)
                if exchange.stream:
                    relay: ChatStream = (
                        native.messages_stream()
                        if native is not None
                        else ToAnthropicStream(
                            adapter.chat_stream(routed.upstream_model, include_usage=True), model
                        )
                    )
                    recording = CacheGate.recording(ticket, _MESSAGE_REPLAY)
                    await relay_stream(
                        self._coster, receive, send, exchange, response, relay, record=recording
                    )
                    if (
                        recording is not None
                        and ticket is not None
                        and exchange.status == 200
                        and relay.tally.done
                    ):
                        assert self._gate is not None  # a ticket comes from the gate
                        pending = self._gate.store_recorded(ticket, recording)
                        if pending is not None:
                            await pending
                    return
                answer = await response.read()
                exchange.upstream_done()
                if native is None:
                    completion = orjson.loads(adapter.chat_response(answer))
                    exchange.usage = completion.get("usage") or {}
                    answer = orjson.dumps(to_message(completion, model))
                elif not counting:
                    exchange.usage = anthropic_to_openai_usage(orjson.loads(answer).get("usage") or {})
                exchange.cost_micro = self._coster.cost(routed, exchange.usage)
                exchange.status = response.status
                headers = [JSON_CONTENT, *passed_headers(response), *exchange.gateway_headers()]
                await send_bytes(send, response.status, answer, headers)
                if ticket is not None and response.status == 200 and storable_message(answer):
                    assert self._gate is not None  # a ticket comes from the gate
                    pending = self._gate.store(ticket, answer, exact=native is not None)  # as read
                    if pending is not None:
                        await pending

    def _api_key(self, route: Route, project_id: str, exchange: Exchange) -> Secret:
        if route.lane is Lane.POOLED:
            if self._config.pooled_key is None:
                raise NotFoundError(
                    "The pooled lane is not configured on this gateway.", code="model_not_found"
                )
            return self._config.pooled_key
        opened = self._credentials.open(self._snapshot.current, project_id, route.provider)
        if opened is None:  # the key was deleted between routing and now
            raise NotFoundError(f"This project has no {route.provider} key any more.", code="model_not_found")
        exchange.credential_id = opened.credential_id
        return opened.secret

    def _upstream_error(
        self, adapter: ProviderAdapter, response: UpstreamStream, body: bytes, exchange: Exchange
    ) -> ApiError:
        parsed = adapter.parse_error(response.status, body)
        passed = {k.decode(): v.decode() for k, v in passed_headers(response)}
        if parsed.retry_after_s is not None and "retry-after" not in passed:
            passed["retry-after"] = str(parsed.retry_after_s)
        if parsed.status == 401 and exchange.route is not None and exchange.route.lane is Lane.BYOK:
            return AuthenticationError(
                f"Authentication failed with {adapter.title}: check the key in project settings.",
                code="provider_authentication_failed",
                headers=passed,
            )
        return UpstreamApiError(
            parsed.status,
            parsed.message,
            kind=parsed.type or error_type_for(parsed.status),
            code=parsed.code,
            param=parsed.param,
            headers=passed,
        )
