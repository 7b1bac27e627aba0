"""Projects and their API keys: create a project (an admin), create a project key (shown once, with a copy
button), see each key's name, expiry and last use, revoke one. Every change is audit-logged as the signed-in
user (``user:<id>``), through the control plane's own use cases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from byokgate.admin.services import CreatedApiKey
from byokgate.domain.entities import Project
from byokgate.errors import ApiError
from byokgate.store.users import Session

if TYPE_CHECKING:
    from byokgate.dashboard.pages import Dashboard

EXPIRIES = {"": None, "30": 30, "90": 90, "365": 365}  # the form's choices: days (none: never)


class ApiKeyPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self._dashboard = dashboard
        self._control = dashboard.control

    async def page(self, request: Request, error: str | None = None) -> Response:
        access = await self._dashboard.access(request, request.path_params["project_id"], write=False)
        if isinstance(access, Response):
            return access
        session, project, writable = access
        keys = await self._control.list_api_keys(project.id)
        done = "Revoked the key." if request.query_params.get("revoked") else None
        return self._dashboard.render_project(
            "api_keys.html",
            session,
            project,
            "api-keys",
            400 if error else 200,
            keys=keys,
            writable=writable,
            now=datetime.now(UTC),
            error=error,
            notice=done,
        )

    async def create(self, request: Request) -> Response:
        change = await self._dashboard.change(request, request.path_params["project_id"])
        if isinstance(change, Response):
            return change
        session, project, form = change
        if form.get("expires", "") not in EXPIRIES:
            return await self.page(request, "Choose an expiry from the list.")
        days = EXPIRIES[form.get("expires", "")]
        expires_at = datetime.now(UTC) + timedelta(days=days) if days else None
        try:
            created = await self._control.create_api_key(
                project.id,
                name=form.get("name") or None,
                expires_at=expires_at,
                actor=f"user:{session.user.id}",
            )
        except ApiError as error:
            return await self.page(request, error.message)
        return self.shown_once(session, project, created)

    def shown_once(self, session: Session, project: Project, created: CreatedApiKey) -> Response:
        """The page that shows a new key's secret, the only time it is shown (never stored, never cached)."""
        return self._dashboard.render_project(
            "api_key_created.html",
            session,
            project,
            "api-keys",
            key=created.key,
            secret=created.plaintext.reveal(),
        )

    async def revoke(self, request: Request) -> Response:
        project_id, key_id = request.path_params["project_id"], request.path_params["key_id"]
        change = await self._dashboard.change(request, project_id)
        if isinstance(change, Response):
            return change
        session, project, _ = change
        try:
            await self._control.revoke_api_key(project.id, key_id, actor=f"user:{session.user.id}")
        except ApiError as error:
            return await self.page(request, error.message)
        return RedirectResponse(f"/dashboard/projects/{project.id}/api-keys?revoked=1", status_code=303)

    async def create_project(self, request: Request) -> Response:
        """A new project (admins only) and its first API key, shown once."""
        posted = await self._dashboard.posted(request)
        if isinstance(posted, Response):
            return posted
        session, form = posted
        if not session.user.is_admin:
            return self._dashboard.not_found()
        try:
            created = await self._control.create_project(
                form.get("name", ""), actor=f"user:{session.user.id}"
            )
        except ApiError as error:
            return await self._dashboard.projects_page(request, session, error=error.message)
        return self.shown_once(session, created.project, created.api_key)
