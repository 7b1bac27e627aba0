"""The uvicorn config ``byokgate serve`` (and the gateway's test and demo servers) run with."""

from __future__ import annotations

import logging

import uvicorn
from starlette.types import ASGIApp

from byokgate.serving.limits import FrontDoorLimits
from byokgate.serving.protocol import protocol_for

logger = logging.getLogger("byokgate.serving")


def server_config(
    app: ASGIApp, limits: FrontDoorLimits, *, host: str, port: int, graceful_shutdown_s: int | None = None
) -> uvicorn.Config:
    """The gateway's uvicorn config: quiet (byokgate logs for itself), the app's lifespan, the limits."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol_for(limits),
        log_config=None,
        access_log=False,
        lifespan="on",
        server_header=False,
        proxy_headers=False,  # the gateway does not act on X-Forwarded-* (yet)
        limit_concurrency=limits.max_connections,  # read by uvicorn's WebSocket protocols only
        backlog=limits.listen_backlog,
        timeout_keep_alive=limits.keep_alive_timeout_s,
        timeout_graceful_shutdown=graceful_shutdown_s,
    )


def ensure_file_limit(limits: FrontDoorLimits) -> None:
    """Raise the soft open-file limit to what ``max_connections`` needs (a request can hold a client and an
    upstream connection, plus the database's and Redis's), within the hard limit; warn if that falls short:
    past it, clients would meet refused or reset connections instead of 503s."""
    try:
        import resource  # Unix only
    except ImportError:
        return
    needed = 2 * limits.max_connections + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        logger.warning(
            "The open-file limit (%d) is too low for BYOKGATE_MAX_CONNECTIONS=%d (about %d needed); "
            "raise it (ulimit -n, LimitNOFILE=) or lower the connection limit.",
            target,
            limits.max_connections,
            needed,
        )
