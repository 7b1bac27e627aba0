"""Project Settings -> Provider Keys: one row per provider the gateway supports, its stored keys (masked),
a form to test a key (without storing it) or save it, and delete.

A key typed into the form goes to the gateway once and never comes back: the field is never filled in, not
even masked, and no message repeats it. Saving and deleting are audit-logged as the signed-in user
(``user:<id>``), like the admin API's changes; testing asks the provider's model list with the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from byokgate.domain.entities import Project, ProviderCredential
from byokgate.domain.secret import Secret
from byokgate.domain.upstream import KeyCheckOutcome
from byokgate.errors import ApiError
from byokgate.store.users import Session

if TYPE_CHECKING:
    from byokgate.dashboard.pages import Dashboard

_TESTED = {
    KeyCheckOutcome.VALID: "{title} accepted this key.",
    KeyCheckOutcome.INVALID: "{title} rejected this key ({detail}).",
    KeyCheckOutcome.UNREACHABLE: "{title} could not be reached ({detail}); the key was not checked.",
}


@dataclass(frozen=True, slots=True)
class ProviderRow:
    name: str
    title: str
    keys: list[ProviderCredential]
    needs_fields: bool  # its keys carry settings this form does not take yet (e.g. an endpoint)


class ProviderKeyPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self._dashboard = dashboard
        self._control = dashboard.control

    def _rows(self, stored: list[ProviderCredential]) -> list[ProviderRow]:
        registry = self._control.registry
        rows = []
        for name in registry.byok_names:
            adapter = registry[name]
            keys = [credential for credential in stored if credential.provider == name]
            needs = any(field.required for field in adapter.key_fields)
            rows.append(ProviderRow(name, adapter.title, keys, needs))
        return rows

    async def page(
        self, request: Request, notice: str | None = None, error: tuple[str, str] | None = None
    ) -> Response:
        """``error``: (provider, message) shown next to that provider's form."""
        access = await self._dashboard.access(request, request.path_params["project_id"], write=False)
        if isinstance(access, Response):
            return access
        session, project, writable = access
        stored = await self._control.list_provider_keys(project.id)
        notice = notice or self.done(request)
        status = 400 if error else 200
        return self._dashboard.render_project(
            "provider_keys.html",
            session,
            project,
            "provider-keys",
            status,
            rows=self._rows(stored),
            writable=writable,
            notice=notice,
            error=error,
        )

    async def _change(self, request: Request) -> tuple[Session, Project, dict[str, str], str] | Response:
        """A form that changes one provider's keys: ``Dashboard.change``'s, and the provider."""
        provider = request.path_params["provider"]
        change = await self._dashboard.change(request, request.path_params["project_id"])
        if isinstance(change, Response):
            return change
        if provider not in self._control.registry.byok_names:
            return self._dashboard.not_found()
        return (*change, provider)

    async def submit(self, request: Request) -> Response:
        """Test or save the key typed for a provider."""
        change = await self._change(request)
        if isinstance(change, Response):
            return change
        session, project, form, provider = change
        title = self._control.registry[provider].title
        typed = form.get("api_key", "").strip()
        if not typed:
            return await self.page(request, error=(provider, f"Type the {title} key first."))
        secret = Secret(typed)
        try:
            if form.get("action") == "test":
                check = await self._control.verify_key(provider, secret)
                message = _TESTED[check.outcome].format(title=title, detail=check.detail)
                if check.outcome is not KeyCheckOutcome.VALID:
                    return await self.page(request, error=(provider, message))
                return await self.page(request, notice=message + " It is not saved yet.")
            await self._control.set_provider_key(
                project.id, provider, secret, actor=f"user:{session.user.id}"
            )
        except ApiError as error:  # the format is wrong, the provider refused it, ...: never the key itself
            return await self.page(request, error=(provider, error.message))
        return self._back(project.id, "saved", provider)

    async def delete(self, request: Request) -> Response:
        change = await self._change(request)
        if isinstance(change, Response):
            return change
        session, project, form, provider = change
        try:
            await self._control.delete_provider_key(
                project.id, provider, actor=f"user:{session.user.id}", name=form.get("name") or None
            )
        except ApiError as error:
            return await self.page(request, error=(provider, error.message))
        return self._back(project.id, "deleted", provider)

    @staticmethod
    def _back(project_id: str, done: str, provider: str) -> Response:
        """After a change: back to the page (a reload does not post again), what was done in the query."""
        return RedirectResponse(f"/dashboard/projects/{project_id}/provider-keys?{done}={provider}", 303)

    def done(self, request: Request) -> str | None:
        """The notice for a change just made (``?saved=openai``): fixed words, never text from the URL."""
        registry = self._control.registry
        for done, words in (("saved", "Saved the {} key."), ("deleted", "Deleted the {} key.")):
            provider = request.query_params.get(done, "")
            if provider in registry.byok_names:
                return words.format(registry[provider].title)
        return None
