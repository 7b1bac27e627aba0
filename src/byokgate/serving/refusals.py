"""What the front door answers past a limit: short JSON errors in OpenAI's shape, with ``connection: close``,
and a log of refusals that a flood cannot turn into a log flood."""

from __future__ import annotations

import logging
import time

import orjson
from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from byokgate.errors import ApiError, InvalidRequestError, ServiceUnavailableError, advice_headers

logger = logging.getLogger("byokgate.serving")


class HeaderFieldsTooLargeError(InvalidRequestError):
    status = 431
    default_code = "request_header_fields_too_large"


class UriTooLongError(InvalidRequestError):
    status = 414
    default_code = "uri_too_long"


class RequestTimeoutError(InvalidRequestError):
    status = 408
    default_code = "request_timeout"


def busy_error(what: str) -> ServiceUnavailableError:
    return ServiceUnavailableError(
        f"The gateway is at its limit of {what}; retry shortly.", headers={"retry-after": "1"}
    )


def _body_and_headers(error: ApiError) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = orjson.dumps(error.body())
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *advice_headers(error),
    ]
    return body, headers


def error_response(error: ApiError, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The whole HTTP/1.1 response, for the protocol to write itself."""
    body, headers = _body_and_headers(error)
    lines = (b"%s: %s\r\n" % header for header in [*default_headers, *headers])
    return b"".join([STATUS_LINE[error.status], *lines, b"\r\n", body])


class _Throttled:
    """Logs a kind of refusal at most once per interval: a flood must not become a log flood."""

    def __init__(self, every_s: float = 10.0) -> None:
        self._every_s = every_s
        self._next: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warning(self, kind: str, message: str) -> None:
        now = time.monotonic()
        if now < self._next.get(kind, 0.0):
            self._skipped[kind] = self._skipped.get(kind, 0) + 1
            return
        self._next[kind] = now + self._every_s
        skipped = self._skipped.pop(kind, 0)
        suffix = f" ({skipped} more like it since the last report)" if skipped else ""
        logger.warning("%s%s", message, suffix)


refusals = _Throttled()


async def over_capacity(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """Answers a request that arrives while the limit of requests in progress is reached."""
    error = busy_error("requests in progress")
    body, headers = _body_and_headers(error)
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
