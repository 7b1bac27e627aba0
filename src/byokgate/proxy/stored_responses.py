"""What the gateway keeps of the Responses API: who made each response id, and translated conversations.

A response a provider stored itself (OpenAI's, on the project's key) is remembered by owner only: the
project, the provider and the key that made it, so that ``GET``/``DELETE`` and the rest go to that key and
another project gets a 404. A response the gateway made by translation (a Claude, a Gemini model) is kept
whole, the response and the conversation that led to it, encrypted under the project's data key
(``vault.seal``), so that ``previous_response_id`` and ``GET`` work as they do at OpenAI. Both live in the
cache store (Redis when configured, shared by every instance; else in process) for ``ttl_s``, under
``responses:<id>`` (never dropped by a cache purge).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from byokgate.cache.store import CacheStore
from byokgate.snapshot.holder import SnapshotHolder
from byokgate.vault import DecryptionError, Vault, seal, unseal

_PREFIX = "responses:"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """One response id as the gateway knows it."""

    response_id: str
    project_id: str
    provider: str
    credential_id: str | None  # the project's key that made it (None: the pooled lane's)
    kept: bool  # made by translation: ``response`` and ``context`` are the gateway's
    response: dict[str, Any] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)  # this request's input items
    context: list[dict[str, Any]] = field(default_factory=list)  # the items before them

    def conversation(self) -> list[dict[str, Any]]:
        """The whole conversation up to and including this response: what a continuation is sent."""
        output = self.response.get("output")
        return [*self.context, *self.inputs, *(output if isinstance(output, list) else [])]


def _aad(project_id: str, response_id: str) -> bytes:
    return b"byokgate-response\x00" + project_id.encode() + b"\x00" + response_id.encode()


class StoredResponses:
    def __init__(self, store: CacheStore, vault: Vault, snapshot: SnapshotHolder, ttl_s: float) -> None:
        self._store = store
        self._vault = vault
        self._snapshot = snapshot
        self._ttl_s = ttl_s

    async def owned(
        self, response_id: str, project_id: str, provider: str, credential_id: str | None
    ) -> None:
        """Remember who made a response the provider stores itself."""
        entry = {"project": project_id, "provider": provider, "credential": credential_id}
        await self._store.set(_PREFIX + response_id, orjson.dumps(entry), self._ttl_s)

    async def keep(self, stored: StoredResponse) -> None:
        """Keep a translated response and its conversation, sealed under the project's data key."""
        data_key = self._data_key(stored.project_id)
        if data_key is None:
            return
        plain = orjson.dumps(
            {"response": stored.response, "inputs": stored.inputs, "context": stored.context}
        )
        sealed = seal(data_key, _aad(stored.project_id, stored.response_id), plain)
        entry = {
            "project": stored.project_id,
            "provider": stored.provider,
            "credential": stored.credential_id,
            "sealed": sealed.hex(),
        }
        await self._store.set(_PREFIX + stored.response_id, orjson.dumps(entry), self._ttl_s)

    async def find(self, response_id: str, project_id: str) -> StoredResponse | None:
        """The response, when it exists and is this project's (another project's is not found)."""
        raw = await self._store.get(_PREFIX + response_id)
        if raw is None:
            return None
        try:
            entry = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(entry, dict) or entry.get("project") != project_id:
            return None
        provider, credential = str(entry.get("provider")), entry.get("credential")
        sealed = entry.get("sealed")
        if not isinstance(sealed, str):
            return StoredResponse(response_id, project_id, provider, credential, kept=False)
        data_key = self._data_key(project_id)
        if data_key is None:
            return None
        try:
            plain = orjson.loads(unseal(data_key, _aad(project_id, response_id), bytes.fromhex(sealed)))
        except (DecryptionError, ValueError):
            return None
        return StoredResponse(
            response_id,
            project_id,
            provider,
            credential,
            kept=True,
            response=plain["response"],
            inputs=plain["inputs"],
            context=plain["context"],
        )

    async def forget(self, response_id: str) -> None:
        await self._store.replace(_PREFIX + response_id, None)

    def _data_key(self, project_id: str) -> bytes | None:
        wrapped = self._snapshot.current.wrapped_data_keys.get(project_id)
        return None if wrapped is None else self._vault.unwrap(project_id, wrapped)
