"""Who may use the dashboard: the gateway's users (admins create, promote and delete them) and each project's
members (read: sees the project; write: changes it). Members see who else is in their project; only admins
change users and memberships. Every change is audit-logged as the signed-in admin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from byokgate.dashboard.sessions import SignInError
from byokgate.store.users import Session

if TYPE_CHECKING:
    from byokgate.dashboard.pages import Dashboard

ROLES = ("read", "write")
DONE = {
    "created": "Created the user. Give them their password: they can change it once signed in.",
    "deleted": "Deleted the user.",
    "admin": "Changed the user's admin role.",
    "member": "Changed the membership.",
}


class MemberPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self._dashboard = dashboard
        self._accounts = dashboard.accounts

    # The gateway's users (admins only)

    async def users(self, request: Request) -> Response:
        session = await self._dashboard.signed_in(request)
        if session is None:
            return self._dashboard.to_sign_in(request)
        if not session.user.is_admin:
            return self._dashboard.forbidden(session, "Only a gateway admin can see the users.")
        return await self._users_page(session, notice=DONE.get(request.query_params.get("done", "")))

    async def _users_page(
        self,
        session: Session,
        *,
        notice: str | None = None,
        errors: dict[str, str] | None = None,
        typed: dict[str, str] | None = None,
    ) -> Response:
        return self._dashboard.render(
            "users.html",
            400 if errors else 200,
            user=session.user,
            csrf=session.csrf_token,
            page="users",
            users=await self._accounts.users(),
            notice=notice,
            errors=errors or {},
            typed=typed or {},
        )

    async def _admin_form(self, request: Request) -> tuple[Session, dict[str, str]] | Response:
        posted = await self._dashboard.posted(request)
        if isinstance(posted, Response):
            return posted
        if not posted[0].user.is_admin:
            return self._dashboard.forbidden(posted[0], "Only a gateway admin can do that.")
        return posted

    async def create_user(self, request: Request) -> Response:
        posted = await self._admin_form(request)
        if isinstance(posted, Response):
            return posted
        session, form = posted
        try:
            await self._accounts.create_user(
                form.get("email", ""),
                form.get("password", ""),
                admin="admin" in form,
                actor=f"user:{session.user.id}",
            )
        except SignInError as exc:
            field = exc.field or "email"
            typed = {"email": form.get("email", ""), "admin": "on" if "admin" in form else ""}
            return await self._users_page(session, errors={field: str(exc)}, typed=typed)
        return RedirectResponse("/dashboard/users?done=created", 303)

    async def change_user(self, request: Request) -> Response:
        """``action``: ``delete``, ``admin`` or ``not-admin``, for the user in the path."""
        posted = await self._admin_form(request)
        if isinstance(posted, Response):
            return posted
        session, form = posted
        user_id, action = request.path_params["user_id"], form.get("action")
        try:
            if action == "delete":
                await self._accounts.remove_user(user_id, by=session.user)
            elif action in ("admin", "not-admin"):
                await self._accounts.set_admin(user_id, action == "admin", by=session.user)
            else:
                return self._dashboard.not_found()
        except SignInError as exc:
            return await self._users_page(session, errors={"list": str(exc)})
        return RedirectResponse(f"/dashboard/users?done={'deleted' if action == 'delete' else 'admin'}", 303)

    # A project's members

    async def members(
        self, request: Request, errors: dict[str, str] | None = None, typed: dict[str, str] | None = None
    ) -> Response:
        access = await self._dashboard.access(request, request.path_params["project_id"], write=False)
        if isinstance(access, Response):
            return access
        session, project, _ = access
        members = await self._accounts.members(project.id)
        return self._dashboard.render_project(
            "members.html",
            session,
            project,
            "members",
            400 if errors else 200,
            members=members,
            admin=session.user.is_admin,
            roles=ROLES,
            errors=errors or {},
            typed=typed or {},
            notice=DONE.get(request.query_params.get("done", "")),
        )

    async def set_member(self, request: Request) -> Response:
        """Add a member by email, change their role, or (role ``none``) take their membership away."""
        project_id = request.path_params["project_id"]
        access = await self._dashboard.access(request, project_id, write=True)
        if isinstance(access, Response):
            return access
        posted = await self._admin_form(request)
        if isinstance(posted, Response):
            return posted
        session, form = posted
        role = form.get("role", "")
        try:
            await self._accounts.set_member(
                form.get("email", ""),
                project_id,
                None if role == "none" else role,
                actor=f"user:{session.user.id}",
            )
        except SignInError as exc:
            field = exc.field or "email"
            return await self.members(request, errors={field: str(exc)}, typed=form)
        return RedirectResponse(f"/dashboard/projects/{project_id}/members?done=member", 303)
