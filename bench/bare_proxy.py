"""A bare pass-through proxy: the floor a Python gateway stands on, measured beside byokgate.

The same server (uvicorn, httptools, its event loop) and the same upstream client (`byokgate.transport`)
as byokgate, and nothing else: no key lookup, no routing, no translation, no cache, no record, no metrics.
It forwards the request (method, path, body) to the upstream on its own key and relays the answer's status,
content type and body chunk by chunk. What byokgate costs beyond this is the gateway's own work.

    python bench/bare_proxy.py --port 8100 --upstream http://127.0.0.1:8001 --key sk-emulator
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from byokgate.domain.upstream import UpstreamRequest
from byokgate.transport import Transport

Scope = dict[str, Any]
Message = dict[str, Any]


class BareProxy:
    def __init__(self, upstream: str, key: str) -> None:
        self._upstream = upstream.rstrip("/")
        self._headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        self._transport: Transport | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        assert self._transport is not None
        url = self._upstream + scope["path"]
        request = UpstreamRequest(scope["method"], url, self._headers, bytes(body) if body else None)
        async with self._transport.open(request) as response:
            content_type = response.headers.as_dict().get("content-type", "application/json")
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": [(b"content-type", content_type.encode())],
                }
            )
            async for chunk in response.chunks():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._transport = Transport(timeout_s=60)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._transport is not None:
                    await self._transport.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the upstream's base URL (paths are appended)")
    parser.add_argument("--key", required=True, help="the upstream's API key")
    args = parser.parse_args()
    config = uvicorn.Config(
        BareProxy(args.upstream, args.key),
        host="127.0.0.1",
        port=args.port,
        http="httptools",
        log_config=None,
        access_log=False,
        lifespan="on",
        server_header=False,
    )
    uvicorn.Server(config).run()  # the event loop uvicorn picks for byokgate too


if __name__ == "__main__":
    main()
