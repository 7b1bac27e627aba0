"""Control-plane use cases for a project's provider keys: a pool of named keys per provider.

Each key has a name (``default`` when none is given, and for every key stored before pools), a weight (its
share of the pool's requests) and a state (``active``, or ``disabled``: kept, never used). Setting a key
under a name it already has rotates it (a new credential id, so a cooled-down key is fresh again). The
keys' cooldowns (a 429 until its ``retry-after``, a 401 until replaced) live with the data plane
(``health/keys.py``) and are shown beside them. ``ControlPlane`` takes these methods as a mixin.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from byokgate.domain.entities import DEFAULT_KEY_NAME, NewAuditEvent, Project, ProviderCredential
from byokgate.domain.ids import new_id
from byokgate.domain.secret import Secret
from byokgate.domain.upstream import KeyCheckOutcome
from byokgate.errors import InvalidRequestError, NotFoundError
from byokgate.health.keys import KeyHealth
from byokgate.providers.base import Endpoint, ProviderAdapter
from byokgate.providers.keyformat import KeyFieldError, KeyFormatError, check_fields, check_key, mask_key
from byokgate.providers.registry import ProviderRegistry, UnknownProviderError
from byokgate.store.database import Store, Transaction
from byokgate.transport import Transport, UpstreamUnreachableError
from byokgate.vault import Vault

KEY_STATES = ("active", "disabled")
_KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class KeyCheck:
    outcome: KeyCheckOutcome
    http_status: int | None
    detail: str


def check_key_name(name: str) -> str:
    if not _KEY_NAME.fullmatch(name):
        raise InvalidRequestError(
            "name: 1-64 letters, digits, . _ - (starting with a letter or digit)", param="name"
        )
    return name


class ProviderKeyCases:
    if TYPE_CHECKING:  # what the mixin uses of ControlPlane
        store: Store
        vault: Vault
        registry: ProviderRegistry
        _transport: Transport
        _base_urls: Mapping[str, str]
        _now: Callable[[], datetime]
        key_health: KeyHealth

        def mutation(self) -> AbstractAsyncContextManager[Transaction]: ...
        async def changed(self, tx: Transaction, event: NewAuditEvent) -> None: ...
        async def project_in(self, tx: Transaction, project_id: str) -> Project: ...
        async def get_project(self, project_id: str) -> Project: ...

    async def set_provider_key(
        self,
        project_id: str,
        provider: str,
        secret: Secret,
        *,
        actor: str,
        verify: bool = False,
        fields: Mapping[str, Any] | None = None,
        name: str = DEFAULT_KEY_NAME,
        weight: int = 1,
        state: str = "active",
    ) -> tuple[ProviderCredential, KeyCheck | None]:
        """Store (or rotate) the key ``name`` of the project's pool for ``provider``, with the non-secret
        ``fields`` its keys carry; ``verify`` checks it with the provider first."""
        adapter = self._byok_adapter(provider)
        check_key_name(name)
        _check_pool_fields(weight, state)
        try:
            check_key(adapter, secret, self.registry)
        except KeyFormatError as exc:
            raise InvalidRequestError(str(exc), param="api_key", code="invalid_key_format") from None
        try:
            checked = check_fields(adapter, fields)
        except KeyFieldError as exc:
            raise InvalidRequestError(
                str(exc), param=f"fields.{exc.field}", code="invalid_key_field"
            ) from None
        await self.get_project(project_id)  # 404 before any upstream call
        check = await self.verify_key(provider, secret, checked) if verify else None
        if check is not None and check.outcome is KeyCheckOutcome.INVALID:
            async with self.store.transaction() as tx:
                event = NewAuditEvent(actor, "provider_key.verify", project_id, provider, outcome="invalid")
                await tx.audit.append(event)
            raise InvalidRequestError(
                f"{adapter.title} rejected this key ({check.detail}); nothing was stored",
                param="api_key",
                code="provider_key_rejected",
            )
        now = self._now()
        credential_id = new_id("cred")
        async with self.mutation() as tx:
            data_key = await self._data_key(tx, project_id)
            ciphertext = self.vault.encrypt_credential(data_key, project_id, provider, credential_id, secret)
            credential = ProviderCredential(
                id=credential_id,
                project_id=project_id,
                provider=provider,
                masked=mask_key(adapter, secret),
                ciphertext=ciphertext,
                created_at=now,
                updated_at=now,
                fields=checked,
                name=name,
                weight=weight,
                state=state,
            )
            old = await tx.credentials.replace(credential)
            detail: dict[str, object] = {"masked": credential.masked, "name": name}
            if old is not None:
                detail["replaced_credential_id"] = old.id
            if check is not None:
                detail["verification"] = check.outcome.value
            action = "provider_key.rotate" if old else "provider_key.set"
            await self.changed(
                tx, NewAuditEvent(actor, action, project_id, provider, credential_id, detail=detail, at=now)
            )
        return credential, check

    async def update_provider_key(
        self,
        project_id: str,
        provider: str,
        name: str,
        *,
        actor: str,
        weight: int | None = None,
        state: str | None = None,
    ) -> ProviderCredential:
        """Change a pool key's weight or state (the secret stays as it is)."""
        self._byok_adapter(provider)
        async with self.mutation() as tx:
            await self.project_in(tx, project_id)
            old = await tx.credentials.get(project_id, provider, name)
            if old is None:
                raise _no_key(project_id, provider, name)
            new = replace(
                old,
                weight=old.weight if weight is None else weight,
                state=old.state if state is None else state,
                updated_at=self._now(),
            )
            _check_pool_fields(new.weight, new.state)
            await tx.credentials.update(new)
            if state == "active":  # set active by an operator: a cooldown it was under is lifted
                self.key_health.clear(old.id)
            detail = {"name": name, "weight": new.weight, "state": new.state}
            event = NewAuditEvent(actor, "provider_key.update", project_id, provider, old.id, detail=detail)
            await self.changed(tx, event)
        return new

    async def list_provider_keys(self, project_id: str) -> list[ProviderCredential]:
        async with self.store.transaction() as tx:
            await self.project_in(tx, project_id)
            return await tx.credentials.list_for_project(project_id)

    async def delete_provider_key(
        self, project_id: str, provider: str, *, actor: str, name: str | None = None
    ) -> None:
        """Delete one key of the pool (``name``), or the whole pool for ``provider``."""
        self._byok_adapter(provider)
        async with self.mutation() as tx:
            await self.project_in(tx, project_id)
            removed = await tx.credentials.delete(project_id, provider, name)
            if not removed:
                raise _no_key(project_id, provider, name)
            for old in removed:
                event = NewAuditEvent(
                    actor, "provider_key.delete", project_id, provider, old.id, detail={"name": old.name}
                )
                await self.changed(tx, event)

    async def verify_key(
        self, provider: str, secret: Secret, fields: Mapping[str, Any] | None = None
    ) -> KeyCheck:
        adapter = self._byok_adapter(provider)
        endpoint = Endpoint(self._base_urls[provider], dict(fields or {}))
        request = adapter.models_request(endpoint, secret)
        try:
            response = await self._transport.send(request, timeout_s=15.0)
        except UpstreamUnreachableError as exc:
            return KeyCheck(KeyCheckOutcome.UNREACHABLE, None, str(exc))
        outcome = adapter.key_check_outcome(response.status, response.body)
        return KeyCheck(outcome, response.status, f"{adapter.title} answered HTTP {response.status}")

    def _byok_adapter(self, provider: str) -> ProviderAdapter:
        try:
            return self.registry.byok(provider)
        except UnknownProviderError as exc:
            raise InvalidRequestError(str(exc), param="provider", code="unknown_provider") from None

    async def _data_key(self, tx: Transaction, project_id: str) -> bytes:
        material = await tx.projects.key_material(project_id)
        if material is None:
            raise NotFoundError(f"no project with id {project_id!r}", code="project_not_found")
        return self.vault.unwrap(project_id, material.wrapped_data_key)


def _check_pool_fields(weight: int, state: str) -> None:
    if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 1000:
        raise InvalidRequestError("weight: an integer from 0 to 1000", param="weight")
    if state not in KEY_STATES:
        raise InvalidRequestError("state: active or disabled", param="state")


def _no_key(project_id: str, provider: str, name: str | None) -> NotFoundError:
    what = f"{provider} key named {name!r}" if name else f"{provider} key"
    return NotFoundError(f"project {project_id} has no {what}", code="provider_key_not_found")
