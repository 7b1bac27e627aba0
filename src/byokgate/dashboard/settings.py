"""Project Settings: name, billing (plan, policy, credits), response cache, limits, request log, deletion.

Each section is its own form, read into the admin API's own body (``dashboard.forms``) and applied through
the control plane's use cases, audit-logged as the signed-in user. A refused field is shown next to itself,
with what was typed kept. Writers change the project's own settings; only gateway admins change its plan,
add credits or delete it (deletion asks for the project's name typed again).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from byokgate.admin.request_api import BodiesBody, RetentionBody
from byokgate.admin.schemas import BillingBody, CacheSettingsBody, CreditsBody, LimitsBody
from byokgate.dashboard.forms import FormErrors, Kind, read
from byokgate.domain.entities import Project
from byokgate.errors import ApiError
from byokgate.store.users import Session

if TYPE_CHECKING:
    from byokgate.admin.request_log import RequestLog
    from byokgate.dashboard.pages import Dashboard

CACHE_FIELDS = {
    "enabled": Kind.CHECKBOX,
    "ttl_s": Kind.INT,
    "max_entry_bytes": Kind.INT,
    "semantic": Kind.CHECKBOX,
    "semantic_threshold": Kind.NUMBER,
    "semantic_max_turns": Kind.INT,
    "semantic_model": Kind.TEXT,
}
LIMIT_FIELDS = {
    "rpm": Kind.INT,
    "tpm": Kind.INT,
    "budget_usd": Kind.DECIMAL,
    "budget_period": Kind.TEXT,
    "soft_pct": Kind.INT,
}
SAVED = {
    "general": "Renamed the project.",
    "billing": "Saved the billing settings.",
    "credits": "Added the credits.",
    "cache": "Saved the cache settings.",
    "purge": "Emptied the project's cache.",
    "limits": "Saved the limits.",
    "log": "Saved the request log settings.",
}
ADMIN_ONLY = frozenset({"credits", "delete"})

Days = TypeVar("Days", RetentionBody, BodiesBody)
Section = Callable[[Session, Project, dict[str, str]], Awaitable[None]]


class SettingsPages:
    def __init__(self, dashboard: Dashboard, log: RequestLog) -> None:
        self._dashboard = dashboard
        self._control = dashboard.control
        self._log = log
        self._sections: dict[str, Section] = {
            "general": self._general,
            "billing": self._billing,
            "credits": self._credits,
            "cache": self._cache,
            "purge": self._purge,
            "limits": self._limits,
            "log": self._request_log,
        }

    async def page(self, request: Request) -> Response:
        access = await self._dashboard.access(request, request.path_params["project_id"], write=False)
        if isinstance(access, Response):
            return access
        session, project, writable = access
        return await self._render(
            session, project, writable, notice=SAVED.get(request.query_params.get("saved", ""))
        )

    async def _render(
        self,
        session: Session,
        project: Project,
        writable: bool,
        *,
        notice: str | None = None,
        section: str | None = None,
        errors: dict[str, str] | None = None,
        typed: dict[str, str] | None = None,
    ) -> Response:
        """The page; after a refused form, its ``section`` shows the ``errors`` and what was ``typed``."""
        control, project_id = self._control, project.id
        billing = await control.billing(project_id)
        account, _ = await control.credits(project_id, limit=1)
        values = {
            "general": {"name": project.name},
            "billing": {"plan": control.plans.get(billing.plan).name, "policy": billing.policy},
            "cache": _cache_values(await control.cache_settings(project_id)),
            "limits": _limit_values(await control.limits(project_id)),
            "log": {
                "retention_days": _text(await self._log.retention(project_id)),
                "bodies_days": _text(await self._log.bodies_days(project_id)),
            },
            "credits": {"kind": "topup"},
        }
        if section is not None and typed is not None:  # what was typed, over what is stored
            shown = {**values.get(section, {}), **{name: typed[name] for name in typed if name != "csrf"}}
            if section == "cache":  # an unticked box is absent from the form: unticked, not as stored
                shown |= {name: name in typed for name, kind in CACHE_FIELDS.items() if kind is Kind.CHECKBOX}
            values[section] = shown
        return self._dashboard.render_project(
            "settings.html",
            session,
            project,
            "settings",
            400 if errors else 200,
            writable=writable,
            admin=session.user.is_admin,
            values=values,
            plans=[control.plans.get(name) for name in control.plans.names],
            balance_usd=Decimal(account.balance_micro_usd) / 1_000_000,
            default_retention=self._log.default_retention_days,
            section=section,
            errors=errors or {},
            notice=notice,
        )

    async def submit(self, request: Request) -> Response:
        name = request.path_params["section"]
        if name not in self._sections and name != "delete":
            return self._dashboard.not_found()
        change = await self._dashboard.change(request, request.path_params["project_id"])
        if isinstance(change, Response):
            return change
        session, project, form = change
        if name in ADMIN_ONLY and not session.user.is_admin:
            return self._dashboard.forbidden(session, "Only a gateway admin can do that.")
        try:
            if name == "delete":
                return await self._delete(session, project, form)
            if name == "billing" and not session.user.is_admin:
                form.pop("plan", None)  # a member picks the policy; the plan is the operator's
            await self._sections[name](session, project, form)
        except FormErrors as refused:
            return await self._render(session, project, True, section=name, errors=refused.errors, typed=form)
        except ApiError as error:
            field = _field_of(error.param, form)
            return await self._render(
                session, project, True, section=name, errors={field: error.message}, typed=form
            )
        return RedirectResponse(f"/dashboard/projects/{project.id}/settings?saved={name}#{name}", 303)

    # The sections: each raises FormErrors or ApiError when refused.

    async def _general(self, session: Session, project: Project, form: dict[str, str]) -> None:
        await self._control.rename_project(project.id, form.get("name", ""), actor=_actor(session))

    async def _billing(self, session: Session, project: Project, form: dict[str, str]) -> None:
        fields = {"plan": Kind.TEXT, "policy": Kind.TEXT} if "plan" in form else {"policy": Kind.TEXT}
        body = read(BillingBody, form, fields)
        await self._control.set_billing(project.id, plan=body.plan, policy=body.policy, actor=_actor(session))

    async def _credits(self, session: Session, project: Project, form: dict[str, str]) -> None:
        body = read(CreditsBody, form, {"amount_usd": Kind.DECIMAL, "kind": Kind.TEXT, "note": Kind.TEXT})
        amount = int(body.amount_usd * 1_000_000)
        await self._control.add_credits(project.id, body.kind, amount, body.note, actor=_actor(session))

    async def _cache(self, session: Session, project: Project, form: dict[str, str]) -> None:
        settings = read(CacheSettingsBody, form, CACHE_FIELDS).settings()
        await self._control.set_cache_settings(project.id, settings, actor=_actor(session))

    async def _purge(self, session: Session, project: Project, form: dict[str, str]) -> None:
        await self._control.purge_cache(project.id, actor=_actor(session))

    async def _limits(self, session: Session, project: Project, form: dict[str, str]) -> None:
        limits = read(LimitsBody, form, LIMIT_FIELDS).limits()
        await self._control.set_limits(
            project.id, None, None if limits.empty else limits, actor=_actor(session)
        )

    async def _request_log(self, session: Session, project: Project, form: dict[str, str]) -> None:
        retention = _days(RetentionBody, form, "retention_days")
        bodies = _days(BodiesBody, form, "bodies_days")
        await self._log.set_retention(project.id, retention.days, actor=_actor(session))
        await self._log.set_bodies_days(project.id, bodies.days, actor=_actor(session))

    async def _delete(self, session: Session, project: Project, form: dict[str, str]) -> Response:
        if form.get("confirm", "").strip() != project.name:
            raise FormErrors({"confirm": f"Type the project's name, {project.name}, to delete it."})
        await self._control.delete_project(project.id, actor=_actor(session))
        return RedirectResponse("/dashboard/?deleted=1", 303)


def _actor(session: Session) -> str:
    return f"user:{session.user.id}"


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _cache_values(settings: Any) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in CACHE_FIELDS} | {
        "semantic_model": _text(settings.semantic_model)
    }


def _limit_values(limits: Any) -> dict[str, Any]:
    if limits is None:
        return {"rpm": "", "tpm": "", "budget_usd": "", "budget_period": "month", "soft_pct": "80"}
    budget = None if limits.budget_micro_usd is None else Decimal(limits.budget_micro_usd) / 1_000_000
    return {
        "rpm": _text(limits.rpm),
        "tpm": _text(limits.tpm),
        "budget_usd": _text(budget),
        "budget_period": limits.budget_period,
        "soft_pct": _text(limits.soft_pct),
    }


def _days(body: type[Days], form: dict[str, str], field: str) -> Days:
    """A form's ``field`` read as a body's ``days`` (errors under the form's name)."""
    try:
        return read(body, {"days": form.get(field, "")}, {"days": Kind.INT})
    except FormErrors as refused:
        raise FormErrors({field: refused.errors["days"]}) from None


def _field_of(param: str | None, form: dict[str, str]) -> str:
    """The form field an API error names (``param``), or the section's first field."""
    if param and param in form:
        return param
    return next((name for name in form if name != "csrf"), "form")
