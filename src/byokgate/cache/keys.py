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

import hashlib
from typing import Any

import orjson

# Top-level fields that change how an answer is delivered or attributed, not what it says.
IGNORED = frozenset({"stream", "stream_options", "user", "metadata", "store", "safety_identifier"})
_SORTED = orjson.OPT_SORT_KEYS
_MAX_PROJECT_KEYS = 4096


def cache_secret(master_key: bytes) -> bytes:
    """The secret cache keys are derived from: one-way from the master key, so instances that share a
    database (and Redis) share their cache keys, and the master key itself is never used for anything else."""
    return hashlib.blake2b(b"byokgate response cache keys", key=master_key, digest_size=32).digest()


class CacheKeys:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the cache key secret must be at least 16 bytes")
        self._secret = secret
        # project id -> a BLAKE2b hasher keyed with the project's key and fed nothing yet (bounded below):
        # copying it is cheaper than keying a new one for every request.
        self._project_hashers: dict[str, Any] = {}

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
        hasher = self._project_hashers.get(project_id)
        if hasher is None:
            hasher = self._project_hasher(project_id)
        hasher = hasher.copy()
        # join, not an f-string: ``lane`` is a StrEnum, whose __format__ is Python code (~0.3 µs a key).
        hasher.update("\0".join((lane, provider, model, namespace, "")).encode())
        # A shallow copy without the left-out fields (C calls only: this runs on every cached request).
        body = payload.copy()
        body.pop("model", None)
        if not IGNORED.isdisjoint(body):
            for name in IGNORED:
                body.pop(name, None)
        hasher.update(orjson.dumps(body, option=_SORTED))
        return f"{project_id}:{hasher.hexdigest()}"

    def _project_hasher(self, project_id: str) -> Any:
        if len(self._project_hashers) >= _MAX_PROJECT_KEYS:
            self._project_hashers.clear()
        key = hashlib.blake2b(project_id.encode(), key=self._secret, digest_size=32).digest()
        hasher = self._project_hashers[project_id] = hashlib.blake2b(key=key, digest_size=32)
        return hasher


def public_key(storage_key: str) -> str:
    """What ``x-byokgate-cache-key`` shows: the storage key's digest (keyed, so it reveals nothing)."""
    return storage_key.rpartition(":")[2]
