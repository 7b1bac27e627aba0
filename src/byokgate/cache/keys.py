"""Cache keys: a SHA-256 over a canonical encoding of the whole request, scoped by what the server knows.

The scope (project id, lane, resolved provider and model, the client's namespace) comes first, NUL-separated,
then the request body with its keys sorted. Fields that do not change the answer are left out by name
(``IGNORED``); everything else counts, so a new API parameter can never be silently ignored by the key.
The client never supplies the project id: two projects sending the same request get different keys.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import orjson

# Top-level fields that change how an answer is delivered or attributed, not what it says.
IGNORED = frozenset({"stream", "stream_options", "user", "metadata", "store", "safety_identifier"})
_LEFT_OUT = IGNORED | {"model"}  # the resolved model is part of the scope instead


def request_key(
    project_id: str, lane: str, provider: str, model: str, namespace: str, *, payload: dict[str, Any]
) -> str:
    """The storage key (hex): scope fields and the canonical body, hashed."""
    body = {name: value for name, value in payload.items() if name not in _LEFT_OUT}
    scope = "\0".join((project_id, lane, provider, model, namespace, "")).encode()
    digest = hashlib.sha256(scope + orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"{project_id}:{digest}"


def public_key(project_id: str, key: str) -> str:
    """What ``x-byokgate-cache-key`` shows: a keyed BLAKE2b (a MAC) of the storage key under a per-project
    salt, so equal requests look unrelated across projects and the header reveals nothing about the
    storage layout."""
    mac = _keyed(project_id).copy()
    mac.update(key.encode())
    digest: str = mac.hexdigest()
    return digest


@functools.lru_cache(maxsize=4096)
def _keyed(project_id: str) -> Any:
    """The project's keyed BLAKE2b, its key block already absorbed (copies of it are cheap)."""
    salt = hashlib.sha256(b"byokgate cache key\0" + project_id.encode()).digest()
    return hashlib.blake2b(key=salt, digest_size=16)
