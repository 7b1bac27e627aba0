"""One attempt at one provider: the only place a request goes upstream.

``Executor.run`` takes a parsed ``Call`` and the route chosen for it, and: holds the request's worst case
against its limits and credits, opens the project's key (or takes the platform's on the pooled lane), builds
the upstream request through the adapter (the door's own format when the adapter serves it natively, the
canonical one otherwise), sends it through the transport, turns an upstream failure into the gateway's
error, reads the answer or relays the stream (rendered by the door), prices it, stores it in the cache,
and settles what it held. Every front door runs its requests through here; a plan of several attempts
(retries, fallbacks) is a loop around ``run``.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

import orjson
from opentelemetry.trace import Span
from starlette.types import Receive

from byokgate.asgi import JSON_CONTENT, Headers, send_bytes
from byokgate.domain.chunks import usage_event
from byokgate.domain.secret import Secret
from byokgate.domain.stream import TranslationError, UpstreamFormatError
from byokgate.domain.upstream import UpstreamRequest
from byokgate.errors import ApiError, AuthenticationError, InvalidRequestError
from byokgate.health.breakers import Breakers
from byokgate.providers.base import Endpoint, NativeApi, ProviderAdapter, error_type_for
from byokgate.providers.registry import ProviderRegistry
from byokgate.providers.setup import PooledLane
from byokgate.proxy.cached import CacheGate
from byokgate.proxy.call import Call, Operation
from byokgate.proxy.continuation import Broken, Transcript
from byokgate.proxy.costs import Coster
from byokgate.proxy.errors import (
    BadGatewayError,
    FirstTokenTimeoutError,
    GatewayTimeoutError,
    UpstreamApiError,
)
from byokgate.proxy.exchange import Exchange, Responded, finish_reason, parsed_body, usage_of
from byokgate.proxy.keys import ProjectKeys
from byokgate.proxy.metering import Metering
from byokgate.proxy.relay import Pricing, relay
from byokgate.proxy.traces import attempt_ended, attempt_started, with_traceparent
from byokgate.routing.policy import Lane, Route
from byokgate.snapshot.credentials import CredentialOpener
from byokgate.snapshot.holder import SnapshotHolder
from byokgate.telemetry.tracing import Tracing
from byokgate.transport import (
    Transport,
    UpstreamCutoffError,
    UpstreamStream,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)  # not frozen: one is made per attempt, and a frozen one costs ~1 µs more
class AttemptBounds:
    """How long one attempt may take (loop times), and whether its stream is held from the client until
    its first content (another attempt may follow: a failure before then is retried, not relayed)."""

    deadline: float | None = None  # the request's deadline: the attempt ends by then
    hold_stream: bool = False
    first_token_by: float | None = None  # a held stream's first content must come by then
    timeout_s: float | None = None  # the wait for each byte (None: the transport's own)
    strict_keys: bool = False  # give up when every key of the pool cools (another target remains)
    continuable: bool = False  # a stream broken after its first content is left open for a continuation
    carries_on: Transcript | None = None  # a continuation: the answer so far, prefilled, relayed after it


UNBOUNDED = AttemptBounds()

_OPERATIONS = {
    Operation.CHAT: "chat completions",
    Operation.EMBEDDINGS: "embeddings",
    Operation.COUNT_TOKENS: "token counting",
}


class Executor:
    def __init__(
        self,
        *,
        snapshot: SnapshotHolder,
        credentials: CredentialOpener,
        registry: ProviderRegistry,
        transport: Transport,
        coster: Coster,
        metering: Metering,
        base_urls: Mapping[str, str],
        pooled: PooledLane | None,
        gate: CacheGate | None = None,
        breakers: Breakers | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._tracing = tracing
        self._keys = ProjectKeys(snapshot, credentials, base_urls, pooled, breakers or Breakers())
        self._registry = registry
        self._transport = transport
        self._coster = coster
        self._metering = metering
        self._gate = gate

    def carries_on(self, call: Call, route: Route) -> bool:
        """Could ``route`` carry on ``call``'s broken stream: the door's answers can be written down, and
        the provider continues an assistant prefill (through the canonical format: not a native door)."""
        adapter = self._registry.get(route.provider)
        return (
            adapter is not None
            and adapter.capabilities.prefills(route.upstream_model)
            and call.door.api not in adapter.native_apis
            and call.door.transcript() is not None
        )

    async def run(
        self,
        call: Call,
        route: Route,
        exchange: Exchange,
        send: Responded,
        receive: Receive,
        bounds: AttemptBounds = UNBOUNDED,
    ) -> None:
        """One attempt of ``call`` on ``route``; raises an ``ApiError`` when it fails before answering."""
        adapter = self._registry[route.provider]
        _check_serves(adapter, call)
        # The adapter serves the door's own API: the body goes upstream and comes back untranslated.
        native = cast(NativeApi, adapter) if call.door.api in adapter.native_apis else None
        metered = call.operation is not Operation.COUNT_TOKENS
        held = await self._metering.hold(exchange, call.body, call.operation) if metered else None
        span: Span | None = None
        try:
            key, endpoint = self._keys.open(route, exchange, strict=bounds.strict_keys)
            prefill = bounds.carries_on.text if bounds.carries_on is not None else None
            upstream = self._request(call, adapter, native, route, endpoint, key, prefill)
            if self._tracing is not None:
                span = attempt_started(self._tracing, exchange, adapter, route, upstream)
            upstream = with_traceparent(upstream, exchange, span)
            exchange.upstream_started = time.perf_counter()
            held_stream = call.stream and (bounds.hold_stream or bounds.carries_on is not None)
            cutoff = bounds.first_token_by if held_stream else None
            try:
                async with self._transport.open(
                    upstream, timeout_s=bounds.timeout_s, deadline=bounds.deadline, cutoff=cutoff
                ) as response:
                    exchange.first_byte = time.perf_counter()
                    exchange.upstream_request_id = _first(response, adapter.request_id_headers)
                    if response.status >= 400:
                        failed = await response.read()
                        exchange.upstream_done()
                        error = _upstream_error(adapter, route, response, failed)
                        self._keys.failed(route, exchange, error)
                        raise error
                    if call.stream:
                        hold = response.lift_cutoff if held_stream else None
                        await self._stream(
                            call, adapter, native, route, response, exchange, send, receive, hold, bounds
                        )
                    else:
                        await self._answer(call, adapter, native, route, response, exchange, send)
            except UpstreamCutoffError:
                exchange.upstream_done()
                raise FirstTokenTimeoutError(
                    f"{adapter.title} sent no first token within the time allowed."
                ) from None
            except UpstreamTimeoutError as exc:
                exchange.upstream_done()
                raise GatewayTimeoutError(f"{adapter.title} did not answer in time: {exc}.") from None
            except UpstreamUnreachableError as exc:
                exchange.upstream_done()
                raise BadGatewayError(f"Could not reach {adapter.title}: {exc}") from None
            except (UpstreamFormatError, orjson.JSONDecodeError) as exc:
                raise BadGatewayError(
                    f"{adapter.title} sent an unreadable answer: {exc}.", code="upstream_bad_response"
                ) from None
        finally:
            if span is not None:
                assert self._tracing is not None
                attempt_ended(self._tracing, span, exchange, sys.exc_info()[1])
            await self._metering.settle(held, exchange)

    def _request(
        self,
        call: Call,
        adapter: ProviderAdapter,
        native: NativeApi | None,
        route: Route,
        endpoint: Endpoint,
        key: Secret,
        prefill: str | None = None,
    ) -> UpstreamRequest:
        try:
            if call.operation is Operation.EMBEDDINGS:
                call.body["model"] = route.upstream_model
                return adapter.embeddings_request(endpoint, key, call.body)
            if native is not None:
                assert call.native is not None  # a door with a native API says what its calls need
                call.body["model"] = route.upstream_model
                return native.native_request(call.door.api, endpoint, key, call.body, call.native)
            payload = call.canonical()
            payload["model"] = route.upstream_model
            if prefill is not None:  # a continuation: the answer so far, for the model to carry on
                payload = {**payload, "messages": [*payload["messages"], _prefill(adapter, prefill)]}
            if call.stream and adapter.capabilities.stream_usage and not call.include_usage:
                # The cost needs the usage: ask for it always (the relay drops it for a client that did not).
                options = payload.get("stream_options")
                payload["stream_options"] = {
                    **(options if isinstance(options, dict) else {}),
                    "include_usage": True,
                }
            return adapter.chat_request(endpoint, key, payload)
        except TranslationError as exc:
            raise InvalidRequestError(exc.message, param=exc.param, code=exc.code) from None

    async def _answer(
        self,
        call: Call,
        adapter: ProviderAdapter,
        native: NativeApi | None,
        route: Route,
        response: UpstreamStream,
        exchange: Exchange,
        send: Responded,
    ) -> None:
        read = await response.read()
        exchange.upstream_done()
        if call.operation is Operation.EMBEDDINGS:
            body = adapter.embeddings_response(read, call.body)
            parsed = parsed_body(body)
            exchange.usage = adapter.usage(usage_of(parsed))
        elif native is not None:
            body, parsed = read, parsed_body(read)
            if call.operation is not Operation.COUNT_TOKENS and isinstance(parsed, dict):
                exchange.usage = native.native_usage(call.door.api, parsed)
                exchange.finish_reason = finish_reason(parsed)
                answer_id = parsed.get("id")
                exchange.answer_id = answer_id if isinstance(answer_id, str) else None
        else:
            completion = adapter.chat_response(read)
            parsed = parsed_body(completion)
            exchange.usage = adapter.usage(usage_of(parsed))
            exchange.finish_reason = finish_reason(parsed)
            body = call.door.answer(parsed, completion, route)
            if body is not completion:  # rendered in the door's format: that is what is stored
                parsed = orjson.loads(body) if call.ticket is not None else None
        exchange.cost_micro = self._coster.cost(route, exchange.usage)
        exchange.status = response.status
        headers = [JSON_CONTENT, *_passed(response, adapter), *exchange.gateway_headers()]
        await send_bytes(send, response.status, body, headers)
        ticket, replay = call.ticket, call.replay
        if ticket is not None and replay is not None and response.status == 200 and replay.storable(parsed):
            assert self._gate is not None  # a ticket comes from the gate
            # An answer relayed as read is kept without a copy (``MemoryStore.put``).
            pending = self._gate.store(ticket, body, exact=body is read)
            if pending is not None:
                await pending

    async def _stream(
        self,
        call: Call,
        adapter: ProviderAdapter,
        native: NativeApi | None,
        route: Route,
        response: UpstreamStream,
        exchange: Exchange,
        send: Responded,
        receive: Receive,
        hold: Callable[[], None] | None,
        bounds: AttemptBounds,
    ) -> None:
        exchange.upstream_done()  # time to headers
        if native is not None:
            events = native.native_stream(call.door.api)
        else:
            inner = adapter.chat_stream(route.upstream_model, include_usage=call.include_usage)
            events = call.door.events(inner, route)
        recording = CacheGate.recording(call.ticket, call.replay)
        pricing = Pricing(self._coster, route) if call.cost_in_stream else None
        headers: Headers = [*_passed(response, adapter), *exchange.gateway_headers()]
        transcript = bounds.carries_on
        if transcript is None and bounds.continuable:
            transcript = call.door.transcript()
        relayed = await relay(
            send,
            receive,
            response.chunks(),
            events,
            headers,
            call.door.error_event,
            pricing=pricing,
            record=recording,
            hold=hold,
            transcript=transcript,
            started=bounds.carries_on is not None,
        )
        exchange.status, exchange.error_code = relayed.status, relayed.error_code
        if exchange.first_token is None:
            exchange.first_token = relayed.first_token
        if relayed.broken is not None and transcript is not None:
            exchange.broken = Broken(relayed.broken, transcript)
        tally = events.tally
        exchange.finish_reason = tally.finish_reason
        exchange.answer_id = tally.answer_id
        if tally.dropped:
            log.warning(
                "request %s: dropped %d malformed stream event(s) from %s",
                exchange.request_id,
                tally.dropped,
                route.provider,
            )
        if tally.usage:
            exchange.usage = tally.usage
            costed = relayed.costed is tally.usage  # priced already for the client's usage chunk
            exchange.cost_micro = relayed.cost_micro if costed else self._coster.cost(route, tally.usage)
        if recording is not None and call.ticket is not None and relayed.status == 200 and tally.done:
            # The entry needs the usage chunk the gateway asked for and withheld from the client.
            tail = b""
            if call.withheld_usage and tally.usage is not None:
                tail = tally.withheld or usage_event(tally.usage)
            assert self._gate is not None  # a ticket comes from the gate
            pending = self._gate.store_recorded(call.ticket, recording, tail)
            if pending is not None:
                await pending


def _prefill(adapter: ProviderAdapter, text: str) -> dict[str, object]:
    """The assistant message a continuation ends with (no trailing whitespace: Anthropic refuses it)."""
    message: dict[str, object] = {"role": "assistant", "content": text.rstrip()}
    marker = adapter.capabilities.prefill_marker
    if marker is not None:
        message[marker] = True
    return message


def _first(response: UpstreamStream, names: tuple[str, ...]) -> str | None:
    headers = response.headers
    for name in names:
        value = headers.get(name)
        if value:
            return value
    return None


def _passed(response: UpstreamStream, adapter: ProviderAdapter) -> Headers:
    """The upstream headers a client may act on (retry hints, rate-limit state, the provider's request id)."""
    prefixes = adapter.passed_headers
    return [
        (name.encode(), value.encode())
        for name, value in response.headers.items()
        if name.startswith(prefixes)
    ]


def _upstream_error(
    adapter: ProviderAdapter, route: Route, response: UpstreamStream, body: bytes
) -> ApiError:
    parsed = adapter.parse_error(response.status, body)
    passed = {name.decode(): value.decode() for name, value in _passed(response, adapter)}
    if parsed.retry_after_s is not None and "retry-after" not in passed:
        passed["retry-after"] = str(parsed.retry_after_s)
    advised = response.headers.get("x-should-retry")
    if advised in ("true", "false"):  # the provider's own advice goes on to the client
        passed["x-should-retry"] = advised
    if parsed.status == 401 and route.lane is Lane.BYOK:
        return AuthenticationError(
            f"Authentication failed with {adapter.title}: check the key in project settings.",
            code="provider_authentication_failed",
            headers=passed,
        )
    message, code, param = parsed.message, parsed.code, parsed.param
    if parsed.status == 404 or code == "model_not_found":  # the model is gone: say what to use instead
        message = f"{adapter.catalog.guidance(route.upstream_model, adapter.title)} ({parsed.message})"
        code, param = "model_not_found", "model"
    return UpstreamApiError(
        parsed.status,
        message,
        kind=parsed.type or error_type_for(parsed.status),
        code=code,
        param=param,
        headers=passed,
    )


def _check_serves(adapter: ProviderAdapter, call: Call) -> None:
    """The provider can do what is asked (its declared capabilities): natively (the door's own API) or
    through the canonical format."""
    capabilities = adapter.capabilities
    if call.operation is Operation.EMBEDDINGS:
        able = capabilities.embeddings
    elif call.door.api in adapter.native_apis:
        return
    else:
        able = capabilities.chat and call.operation is Operation.CHAT
    if not able:
        raise InvalidRequestError(
            f"{adapter.title} models are not served for {_OPERATIONS[call.operation]} by this gateway.",
            param="model",
            code="model_not_supported",
        )
    if not capabilities.tools and call.body.get("tools"):
        raise InvalidRequestError(
            f"{adapter.title} models take no tools (function calling).",
            param="tools",
            code="unsupported_parameter",
        )
