"""Project Settings -> Provider Keys: one row per provider the gateway supports, with its pool of stored
keys (masked; name, weight, state, last use, and the data plane's cooldown or breaker on each), a form to
test a key (without storing it) or save it, with the settings the provider's keys carry (an endpoint, ...),
and a key's weight, state and deletion.

A key typed into the form goes to the gateway once and never comes back: the field is never filled in, not
even masked, and no message repeats it. Saving and deleting are audit-logged as the signed-in user
(``user:<id>``), like the admin API's changes; testing asks the provider's model list with the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from byokgate.domain.entities import DEFAULT_KEY_NAME, Project, ProviderCredential
from byokgate.domain.secret import Secret
from byokgate.domain.upstream import KeyCheckOutcome
from byokgate.errors import ApiError, InvalidRequestError
from byokgate.health.keys import Cooldown
from byokgate.providers.base import KeyField
from byokgate.providers.keyformat import KeyFieldError, check_fields
from byokgate.store.users import Session

if TYPE_CHECKING:
    from byokgate.dashboard.pages import Dashboard

_TESTED = {
    KeyCheckOutcome.VALID: "{title} accepted this key.",
    KeyCheckOutcome.INVALID: "{title} rejected this key ({detail}).",
    KeyCheckOutcome.UNREACHABLE: "{title} could not be reached ({detail}); the key was not checked.",
}


@dataclass(frozen=True, slots=True)
class KeyView:
    credential: ProviderCredential
    health: list[str]  # the data plane's view now: cooldowns, an open breaker (empty: usable)


@dataclass(frozen=True, slots=True)
class ProviderRow:
    name: str
    title: str
    keys: list[KeyView]
    fields: tuple[KeyField, ...]  # the settings its keys carry (an endpoint, an API version, ...)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused form: the provider's row, the field (``api_key``, ``name``, ``fields.endpoint``, ...)."""

    provider: str
    field: str
    message: str


class ProviderKeyPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self._dashboard = dashboard
        self._control = dashboard.control

    def _rows(self, stored: list[ProviderCredential]) -> list[ProviderRow]:
        registry = self._control.registry
        rows = []
        for name in registry.byok_names:
            adapter = registry[name]
            keys = [self._view(c) for c in stored if c.provider == name]
            rows.append(ProviderRow(name, adapter.title, keys, adapter.key_fields))
        return rows

    def _view(self, credential: ProviderCredential) -> KeyView:
        health = [_cooldown(c) for c in self._control.key_health.cooldowns(credential.id)]
        breaker = self._control.breakers.view().get(f"key:{credential.id}")
        if breaker is not None:
            health.append(f"circuit breaker {breaker.state} after {breaker.consecutive} failures")
        return KeyView(credential, health)

    async def page(
        self, request: Request, notice: str | None = None, error: Refusal | None = None
    ) -> Response:
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
        """Test or save the key typed for a provider (with its settings, under a name in the pool)."""
        change = await self._change(request)
        if isinstance(change, Response):
            return change
        session, project, form, provider = change
        adapter = self._control.registry[provider]
        title = adapter.title
        typed = form.get("api_key", "").strip()
        if not typed:
            return await self.page(
                request, error=Refusal(provider, "api_key", f"Type the {title} key first.")
            )
        secret = Secret(typed)
        try:
            fields = check_fields(adapter, _fields_of(adapter.key_fields, form))
            if form.get("action") == "test":
                check = await self._control.verify_key(provider, secret, fields)
                message = _TESTED[check.outcome].format(title=title, detail=check.detail)
                if check.outcome is not KeyCheckOutcome.VALID:
                    return await self.page(request, error=Refusal(provider, "api_key", message))
                return await self.page(request, notice=message + " It is not saved yet.")
            await self._control.set_provider_key(
                project.id,
                provider,
                secret,
                actor=f"user:{session.user.id}",
                fields=fields,
                name=form.get("name", "").strip() or DEFAULT_KEY_NAME,
            )
        except KeyFieldError as error:
            return await self.page(request, error=Refusal(provider, f"fields.{error.field}", str(error)))
        except ApiError as error:  # the format is wrong, the provider refused it, ...: never the key itself
            param = error.param or ""
            field = param if param == "name" or param.startswith("fields.") else "api_key"
            return await self.page(request, error=Refusal(provider, field, error.message))
        return self._back(project.id, "saved", provider)

    async def pool(self, request: Request) -> Response:
        """A pool key's weight and state (active or disabled)."""
        change = await self._change(request)
        if isinstance(change, Response):
            return change
        session, project, form, provider = change
        name = form.get("name", "")
        weight_text = form.get("weight", "").strip()
        try:
            if weight_text and not weight_text.isdigit():
                raise InvalidRequestError("weight: an integer from 0 to 1000", param="weight")
            await self._control.update_provider_key(
                project.id,
                provider,
                name,
                actor=f"user:{session.user.id}",
                weight=int(weight_text) if weight_text else None,
                state=form.get("state") or None,
            )
        except ApiError as error:
            return await self.page(request, error=Refusal(provider, f"pool.{name}", error.message))
        return self._back(project.id, "changed", provider)

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
            return await self.page(request, error=Refusal(provider, "api_key", error.message))
        return self._back(project.id, "deleted", provider)

    @staticmethod
    def _back(project_id: str, done: str, provider: str) -> Response:
        """After a change: back to the page (a reload does not post again), what was done in the query."""
        return RedirectResponse(
            f"/dashboard/projects/{project_id}/provider-keys?{done}={provider}#provider-{provider}", 303
        )

    def done(self, request: Request) -> str | None:
        """The notice for a change just made (``?saved=openai``): fixed words, never text from the URL."""
        registry = self._control.registry
        for done, words in (
            ("saved", "Saved the {} key."),
            ("deleted", "Deleted the {} key."),
            ("changed", "Changed the {} key."),
        ):
            provider = request.query_params.get(done, "")
            if provider in registry.byok_names:
                return words.format(registry[provider].title)
        return None


def _fields_of(specs: tuple[KeyField, ...], form: dict[str, str]) -> dict[str, Any]:
    """The key's settings as typed (``field.<name>``); a ``names`` field is lines of ``model = name``."""
    fields: dict[str, Any] = {}
    for spec in specs:
        text = form.get(f"field.{spec.name}", "").strip()
        if spec.kind != "names":
            fields[spec.name] = text
            continue
        names: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            model, sep, name = line.partition("=")
            if not sep or not model.strip() or not name.strip():
                raise KeyFieldError(spec.name, f"line {number}: write model = name")
            names[model.strip()] = name.strip()
        fields[spec.name] = names
    return fields


def _cooldown(cooldown: Cooldown) -> str:
    what = {"429": "rate limited (429)", "401": "rejected (401)", "403": "refused (403)"}.get(
        cooldown.reason, f"cooling down ({cooldown.reason})"
    )
    until = (
        "until replaced or set active"
        if cooldown.until is None
        else "until " + datetime.fromtimestamp(cooldown.until, UTC).strftime("%H:%M:%S UTC")
    )
    return f"{what} {until}" + (f" for {cooldown.model}" if cooldown.model else "")
