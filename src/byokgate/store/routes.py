"""Per-project routes, stored as their JSON form (read back through ``domain.routes.route_from``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.domain.routes import RouteConfig, route_from
from byokgate.store.tables import project_routes as t


class RouteRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def list_for_project(self, project_id: str) -> list[RouteConfig]:
        rows = await self._conn.execute(select(t).where(t.c.project_id == project_id).order_by(t.c.name))
        return [route_from(row.config, row.name) for row in rows]

    async def put(self, project_id: str, route: RouteConfig, now: datetime) -> RouteConfig | None:
        """Create or replace the route named ``route.name``; the one replaced, if any."""
        old = await self.delete(project_id, route.name)
        values = {"project_id": project_id, "name": route.name, "config": route.as_json(), "updated_at": now}
        await self._conn.execute(insert(t).values(**values))
        return old

    async def delete(self, project_id: str, name: str) -> RouteConfig | None:
        query = select(t).where(t.c.project_id == project_id, t.c.name == name)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        await self._conn.execute(delete(t).where(t.c.project_id == project_id, t.c.name == name))
        return route_from(row.config, row.name)

    async def all(self) -> dict[str, list[RouteConfig]]:
        found: dict[str, list[RouteConfig]] = {}
        for row in await self._conn.execute(select(t).order_by(t.c.project_id, t.c.name)):
            found.setdefault(row.project_id, []).append(route_from(row.config, row.name))
        return found
