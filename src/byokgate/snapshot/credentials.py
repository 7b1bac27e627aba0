"""Opening provider keys on the hot path: pure CPU over the snapshot, with a short-TTL cache; which key of
a project's pool is opened is ``health.keys.KeyHealth``'s pick."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from byokgate.domain.secret import Secret
from byokgate.health.keys import KeyHealth
from byokgate.logs import REDACTOR
from byokgate.snapshot.model import CredentialRef, Snapshot
from byokgate.vault import Vault


@dataclass(frozen=True, slots=True)
class OpenedCredential:
    credential_id: str
    secret: Secret
    fields: Mapping[str, Any]  # the key's non-secret fields (an endpoint, deployments)
    pool_size: int = 1  # how many active keys the project holds for the provider


class CredentialOpener:
    """Decrypts a project's provider key from the snapshot; caches the plaintext for ``ttl_s`` seconds.

    The cache is keyed by credential id, so a rotated key (new credential id) is never served stale.
    """

    def __init__(
        self,
        vault: Vault,
        *,
        health: KeyHealth | None = None,
        ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._vault = vault
        self.health = health or KeyHealth()
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, Secret]] = {}

    def open(
        self,
        snapshot: Snapshot,
        project_id: str,
        provider: str,
        avoid: Collection[str] = (),
        *,
        strict: bool = False,
        blocked: Callable[[str], bool] | None = None,
        model: str | None = None,
    ) -> OpenedCredential | None:
        """A key of the project's pool for ``provider`` (``health.pick``: fresh first, for ``model``,
        ``avoid`` the keys this request tried); None when the pool is empty or, ``strict``, has no fresh
        key."""
        pool = snapshot.pool(project_id, provider)
        if not pool:
            return None
        ref = self.health.pick(pool, avoid, strict=strict, blocked=blocked, model=model)
        if ref is None:
            return None
        return self._opened(snapshot, project_id, provider, ref, len(pool))

    def open_id(
        self, snapshot: Snapshot, project_id: str, provider: str, credential_id: str
    ) -> OpenedCredential | None:
        """One key of the project's pool by id, whatever its health (a call that must go with the key that
        made something upstream); None when the project no longer holds it."""
        pool = snapshot.pool(project_id, provider)
        ref = next((ref for ref in pool if ref.credential_id == credential_id), None)
        return None if ref is None else self._opened(snapshot, project_id, provider, ref, len(pool))

    def _opened(
        self, snapshot: Snapshot, project_id: str, provider: str, ref: CredentialRef, pool_size: int
    ) -> OpenedCredential:
        now = self._clock()
        cached = self._cache.get(ref.credential_id)
        if cached is not None and cached[0] > now:
            return OpenedCredential(ref.credential_id, cached[1], ref.fields, pool_size)
        wrapped = snapshot.wrapped_data_keys[project_id]
        data_key = self._vault.unwrap(project_id, wrapped)
        secret = self._vault.decrypt_credential(
            data_key, project_id, provider, ref.credential_id, ref.ciphertext
        )
        REDACTOR.add_secret(secret.reveal())  # never in a log line, whatever its shape
        self._cache[ref.credential_id] = (now + self._ttl_s, secret)
        if len(self._cache) > 10_000:
            self._evict(now)
        return OpenedCredential(ref.credential_id, secret, ref.fields, pool_size)

    def _evict(self, now: float) -> None:
        for credential_id in [cid for cid, (expiry, _) in self._cache.items() if expiry <= now]:
            del self._cache[credential_id]

    def clear(self) -> None:
        self._cache.clear()
