"""A call that must go to one provider with one key, answered as it comes back (no model, no routing).

The Responses API's calls on a stored response (``GET``/``DELETE`` ``/v1/responses/{id}``, ``cancel``,
``input_items``) go to the provider that made it, with the very key that made it (another key of the
same project may belong to another account, where the id does not exist). The key is opened from the
snapshot like any attempt's; the answer is relayed with its status and body untouched (``passthrough``).
"""

from __future__ import annotations

from starlette.types import Send

from byokgate.domain.upstream import UpstreamRequest
from byokgate.errors import NotFoundError
from byokgate.providers.setup import PooledLane
from byokgate.proxy.exchange import Exchange
from byokgate.proxy.passthrough import Upstream, relay_answer


class Forwarder:
    def __init__(self, upstream: Upstream, pooled: PooledLane | None) -> None:
        self._upstream = upstream
        self._pooled = pooled

    async def relay(
        self,
        send: Send,
        exchange: Exchange,
        provider: str,
        credential_id: str | None,
        method: str,
        path: str,
        body: bytes | None = None,
    ) -> int:
        """Send ``method`` ``<base URL>/<path>`` (query included) with the key and relay the answer; returns
        its status. A key the project no longer holds is a 404 (what was made with it is out of reach)."""
        upstream = self._upstream
        adapter = upstream.registry[provider]
        assert exchange.key is not None
        if credential_id is None:
            if self._pooled is None:
                raise NotFoundError("The pooled lane is not configured on this gateway.")
            key = self._pooled.key
        else:
            opened = upstream.credentials.open_id(
                upstream.snapshot.current, exchange.key.project_id, provider, credential_id
            )
            if opened is None:
                raise NotFoundError(
                    f"The {adapter.title} key that made this was removed from the project.",
                    code="key_removed",
                )
            key = opened.secret
            exchange.credential_id = credential_id
        headers = adapter.auth.headers(key)
        if body is not None:
            headers["content-type"] = "application/json"
        request = UpstreamRequest(method, f"{upstream.base_urls[provider]}/{path}", headers, body)
        await relay_answer(upstream, send, exchange, adapter, request, _ignored)
        return exchange.status


def _ignored(answer: dict[str, object]) -> None:
    """Calls on a stored response have no usage of their own."""
