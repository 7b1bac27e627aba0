"""Provider credentials: ciphertext, masked view and non-secret fields; a pool of named keys per project
and provider (name, weight, state)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.entities import DEFAULT_KEY_NAME, ProviderCredential
from byokgate.store.bulk import touch_last_used
from byokgate.store.tables import provider_credentials as t

_VIEW = (
    t.c.id,
    t.c.project_id,
    t.c.provider,
    t.c.masked,
    t.c.ciphertext,
    t.c.created_at,
    t.c.updated_at,
    t.c.fields,
    t.c.name,
    t.c.weight,
    t.c.state,
    t.c.last_used_at,
)


def _credential(row: Any) -> ProviderCredential:
    return ProviderCredential(
        id=row.id,
        project_id=row.project_id,
        provider=row.provider,
        masked=row.masked,
        ciphertext=row.ciphertext,
        created_at=row.created_at,
        updated_at=row.updated_at,
        fields=row.fields or {},
        name=row.name,
        weight=row.weight,
        state=row.state,
        last_used_at=row.last_used_at,
    )


class CredentialRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def replace(self, credential: ProviderCredential) -> ProviderCredential | None:
        """Store the credential, replacing the pool's key of the same name; returns the old one."""
        old = await self.get(credential.project_id, credential.provider, credential.name)
        if old is not None:
            await self._conn.execute(delete(t).where(t.c.id == old.id))
        await self._conn.execute(
            t.insert().values(
                id=credential.id,
                project_id=credential.project_id,
                provider=credential.provider,
                ciphertext=credential.ciphertext,
                masked=credential.masked,
                created_at=credential.created_at,
                updated_at=credential.updated_at,
                fields=dict(credential.fields) or None,
                name=credential.name,
                weight=credential.weight,
                state=credential.state,
            )
        )
        return old

    async def update(self, credential: ProviderCredential) -> None:
        """Save a key's weight and state (the secret is not touched)."""
        await self._conn.execute(
            update(t)
            .where(t.c.id == credential.id)
            .values(weight=credential.weight, state=credential.state, updated_at=credential.updated_at)
        )

    async def touch_last_used(self, used: Mapping[str, datetime]) -> None:
        """Batch update of last-used times by credential id; never moves a time backwards."""
        await touch_last_used(self._conn, t, used)

    async def get(
        self, project_id: str, provider: str, name: str = DEFAULT_KEY_NAME
    ) -> ProviderCredential | None:
        query = select(*_VIEW).where(t.c.project_id == project_id, t.c.provider == provider, t.c.name == name)
        row = (await self._conn.execute(query)).first()
        return _credential(row) if row else None

    async def list_for_project(self, project_id: str) -> list[ProviderCredential]:
        query = select(*_VIEW).where(t.c.project_id == project_id).order_by(t.c.provider, t.c.name)
        return [_credential(row) for row in await self._conn.execute(query)]

    async def list_all(self) -> list[ProviderCredential]:
        query = select(*_VIEW).order_by(t.c.project_id, t.c.provider, t.c.name)
        return [_credential(row) for row in await self._conn.execute(query)]

    async def delete(
        self, project_id: str, provider: str, name: str | None = None
    ) -> list[ProviderCredential]:
        """Delete the pool's key ``name``, or (None) every key of the pool; the keys deleted."""
        query = select(*_VIEW).where(t.c.project_id == project_id, t.c.provider == provider)
        if name is not None:
            query = query.where(t.c.name == name)
        removed = [_credential(row) for row in await self._conn.execute(query)]
        if removed:
            await self._conn.execute(delete(t).where(t.c.id.in_([old.id for old in removed])))
        return removed
