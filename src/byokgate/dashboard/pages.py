"""The dashboard's pages (server-rendered with Jinja2) under ``/dashboard/``; ``/`` leads to them.

Every page answers with a Content-Security-Policy that allows no inline script or style and no framing,
``X-Frame-Options: DENY`` and ``Cache-Control: no-store``. Every POST carries the CSRF token of the session
(or, for signing in, of the sign-in form's own cookie) and is refused without it.
"""

from __future__ import annotations

import re
import secrets
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from byokgate.admin.request_log import RequestLog
from byokgate.admin.services import ControlPlane
from byokgate.dashboard.api_keys import ApiKeyPages
from byokgate.dashboard.logs import LogPages
from byokgate.dashboard.members import MemberPages
from byokgate.dashboard.playground import PlaygroundPages
from byokgate.dashboard.provider_keys import ProviderKeyPages
from byokgate.dashboard.routing import RoutingPages
from byokgate.dashboard.sessions import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    Accounts,
    SignInError,
    ThrottledError,
    same,
)
from byokgate.dashboard.settings import SettingsPages
from byokgate.dashboard.usage import UsagePages
from byokgate.domain.entities import Project
from byokgate.errors import NotFoundError
from byokgate.store.users import Session

PREFIX = "/dashboard"
PROJECTS_PAGE = 50
_MAX_FORM_BYTES = 16 * 1024
_SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
_STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
_STATIC_NAME = re.compile(r"(vendor/)?[A-Za-z0-9_-][A-Za-z0-9._-]*")


