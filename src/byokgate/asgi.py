"""Small raw-ASGI helpers shared by the root app, the admin middleware and the data plane (no framework)."""

from __future__ import annotations

import orjson
from starlette.types import Receive, Send

from byokgate.errors import ApiError, InvalidRequestError, PayloadTooLargeError, advice_headers

Headers = list[tuple[bytes, bytes]]


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGoneError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"request body is larger than the {limit} bytes allowed")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_json_object(body: bytes) -> dict[str, object]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidRequestError(
            "We could not parse the JSON body of your request. Send a JSON object "
            "(Content-Type: application/json).",
            code="invalid_json",
        ) from None
    if not isinstance(parsed, dict):
        raise InvalidRequestError("The request body must be a JSON object.", code="invalid_json")
    return parsed


async def send_bytes(send: Send, status: int, body: bytes, headers: Headers) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


JSON_CONTENT = (b"content-type", b"application/json")
SSE_HEADERS: Headers = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


async def send_error(send: Send, error: ApiError, headers: Headers | None = None) -> None:
    extra = advice_headers(error)
    await send_bytes(send, error.status, orjson.dumps(error.body()), [JSON_CONTENT, *(headers or []), *extra])


class ClientGoneError(Exception):
    """The client disconnected before we answered."""
