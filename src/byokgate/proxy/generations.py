"""GET /v1/generations/{request_id}: one request's model, usage and cost, for clients that cannot read the
response headers or the stream's usage chunk (the figures are the ones the request log keeps).

A request is found among the records still queued for the batch writer, else in the request log (after any
batch being written has landed); only the project that made it can read it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from byokgate.domain.entities import RequestRecord
from byokgate.errors import NotFoundError
from byokgate.pricing.cost import usd
from byokgate.telemetry.writer import BatchWriter

FindRequest = Callable[[str], Awaitable[RequestRecord | None]]


async def generation(
    request_id: str, project_id: str, writer: BatchWriter, find: FindRequest
) -> dict[str, Any]:
    record = writer.queued_request(request_id)
    if record is None:
        await writer.settled()  # a batch on its way to the database is there once this returns
        record = await find(request_id)
    if record is None or record.project_id != project_id:
        raise not_found()
    return view(record)


def not_found() -> NotFoundError:
    return NotFoundError("No generation with this id in this project.", code="generation_not_found")


def view(record: RequestRecord) -> dict[str, Any]:
    return {
        "object": "generation",
        "id": record.id,
        "created": int(record.created_at.timestamp()),
        "endpoint": record.endpoint,
        "model": record.resolved_model,
        "requested_model": record.requested_model,
        "provider": record.provider,
        "lane": record.lane,
        "stream": record.stream,
        "status": record.status,
        "error_code": record.error_code,
        "cache": record.cache,
        "usage": {
            "prompt_tokens": record.prompt_tokens,
            "completion_tokens": record.completion_tokens,
            "total_tokens": record.total_tokens,
            "cached_tokens": record.cached_tokens,
        },
        "cost_usd": None if record.cost_micro_usd is None else usd(record.cost_micro_usd),
        "cost_micro_usd": record.cost_micro_usd,
        "charged_credits": None if record.charged_micro_usd is None else usd(record.charged_micro_usd),
        "cost_saved_usd": None if record.cost_saved_micro_usd is None else usd(record.cost_saved_micro_usd),
        "latency_ms": round(record.latency_ms, 3),
        "upstream_ms": None if record.upstream_ms is None else round(record.upstream_ms, 3),
        "upstream_request_id": record.upstream_request_id,
        "attempts": record.attempts if record.attempts is not None else _only_attempt(record),
    }


def _only_attempt(record: RequestRecord) -> list[dict[str, Any]]:
    """A request answered (or refused) at its first attempt: that attempt, from the record itself."""
    if record.provider is None or record.cache in ("HIT", "SEMANTIC-HIT"):
        return []  # never went upstream
    return [
        {
            "provider": record.provider,
            "model": record.resolved_model,
            "lane": record.lane,
            "credential_id": record.credential_id,
            "status": record.status,
            "code": record.error_code,
            "action": "answered" if record.status < 400 else "terminal",
            "reason": None,
            "ms": None if record.upstream_ms is None else round(record.upstream_ms, 1),
        }
    ]