class Dashboard:
    def __init__(
        self, accounts: Accounts, control: ControlPlane, log: RequestLog, *, secure_cookies: str = "auto"
    ) -> None:
        self.accounts = accounts
        self.control = control
        self._secure_always = secure_cookies == "always"
        self._templates = Environment(
            loader=PackageLoader("byokgate.dashboard", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )
        self._templates.globals["static"] = lambda name: f"{PREFIX}/static/{name}"
        self._templates.filters["slug"] = lambda text: re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-")
        keys = ProviderKeyPages(self)
        api_keys = ApiKeyPages(self)
        logs = LogPages(self, log)
        usage = UsagePages(self)
        playground = PlaygroundPages(self)
        settings = SettingsPages(self, log)
        routing = RoutingPages(self)
        members = MemberPages(self)
        project = f"{PREFIX}/projects/{{project_id}}"
        self._router = Router(
            routes=[
                Route("/", self._root, methods=["GET"]),
                Route(f"{PREFIX}/", self._projects, methods=["GET"]),
                Route(f"{PREFIX}/sign-in", self._sign_in_page, methods=["GET"]),
                Route(f"{PREFIX}/sign-in", self._sign_in, methods=["POST"]),
                Route(f"{PREFIX}/sign-out", self._sign_out, methods=["POST"]),
                Route(f"{PREFIX}/account/password", self._password_page, methods=["GET"]),
                Route(f"{PREFIX}/account/password", self._change_password, methods=["POST"]),
                Route(f"{PREFIX}/projects", api_keys.create_project, methods=["POST"]),
                Route(f"{project}/requests", logs.requests, methods=["GET"]),
                Route(f"{project}/{{log:str}}/export", logs.export, methods=["GET"]),
                Route(f"{project}/requests/{{request_id}}", logs.trace, methods=["GET"]),
                Route(f"{project}/audit", logs.audit, methods=["GET"]),
                Route(f"{project}/api-keys", api_keys.page, methods=["GET"]),
                Route(f"{project}/api-keys", api_keys.create, methods=["POST"]),
                Route(f"{project}/api-keys/{{key_id}}/revoke", api_keys.revoke, methods=["POST"]),
                Route(f"{project}/provider-keys", keys.page, methods=["GET"]),
                Route(f"{project}/provider-keys/{{provider}}", keys.submit, methods=["POST"]),
                Route(f"{project}/provider-keys/{{provider}}/delete", keys.delete, methods=["POST"]),
                Route(f"{project}/provider-keys/{{provider}}/pool", keys.pool, methods=["POST"]),
                Route(f"{project}/usage", usage.page, methods=["GET"]),
                Route(f"{project}/playground", playground.page, methods=["GET"]),
                Route(f"{project}/playground/key", playground.key, methods=["POST"]),
                Route(f"{project}/routing", routing.page, methods=["GET"]),
                Route(f"{project}/routing", routing.save, methods=["POST"]),
                Route(f"{project}/routing/delete", routing.delete, methods=["POST"]),
                Route(f"{project}/routing/apply", routing.apply, methods=["POST"]),
                Route(f"{project}/members", members.members, methods=["GET"]),
                Route(f"{project}/members", members.set_member, methods=["POST"]),
                Route(f"{PREFIX}/users", members.users, methods=["GET"]),
                Route(f"{PREFIX}/users", members.create_user, methods=["POST"]),
                Route(f"{PREFIX}/users/{{user_id}}", members.change_user, methods=["POST"]),
                Route(f"{project}/settings", settings.page, methods=["GET"]),
                Route(f"{project}/settings/{{section}}", settings.submit, methods=["POST"]),
                Route(f"{PREFIX}/static/{{name:path}}", self._static, methods=["GET"]),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._router(scope, receive, send)

    # Rendering and the session

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        body = self._templates.get_template(template).render(**context)
        return HTMLResponse(body, status_code=status, headers=_SECURITY_HEADERS)

    def render_project(
        self, template: str, session: Session, project: Project, tab: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """A page of a project (its tabs in ``_project_nav.html``)."""
        return self.render(
            template,
            status,
            user=session.user,
            csrf=session.csrf_token,
            page="projects",
            tab=tab,
            project=project,
            **context,
        )

    def _secure(self, request: Request) -> bool:
        return self._secure_always or request.url.scheme == "https"

    async def signed_in(self, request: Request) -> Session | None:
        return await self.accounts.session(request.cookies.get(SESSION_COOKIE))

    async def access(
        self, request: Request, project_id: str, *, write: bool
    ) -> tuple[Session, Project, bool] | Response:
        """The session, the project and whether the user may change it; or the answer instead: sign in,
        or 404 for a project the user may not see (never telling whether it exists), 403 for a read-only
        member's change."""
        session = await self.signed_in(request)
        if session is None:
            return self.to_sign_in(request)
        role = "write" if session.user.is_admin else await self._role(session, project_id)
        if role is None:
            return self.not_found()
        if write and role != "write":
            return self.forbidden(session, "You can see this project but not change it.", "Read only")
        try:
            project = await self.control.get_project(project_id)
        except NotFoundError:
            return self.not_found()
        return session, project, role == "write"

    async def _role(self, session: Session, project_id: str) -> str | None:
        async with self.control.store.transaction() as tx:
            return await tx.users.role(session.user.id, project_id)

    async def posted(self, request: Request) -> tuple[Session, dict[str, str]] | Response:
        """A signed-in user's form: the session and the form's fields; or the answer instead (sign in, or
        the refusal of a form without the session's CSRF token)."""
        session = await self.signed_in(request)
        if session is None:
            return self.to_sign_in(request)
        try:
            form = await self._form(request)
        except SignInError:
            return self.refused()
        if not same(session.csrf_token, form.get("csrf")):
            return self.refused()
        return session, form

    async def change(
        self, request: Request, project_id: str
    ) -> tuple[Session, Project, dict[str, str]] | Response:
        """A form that changes a project: the session, the project and the form's fields; or the answer
        instead (sign in, 404, 403 for a read-only member, or the refusal of a form without its token)."""
        access = await self.access(request, project_id, write=True)
        if isinstance(access, Response):
            return access
        posted = await self.posted(request)
        if isinstance(posted, Response):
            return posted
        session, project, _ = access
        return session, project, posted[1]

    def forbidden(self, session: Session, message: str, title: str = "Not allowed") -> Response:
        return self.render(
            "message.html", 403, user=session.user, csrf=session.csrf_token, title=title, message=message
        )

    def not_found(self) -> Response:
        return HTMLResponse(
            "<!doctype html><title>Not found</title><p>There is no such page. "
            '<a href="/dashboard/">Projects</a></p>',
            status_code=404,
            headers=_SECURITY_HEADERS,
        )

    @staticmethod
    def to_sign_in(request: Request | None = None) -> Response:
        """To the sign-in page; a partial update (htmx's ``HX-Request``) is told to load it as a whole page
        (following a redirect, it would swap a part of the sign-in page into the page it updates)."""
        if request is not None and request.headers.get("hx-request") == "true":
            headers = {**_SECURITY_HEADERS, "hx-redirect": f"{PREFIX}/sign-in"}
            return Response(status_code=204, headers=headers)
        return RedirectResponse(f"{PREFIX}/sign-in", status_code=303, headers=_SECURITY_HEADERS)

    @staticmethod
    async def _form(request: Request) -> dict[str, str]:
        """An urlencoded form's fields (the first value of each); a larger body than any form is refused."""
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > _MAX_FORM_BYTES:
                raise SignInError("That form is larger than any this dashboard sends.")
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=64)
        return {name: values[0] for name, values in fields.items()}

    def refused(self) -> Response:
        """A POST without the right CSRF token: an old page, or another site's form."""
        return HTMLResponse(
            "<!doctype html><title>Refused</title><p>This form has expired. Go back, reload the page and "
            "try again.</p>",
            status_code=403,
            headers=_SECURITY_HEADERS,
        )

    # Pages

    async def _root(self, request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=303, headers=_SECURITY_HEADERS)

    async def _sign_in_page(
        self, request: Request, error: SignInError | None = None, email: str = ""
    ) -> Response:
        if error is None and await self.signed_in(request) is not None:
            return RedirectResponse(f"{PREFIX}/", status_code=303, headers=_SECURITY_HEADERS)
        token = secrets.token_urlsafe(32)
        status = 200 if error is None else 429 if isinstance(error, ThrottledError) else 400
        message = str(error) if error is not None else None
        response = self.render("sign_in.html", status, csrf=token, error=message, email=email, user=None)
        response.set_cookie(
            PRESESSION_COOKIE,
            token,
            max_age=3600,
            httponly=True,
            samesite="strict",
            secure=self._secure(request),
            path=f"{PREFIX}/sign-in",
        )
        return response

    async def _sign_in(self, request: Request) -> Response:
        try:
            form = await self._form(request)
        except SignInError:
            return self.refused()
        if not same(request.cookies.get(PRESESSION_COOKIE, ""), form.get("csrf")) or not form.get("csrf"):
            return self.refused()
        email = form.get("email", "")
        client = request.client.host if request.client else "unknown"
        try:
            token = await self.accounts.sign_in(email, form.get("password", ""), client)
        except SignInError as exc:
            return await self._sign_in_page(request, exc, email)
        response = RedirectResponse(f"{PREFIX}/", status_code=303, headers=_SECURITY_HEADERS)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=self.accounts.lifetime_s,
            httponly=True,
            samesite="lax",
            secure=self._secure(request),
            path="/",
        )
        response.delete_cookie(PRESESSION_COOKIE, path=f"{PREFIX}/sign-in")
        return response

    async def _sign_out(self, request: Request) -> Response:
        posted = await self.posted(request)
        if isinstance(posted, Response):
            return posted
        await self.accounts.sign_out(posted[0])
        response = self.to_sign_in()
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def _projects(self, request: Request) -> Response:
        session = await self.signed_in(request)
        if session is None:
            return self.to_sign_in(request)
        return await self.projects_page(request, session)

    async def projects_page(self, request: Request, session: Session, error: str | None = None) -> Response:
        """The projects the user can see, by id in pages of ``PROJECTS_PAGE`` (``?after=`` the last seen)."""
        deleted = request.query_params.get("deleted") == "1"
        after = request.query_params.get("after") or None
        member = None if session.user.is_admin else session.user.id
        found = await self.control.list_projects(limit=PROJECTS_PAGE + 1, after=after, member=member)
        projects = found[:PROJECTS_PAGE]
        following = projects[-1].id if len(found) > PROJECTS_PAGE else None
        return self.render(
            "projects.html",
            400 if error else 200,
            user=session.user,
            csrf=session.csrf_token,
            page="projects",
            projects=projects,
            following=following,
            paged=after is not None,
            error=error,
            notice="Deleted the project." if deleted and not error else None,
        )

    async def _password_page(self, request: Request) -> Response:
        session = await self.signed_in(request)
        if session is None:
            return self.to_sign_in(request)
        return self.render("password.html", user=session.user, csrf=session.csrf_token, page="password")

    async def _change_password(self, request: Request) -> Response:
        posted = await self.posted(request)
        if isinstance(posted, Response):
            return posted
        session, form = posted
        try:
            await self.accounts.change_password(session, form.get("current", ""), form.get("new", ""))
        except SignInError as exc:
            field = exc.field or "new"
            return self.render(
                "password.html",
                400,
                user=session.user,
                csrf=session.csrf_token,
                page="password",
                error=str(exc),
                error_field=field,
            )
        response = self.to_sign_in()
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def _static(self, request: Request) -> Response:
        """The package's own files (``static/``, vendored libraries under ``static/vendor/``)."""
        name = request.path_params["name"]
        suffix = name[name.rfind(".") :] if "." in name else ""
        if not _STATIC_NAME.fullmatch(name) or suffix not in _STATIC_TYPES:
            return Response(status_code=404)
        resource = resources.files("byokgate.dashboard").joinpath("static", *name.split("/"))
        if not resource.is_file():
            return Response(status_code=404)
        headers = {**_SECURITY_HEADERS, "cache-control": "public, max-age=3600"}
        return Response(resource.read_bytes(), media_type=_STATIC_TYPES[suffix], headers=headers)
