"""The key an attempt goes with, and what a failure does to it.

On the pooled lane it is the platform's key. On the BYOK lane it is one of the project's pool for the
provider (``health.keys.KeyHealth.pick``): a fresh key, not one this request already tried; strict (another
target remains, this is the target's first attempt) it gives up when every key is cooling, so the chain
fails over instead of waiting. A 429 cools the key that got it, for the model asked for, until its
``retry-after``; a 401 or 403 for every model until the key is replaced. When the pool still has a fresh
key the attempt's failure is marked ``rotatable``: the chain tries that key at once.
"""

from __future__ import annotations

from collections.abc import Mapping

from byokgate.domain.secret import Secret
from byokgate.errors import ApiError, AuthenticationError, NotFoundError
from byokgate.health.breakers import Breakers
from byokgate.health.keys import DEFAULT_COOLDOWN_S
from byokgate.providers.base import Endpoint
from byokgate.providers.setup import PooledLane
from byokgate.proxy.attempts import retry_after
from byokgate.proxy.errors import KeysCoolingError, UpstreamApiError
from byokgate.proxy.exchange import Exchange
from byokgate.routing.policy import Lane, Route
from byokgate.snapshot.credentials import CredentialOpener
from byokgate.snapshot.holder import SnapshotHolder


class ProjectKeys:
    def __init__(
        self,
        snapshot: SnapshotHolder,
        credentials: CredentialOpener,
        base_urls: Mapping[str, str],
        pooled: PooledLane | None,
        breakers: Breakers,
    ) -> None:
        self._breakers = breakers
        self._snapshot = snapshot
        self._credentials = credentials
        self._health = credentials.health
        self._base_urls = base_urls
        self._pooled = pooled

    def open(self, route: Route, exchange: Exchange, *, strict: bool) -> tuple[Secret, Endpoint]:
        base_url = self._base_urls[route.provider]
        if route.lane is Lane.POOLED:
            if self._pooled is None:
                raise NotFoundError(
                    "The pooled lane is not configured on this gateway.", code="model_not_found"
                )
            return self._pooled.key, Endpoint(base_url)
        assert exchange.key is not None
        snapshot = self._snapshot.current
        project_id = exchange.key.project_id
        breakers = self._breakers
        # Breakers steer a pool's traffic away from a failing key; a lone key's failures are its provider's.
        several = breakers.any_open and len(snapshot.pool(project_id, route.provider)) > 1
        blocked = self._key_blocked if several else None
        model = route.upstream_model
        pinned = exchange.pinned_key
        if pinned is not None and pinned[0] == route.provider:  # what it continues lives with that key
            opened = self._credentials.open_id(snapshot, project_id, route.provider, pinned[1])
        else:
            opened = self._credentials.open(
                snapshot,
                project_id,
                route.provider,
                exchange.tried_keys,
                strict=strict,
                blocked=blocked,
                model=model,
            )
        if opened is None and blocked is not None:  # every fresh key's breaker is open: cooldowns decide
            blocked = None
            opened = self._credentials.open(
                snapshot, project_id, route.provider, exchange.tried_keys, strict=strict, model=model
            )
        if opened is None:
            pool = snapshot.pool(project_id, route.provider)
            if not pool:  # the key was deleted between routing and now
                raise NotFoundError(
                    f"This project has no {route.provider} key any more.", code="model_not_found"
                )
            health = self._health
            cooling = [c for key in pool if (c := health.cooling(key.credential_id, model)) is not None]
            if cooling and all(c.until is None for c in cooling):
                raise AuthenticationError(
                    f"Every {route.provider} key of this project was refused by the provider and waits to be "
                    "replaced: update it in project settings.",
                    code="provider_authentication_failed",
                )
            ends = [c.until for c in cooling if c.until is not None]
            wait = max(min(ends) - self._health.now(), 0.0) if ends else DEFAULT_COOLDOWN_S
            raise KeysCoolingError(
                f"Every {route.provider} key of this project is cooling down after a rate limit.",
                headers={"retry-after": str(max(int(wait + 0.999), 1))},
            )
        if blocked is not None:
            breakers.acquire("key:" + opened.credential_id)  # the probe, when its breaker is due one
        exchange.credential_id = opened.credential_id
        exchange.tried_keys.add(opened.credential_id)
        exchange.pool_size = opened.pool_size
        return opened.secret, Endpoint(base_url, opened.fields)

    def _key_blocked(self, credential_id: str) -> bool:
        return self._breakers.blocked("key:" + credential_id)

    def failed(self, route: Route, exchange: Exchange, error: ApiError) -> None:
        """Cool the project's key behind a 429, 401 or 403, and say whether the pool has another one."""
        credential_id = exchange.credential_id
        if route.lane is not Lane.BYOK or credential_id is None or exchange.key is None:
            return
        status = error.status if isinstance(error, UpstreamApiError | AuthenticationError) else 0
        if status == 429:
            seconds = retry_after(error.headers)
            wait = DEFAULT_COOLDOWN_S if seconds is None else seconds
            cooldown = self._health.cool(credential_id, "429", wait, route.upstream_model)
        elif status in (401, 403):
            cooldown = self._health.cool(credential_id, str(status), None)
        else:
            return
        exchange.cooled.append((route.provider, credential_id, cooldown))
        if exchange.pool_size > 1:
            pool = self._snapshot.current.pool(exchange.key.project_id, route.provider)
            exchange.rotatable = self._health.has_fresh(pool, exchange.tried_keys, route.upstream_model)
