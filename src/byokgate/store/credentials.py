"""Provider credentials: ciphertext, masked view and non-secret fields, one per project and provider."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.entities import ProviderCredential
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
    )


class CredentialRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def replace(self, credential: ProviderCredential) -> ProviderCredential | None:
        """Store the credential, replacing any for the same project and provider; returns the old one."""
        old = await self.get(credential.project_id, credential.provider)
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
            )
        )
        return old

    async def get(self, project_id: str, provider: str) -> ProviderCredential | None:
        query = select(*_VIEW).where(t.c.project_id == project_id, t.c.provider == provider)
        row = (await self._conn.execute(query)).first()
        return _credential(row) if row else None

    async def list_for_project(self, project_id: str) -> list[ProviderCredential]:
        query = select(*_VIEW).where(t.c.project_id == project_id).order_by(t.c.provider)
        return [_credential(row) for row in await self._conn.execute(query)]

    async def list_all(self) -> list[ProviderCredential]:
        return [_credential(row) for row in await self._conn.execute(select(*_VIEW))]

    async def delete(self, project_id: str, provider: str) -> ProviderCredential | None:
        old = await self.get(project_id, provider)
        if old is not None:
            await self._conn.execute(delete(t).where(t.c.id == old.id))
        return old
