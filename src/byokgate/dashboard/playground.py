"""The playground: send a prompt through the real data plane with one of the project's API keys and watch the
streamed answer, with what the gateway did (lane, provider, routed model, routing reason, cache, cost) and a
link to the request's trace.

The page's script (``static/playground.js``) calls ``/v1/models`` and ``/v1/chat/completions`` itself, same
origin, with a project key it holds in memory only: one pasted in, or a new one made here for the purpose
(named "playground", expiring after a day, audit-logged like any other key). The gateway never keeps a
project key's secret, so it has none to lend the page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from byokgate.dashboard.sessions import same
from byokgate.errors import ApiError

if TYPE_CHECKING:
    from byokgate.dashboard.pages import Dashboard

KEY_NAME = "playground"
KEY_LIFETIME = timedelta(days=1)


class PlaygroundPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self._dashboard = dashboard

    async def page(self, request: Request) -> Response:
        access = await self._dashboard.access(request, request.path_params["project_id"], write=False)
        if isinstance(access, Response):
            return access
        session, project, writable = access
        return self._dashboard.render_project(
            "playground.html",
            session,
            project,
            "playground",
            writable=writable,
        )

    async def key(self, request: Request) -> Response:
        """A new playground key for the page's script (the CSRF token comes in ``x-csrf-token``)."""
        access = await self._dashboard.access(request, request.path_params["project_id"], write=True)
        if isinstance(access, Response):
            return access
        session, project, _ = access
        if not same(session.csrf_token, request.headers.get("x-csrf-token")):
            return self._dashboard.refused()
        try:
            created = await self._dashboard.control.create_api_key(
                project.id,
                name=KEY_NAME,
                expires_at=datetime.now(UTC) + KEY_LIFETIME,
                actor=f"user:{session.user.id}",
            )
        except ApiError as error:
            return JSONResponse({"error": error.message}, status_code=error.status)
        expires = created.key.expires_at
        body = {
            "key": created.plaintext.reveal(),
            "id": created.key.id,
            "expires_at": expires.isoformat() if expires else None,
        }
        return JSONResponse(body, headers={"cache-control": "no-store"})
