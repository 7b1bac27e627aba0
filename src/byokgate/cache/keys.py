"""Cache keys: a SHA-256 over a canonical encoding of the whole request, scoped by what the server knows.

The scope (project id, lane, resolved provider and model, the client's namespace) comes first, NUL-separated,
then the request body with its keys sorted. Fields that do not change the answer are left out by name
(``IGNORED``); everything else counts, so a new API parameter can never be silently ignored by the key.
The client never supplies the project id: two projects sending the same request get different keys.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

# Top-level fields that change how an answer is delivered or attributed, not what it says.
IGNORED = frozenset({"stream", "stream_options", "user", "metadata", "store", "safety_identifier"})


def request_key(
    *, project_id: str, lane: str, provider: str, model: str, namespace: str, payload: dict[str, Any]
) -> str:
    """The storage key (hex): scope fields and the canonical body, hashed."""
    body = {name: value for name, value in payload.items() if name not in IGNORED and name != "model"}
    digest = hashlib.sha256()
    for part in (project_id, lane, provider, model, namespace):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
    return f"{project_id}:{digest.hexdigest()}"


def public_key(project_id: str, key: str) -> str:
    """What ``x-byokgate-cache-key`` shows: an HMAC of the storage key under a per-project salt, so equal
    requests look unrelated across projects and the header reveals nothing about the storage layout."""
    salt = b"byokgate cache key\0" + project_id.encode()
    return hmac.new(salt, key.encode(), hashlib.sha256).hexdigest()[:32]
