"""Projects and their wrapped data keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.entities import Project, ProjectKeyMaterial
from byokgate.store.tables import project_members, projects

_VIEW = (projects.c.id, projects.c.name, projects.c.created_at, projects.c.updated_at)

DaysSetting = Literal["log_retention_days", "log_bodies_days"]


def _project(row: Any) -> Project:
    return Project(id=row[0], name=row[1], created_at=row[2], updated_at=row[3])


class ProjectRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(self, project: Project, material: ProjectKeyMaterial) -> None:
        await self._conn.execute(
            projects.insert().values(
                id=project.id,
                name=project.name,
                wrapped_data_key=material.wrapped_data_key,
                master_key_id=material.master_key_id,
                created_at=project.created_at,
                updated_at=project.updated_at,
            )
        )

    async def get(self, project_id: str) -> Project | None:
        row = (await self._conn.execute(select(*_VIEW).where(projects.c.id == project_id))).first()
        return _project(row) if row else None

    async def page(self, *, limit: int, after: str | None = None, member: str | None = None) -> list[Project]:
        """Projects by id (``after``: the last one seen); ``member``: only those the user is a member of."""
        query = select(*_VIEW).order_by(projects.c.id).limit(limit)
        if after is not None:
            query = query.where(projects.c.id > after)
        if member is not None:
            query = query.join(project_members, project_members.c.project_id == projects.c.id).where(
                project_members.c.user_id == member
            )
        return [_project(row) for row in await self._conn.execute(query)]

    async def rename(self, project_id: str, name: str, now: datetime) -> Project | None:
        await self._conn.execute(
            update(projects).where(projects.c.id == project_id).values(name=name, updated_at=now)
        )
        return await self.get(project_id)

    async def shred_and_delete(self, project_id: str) -> bool:
        """Overwrite the wrapped data key, then delete the row (credentials cascade)."""
        await self._conn.execute(
            update(projects)
            .where(projects.c.id == project_id)
            .values(wrapped_data_key=b"\x00" * 64, master_key_id="shredded")
        )
        result = await self._conn.execute(delete(projects).where(projects.c.id == project_id))
        return result.rowcount > 0

    async def key_material(self, project_id: str) -> ProjectKeyMaterial | None:
        row = (
            await self._conn.execute(
                select(projects.c.wrapped_data_key, projects.c.master_key_id).where(
                    projects.c.id == project_id
                )
            )
        ).first()
        return ProjectKeyMaterial(project_id, row[0], row[1]) if row else None

    async def key_material_not_under(self, master_key_id: str, *, limit: int) -> list[ProjectKeyMaterial]:
        rows = await self._conn.execute(
            select(projects.c.id, projects.c.wrapped_data_key, projects.c.master_key_id)
            .where(projects.c.master_key_id != master_key_id)
            .order_by(projects.c.id)
            .limit(limit)
        )
        return [ProjectKeyMaterial(row[0], row[1], row[2]) for row in rows]

    async def rewrap(self, material: ProjectKeyMaterial, new: ProjectKeyMaterial) -> bool:
        """Compare-and-set: only replaces the wrapped key if nobody changed it meanwhile."""
        result = await self._conn.execute(
            update(projects)
            .where(projects.c.id == material.project_id)
            .where(projects.c.wrapped_data_key == material.wrapped_data_key)
            .values(wrapped_data_key=new.wrapped_data_key, master_key_id=new.master_key_id)
        )
        return result.rowcount == 1

    async def master_key_usage(self) -> dict[str, int]:
        rows = await self._conn.execute(
            select(projects.c.master_key_id, func.count()).group_by(projects.c.master_key_id)
        )
        return {row[0]: row[1] for row in rows}

    async def sample_key_material(self, master_key_ids: Sequence[str]) -> list[ProjectKeyMaterial]:
        """One wrapped data key per master key id, to check the keyring at start-up."""
        found: list[ProjectKeyMaterial] = []
        for key_id in master_key_ids:
            row = (
                await self._conn.execute(
                    select(projects.c.id, projects.c.wrapped_data_key, projects.c.master_key_id)
                    .where(projects.c.master_key_id == key_id)
                    .limit(1)
                )
            ).first()
            if row:
                found.append(ProjectKeyMaterial(row[0], row[1], row[2]))
        return found

    async def all_key_material(self) -> list[ProjectKeyMaterial]:
        rows = await self._conn.execute(
            select(projects.c.id, projects.c.wrapped_data_key, projects.c.master_key_id)
        )
        return [ProjectKeyMaterial(row[0], row[1], row[2]) for row in rows]

    async def log_retention(self) -> dict[str, int | None]:
        """Every project's own request-log retention in days (None: the gateway's default)."""
        rows = await self._conn.execute(select(projects.c.id, projects.c.log_retention_days))
        return {row[0]: row[1] for row in rows}

    async def log_bodies(self) -> dict[str, int]:
        """The projects that keep request bodies, and for how many days."""
        rows = await self._conn.execute(
            select(projects.c.id, projects.c.log_bodies_days).where(projects.c.log_bodies_days.is_not(None))
        )
        return {row[0]: row[1] for row in rows}

    async def set_days(self, project_id: str, setting: DaysSetting, days: int | None, now: datetime) -> bool:
        """One of the project's retention settings in days (``log_retention_days``, ``log_bodies_days``)."""
        result = await self._conn.execute(
            update(projects).where(projects.c.id == project_id).values({setting: days, "updated_at": now})
        )
        return bool(result.rowcount)
