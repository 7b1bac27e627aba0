"""Cache keys: a keyed hash over a canonical encoding of the whole request, scoped by what the server knows.

The scope (lane, resolved provider and model, the client's namespace) comes first, NUL-separated, then the
request body with its keys sorted. Fields that do not change the answer are left out by name (``IGNORED``);
everything else counts, so a new API parameter can never be silently ignored by the key.

The hash is BLAKE2b-256 keyed per project: the project's key is derived from a server secret (itself derived
from the master key) and the project id. The client never supplies the project id, so two projects sending
the same request get unrelated keys; and without the server secret nobody can compute the key of a request,
so the digest shown in ``x-byokgate-cache-key`` is no oracle for guessing what a project asked. The storage
key is ``<project id>:<digest>`` (the prefix lets a project's entries be purged); the header shows the digest.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import orjson

# Top-level fields that change how an answer is delivered or attributed, not what it says.
IGNORED = frozenset({"stream", "stream_options", "user", "metadata", "store", "safety_identifier"})
_LEFT_OUT = IGNORED | {"model"}  # the resolved model is part of the scope instead
_SORTED = orjson.OPT_SORT_KEYS


def cache_secret(master_key: bytes) -> bytes:
    """The secret cache keys are derived from: one-way from the master key, so instances that share a
    database (and Redis) share their cache keys, and the master key itself is never used for anything else."""
    return hashlib.blake2b(b"byokgate response cache keys", key=master_key, digest_size=32).digest()


class CacheKeys:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the cache key secret must be at least 16 bytes")
        self._secret = secret

    def request_key(
        self,
        project_id: str,
        lane: str,
        provider: str,
        model: str,
        namespace: str,
        *,
        payload: dict[str, Any],
    ) -> str:
        """The storage key: the project id, then the hex digest of scope and canonical body."""
        body = {name: value for name, value in payload.items() if name not in _LEFT_OUT}
        mac = _project_mac(self._secret, project_id).copy()
        mac.update(f"{lane}\0{provider}\0{model}\0{namespace}\0".encode())
        mac.update(orjson.dumps(body, option=_SORTED))
        return f"{project_id}:{mac.hexdigest()}"


def public_key(storage_key: str) -> str:
    """What ``x-byokgate-cache-key`` shows: the storage key's digest (keyed, so it reveals nothing)."""
    return storage_key.rpartition(":")[2]


@functools.lru_cache(maxsize=4096)
def _project_mac(secret: bytes, project_id: str) -> Any:
    """The project's keyed BLAKE2b, its key block already absorbed (copies of it are cheap)."""
    project_key = hashlib.blake2b(project_id.encode(), key=secret, digest_size=32).digest()
    return hashlib.blake2b(key=project_key, digest_size=32)
