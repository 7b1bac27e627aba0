"""A server process for the serving tests: ``python -m tests.serving.app_server MODE APP PORT``.

MODE ``front-door`` serves with the gateway's uvicorn config (``byokgate.serving.server_config``) and the
limits read from the ``BYOKGATE_*`` environment, as ``byokgate serve`` does; ``plain`` serves with
uvicorn's defaults (what ``byokgate serve`` ran before the front-door limits).

APP ``gateway`` is the real gateway (``create_app(Settings())``, SQLite in ``BYOKGATE_DATA_DIR``); ``echo``
is a small app: ``/stream?n=N`` streams N chunks, ``/slow?s=S`` answers after S seconds (even when its
client has gone), anything else reads the body and answers with what it saw as JSON.
"""

from __future__ import annotations

import asyncio
import sys
from urllib.parse import parse_qs

import orjson
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from byokgate.app import create_app
from byokgate.serving import FrontDoorLimits, server_config
from byokgate.settings import Settings


async def _start(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    query = parse_qs(scope["query_string"].decode())
    if scope["path"] == "/stream":
        await _start(send, 200, [(b"content-type", b"text/plain")])
        for index in range(int(query.get("n", ["3"])[0])):
            await send({"type": "http.response.body", "body": b"chunk %d\n" % index, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
        return
    if scope["path"] == "/slow":
        await asyncio.sleep(float(query.get("s", ["1"])[0]))
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    seen = {
        "path": scope["path"],
        "headers": len(scope["headers"]),
        "header_bytes": sum(len(name) + len(value) for name, value in scope["headers"]),
        "body": len(body),
    }
    answer = orjson.dumps(seen)
    await _start(
        send, 200, [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
    )
    await send({"type": "http.response.body", "body": answer})


def main() -> None:
    mode, app_name, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    settings = Settings()
    app: ASGIApp = create_app(settings) if app_name == "gateway" else echo
    if mode == "front-door":
        config = server_config(app, FrontDoorLimits.from_settings(settings), host="127.0.0.1", port=port)
    else:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
        )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
