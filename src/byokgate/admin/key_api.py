"""The admin API's provider-key endpoints: a project's pool of keys per provider (``provider_keys.py``).

``PUT .../provider-keys/{provider}`` sets the pool's ``default`` key (as before pools); ``PUT .../{provider}/
{name}`` a named one; ``PATCH`` changes a key's weight or state; ``DELETE`` one key, or the whole pool.
Every key is listed with its cooldown when the data plane is skipping it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from byokgate.admin.params import ProjectId, Provider
from byokgate.admin.schemas import (
    ProviderKeyList,
    ProviderKeyOut,
    ProviderKeyPatch,
    ProviderKeySet,
    Verification,
)
from byokgate.admin.services import ControlPlane
from byokgate.domain.entities import DEFAULT_KEY_NAME
from byokgate.domain.secret import Secret

KeyName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Verify = Annotated[bool, Query(description="Check the key against the provider first")]


def add_key_endpoints(router: APIRouter, control: ControlPlane, actor: str) -> None:
    health = control.key_health

    async def put(
        project_id: str, provider: str, name: str, body: ProviderKeySet, verify: bool
    ) -> ProviderKeyOut:
        credential, check = await control.set_provider_key(
            project_id,
            provider,
            Secret(body.api_key.get_secret_value()),
            actor=actor,
            verify=verify,
            fields=body.fields,
            name=name,
            weight=body.weight,
            state=body.state,
        )
        verification = (
            Verification(outcome=check.outcome.value, http_status=check.http_status, detail=check.detail)
            if check
            else None
        )
        return ProviderKeyOut.of(credential, verification)

    @router.put("/projects/{project_id}/provider-keys/{provider}", response_model=ProviderKeyOut)
    async def set_provider_key(
        project_id: ProjectId, provider: Provider, body: ProviderKeySet, verify: Verify = False
    ) -> ProviderKeyOut:
        """Set (or rotate) the pool's default key."""
        return await put(project_id, provider, DEFAULT_KEY_NAME, body, verify)

    @router.put("/projects/{project_id}/provider-keys/{provider}/{name}", response_model=ProviderKeyOut)
    async def set_named_provider_key(
        project_id: ProjectId, provider: Provider, name: KeyName, body: ProviderKeySet, verify: Verify = False
    ) -> ProviderKeyOut:
        """Add a key to the pool under ``name``, or rotate the key of that name."""
        return await put(project_id, provider, name, body, verify)

    @router.patch("/projects/{project_id}/provider-keys/{provider}/{name}", response_model=ProviderKeyOut)
    async def update_provider_key(
        project_id: ProjectId, provider: Provider, name: KeyName, body: ProviderKeyPatch
    ) -> ProviderKeyOut:
        credential = await control.update_provider_key(
            project_id, provider, name, actor=actor, weight=body.weight, state=body.state
        )
        return ProviderKeyOut.of(credential, cooldowns=health.cooldowns(credential.id))

    @router.get("/projects/{project_id}/provider-keys", response_model=ProviderKeyList)
    async def list_provider_keys(project_id: ProjectId) -> ProviderKeyList:
        keys = await control.list_provider_keys(project_id)
        open_ = control.breakers.view()
        return ProviderKeyList(
            data=[
                ProviderKeyOut.of(
                    c,
                    cooldowns=health.cooldowns(c.id),
                    breaker=str(b.state) if (b := open_.get("key:" + c.id)) is not None else "closed",
                )
                for c in keys
            ]
        )

    @router.delete("/projects/{project_id}/provider-keys/{provider}", status_code=204)
    async def delete_provider_key(project_id: ProjectId, provider: Provider) -> Response:
        """Delete every key of the pool."""
        await control.delete_provider_key(project_id, provider, actor=actor)
        return Response(status_code=204)

    @router.delete("/projects/{project_id}/provider-keys/{provider}/{name}", status_code=204)
    async def delete_named_provider_key(project_id: ProjectId, provider: Provider, name: KeyName) -> Response:
        await control.delete_provider_key(project_id, provider, actor=actor, name=name)
        return Response(status_code=204)
