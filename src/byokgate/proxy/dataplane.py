"""The data-plane ASGI app: each path to its front door, errors in the door's format, one record a request.

/v1/chat/completions and /v1/embeddings (OpenAI's format), /v1/messages and /v1/messages/count_tokens
(Anthropic's), /v1/responses and the calls on a stored response (OpenAI's Responses API), /v1/models and
/v1/generations/{id}; and each provider's own API under /<provider>/ (``native.py``). A door parses its
format and hands the request to the pipeline (route, admit, cache, executor); nothing on the way waits on
the database.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from starlette.types import Receive, Scope, Send

from byokgate.asgi import JSON_CONTENT, ClientGoneError, send_bytes
from byokgate.domain.ids import new_request_id
from byokgate.errors import ApiError, NotFoundError
from byokgate.logs import LOG_CONTEXT
from byokgate.providers.registry import ProviderRegistry
from byokgate.proxy.auth import authenticate
from byokgate.proxy.call import Operation
from byokgate.proxy.doors.chat import ChatDoor
from byokgate.proxy.doors.media import ENDPOINTS as MEDIA_ENDPOINTS
from byokgate.proxy.doors.media import MediaDoor
from byokgate.proxy.doors.messages import MessagesDoor
from byokgate.proxy.doors.responses import ResponsesDoor
from byokgate.proxy.exchange import Exchange, Responded
from byokgate.proxy.forward import Forwarder
from byokgate.proxy.generations import FindRequest, generation, not_found
from byokgate.proxy.models import model_entry, models_list, reachable
from byokgate.proxy.native import NativeDoor
from byokgate.proxy.pipeline import Pipeline
from byokgate.proxy.records import keep_bodies, observe, record
from byokgate.proxy.stored_responses import StoredResponses
from byokgate.proxy.traces import server_ended, server_started
from byokgate.snapshot.holder import SnapshotHolder
from byokgate.telemetry.metrics import Metrics
from byokgate.telemetry.tracing import Tracing, incoming
from byokgate.telemetry.writer import BatchWriter

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"req_[0-9a-f]{32}")
_OPERATIONS = {"/v1/chat/completions": Operation.CHAT, "/v1/embeddings": Operation.EMBEDDINGS}
_MESSAGES = ("/v1/messages", "/v1/messages/count_tokens")


@dataclass(frozen=True, slots=True)
class DataPlaneConfig:
    max_body_bytes: int = 32 * 1024 * 1024


class DataPlane:
    def __init__(
        self,
        *,
        snapshot: SnapshotHolder,
        registry: ProviderRegistry,
        pipeline: Pipeline,
        stored: StoredResponses,
        forwarder: Forwarder,
        native: NativeDoor,
        media: MediaDoor,
        writer: BatchWriter,
        config: DataPlaneConfig,
        pooled_provider: str | None,
        find_request: FindRequest | None = None,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._metrics = metrics
        self._tracing = tracing
        self._snapshot = snapshot
        self._registry = registry
        self._writer = writer
        self._pooled_provider = pooled_provider
        self._find_request = find_request
        self._native = native
        self._media = media
        self._chat = ChatDoor(snapshot=snapshot, pipeline=pipeline, max_body_bytes=config.max_body_bytes)
        self._messages = MessagesDoor(
            snapshot=snapshot, pipeline=pipeline, max_body_bytes=config.max_body_bytes
        )
        self._responses = ResponsesDoor(
            snapshot=snapshot,
            pipeline=pipeline,
            max_body_bytes=config.max_body_bytes,
            stored=stored,
            forwarder=forwarder,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        exchange = Exchange(new_request_id(), time.perf_counter(), path.removeprefix("/v1/"))
        trace_header = None
        for name, value in scope["headers"]:
            if name == b"traceparent":
                trace_header = value
            elif name == b"user-agent":
                exchange.user_agent = value[:256].decode("latin-1")
        client = scope.get("client")
        exchange.client_ip = client[0] if client else None
        exchange.trace = incoming(trace_header)
        exchange.trace_id = exchange.trace.trace_id
        if self._tracing is not None:
            server_started(self._tracing, exchange, method, path)
        LOG_CONTEXT.set((exchange.request_id, exchange.trace_id))
        responded = Responded(send)
        door: ChatDoor | MessagesDoor | ResponsesDoor | MediaDoor = self._chat
        try:
            if path in _OPERATIONS and method == "POST":
                await self._chat.handle(scope, receive, responded, exchange, _OPERATIONS[path])
            elif path in _MESSAGES and method == "POST":
                door = self._messages
                await self._messages.handle(scope, receive, responded, exchange)
            elif path in MEDIA_ENDPOINTS and method == "POST":
                door = self._media
                await self._media.handle(scope, receive, responded, exchange)
            elif path == "/v1/responses" and method == "POST":
                door = self._responses
                await self._responses.handle(scope, receive, responded, exchange)
            elif path.startswith("/v1/responses/"):
                door = self._responses
                rest = path.removeprefix("/v1/responses/")
                await self._responses.resource(scope, receive, responded, exchange, rest)
            elif (path == "/v1/models" or path.startswith("/v1/models/")) and method == "GET":
                exchange.endpoint = "models"
                if self._messages.speaks(scope["headers"]):
                    door = self._messages  # the Messages format's own shapes, errors included
                await self._models(scope, responded, exchange, path.removeprefix("/v1/models")[1:], door)
            elif path.startswith("/v1/generations/") and method == "GET":
                exchange.endpoint = "generations"
                await self._generation(scope, responded, exchange, path.removeprefix("/v1/generations/"))
            elif (native := self._native.target(path)) is not None:
                await self._native.handle(scope, receive, responded, exchange, *native)
            else:  # the key first: a wrong key is a 401 on every path, known or not
                exchange.endpoint = "unknown"  # recorded as such (a path is unbounded; the column is not)
                exchange.key = authenticate(
                    self._snapshot.current, scope["headers"], datetime.now(UTC), x_api_key=True
                )
                raise NotFoundError(f"Invalid URL ({method} {path})", code="unknown_url")
        except ClientGoneError:
            exchange.status, exchange.error_code = 499, "client_closed_request"
        except ApiError as error:
            exchange.status = error.status
            exchange.error_code = error.code or error.type
            exchange.error_type = error.type
            if not responded.started:
                await door.send_error(responded, error, exchange)
        except Exception:
            log.exception("data plane internal error (request %s)", exchange.request_id)
            exchange.status, exchange.error_code, exchange.error_type = 500, "internal_error", "api_error"
            if not responded.started:
                internal = ApiError(
                    "The gateway hit an internal error; the request id is in x-byokgate-request-id."
                )
                await door.send_error(responded, internal, exchange)
        finally:
            try:
                try:
                    record(self._writer, exchange)
                    self._writer.commit()  # on disk before the client sees the end of its answer
                finally:
                    await responded.finish()
            finally:  # after the answer: bodies, metrics and spans need not keep the client waiting
                keep_bodies(self._writer, exchange)
                if self._metrics is not None:
                    observe(self._metrics, exchange)
                if self._tracing is not None:
                    server_ended(self._tracing, exchange)

    async def _models(
        self, scope: Scope, send: Send, exchange: Exchange, model_id: str, door: object
    ) -> None:
        snapshot = self._snapshot.current
        exchange.key = authenticate(snapshot, scope["headers"], datetime.now(UTC), x_api_key=True)
        providers = snapshot.providers_of(exchange.key.project_id)
        if door is self._messages:
            query = scope.get("query_string", b"").decode("latin-1")
            params = dict(part.partition("=")[::2] for part in query.split("&") if part)
            found = reachable(self._registry, providers, self._pooled_provider)
            body = self._messages.models(found, model_id, params)
        elif model_id:
            body = model_entry(self._registry, providers, self._pooled_provider, model_id)
        else:
            body = models_list(self._registry, providers, self._pooled_provider)
        exchange.status = 200
        await send_bytes(send, 200, orjson.dumps(body), [JSON_CONTENT, *exchange.gateway_headers()])

    async def _generation(self, scope: Scope, send: Send, exchange: Exchange, request_id: str) -> None:
        exchange.key = authenticate(self._snapshot.current, scope["headers"], datetime.now(UTC))
        if self._find_request is None or not _REQUEST_ID.fullmatch(request_id):
            raise not_found()
        body = await generation(request_id, exchange.key.project_id, self._writer, self._find_request)
        exchange.status = 200
        await send_bytes(send, 200, orjson.dumps(body), [JSON_CONTENT, *exchange.gateway_headers()])
