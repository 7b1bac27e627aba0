from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from byokgate.domain.entities import (
    NewAuditEvent,
    Project,
    ProjectApiKey,
    ProjectKeyMaterial,
    ProviderCredential,
)
from byokgate.store.audit import AuditQuery
from byokgate.store.database import Store
from byokgate.store.state import CONFIG_VERSION

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


async def _project(store: Store, project_id: str = "proj_1", name: str = "one") -> Project:
    project = Project(project_id, name, NOW, NOW)
    async with store.transaction() as tx:
        await tx.projects.insert(
            project, ProjectKeyMaterial(project_id, b"\x01wrapped" + project_id.encode(), "k1")
        )
    return project


def _credential(cid: str, provider: str = "openai", project_id: str = "proj_1") -> ProviderCredential:
    return ProviderCredential(cid, project_id, provider, "sk-...1234", b"\x01cipher" + cid.encode(), NOW, NOW)


async def test_project_crud_and_paging(store: Store) -> None:
    for i in range(5):
        await _project(store, f"proj_{i}", f"name {i}")
    async with store.transaction() as tx:
        first = await tx.projects.page(limit=2)
        rest = await tx.projects.page(limit=10, after=first[-1].id)
        assert [p.id for p in first + rest] == [f"proj_{i}" for i in range(5)]
        renamed = await tx.projects.rename("proj_3", "renamed", NOW + timedelta(seconds=1))
        assert renamed is not None
        assert renamed.name == "renamed"
        assert renamed.updated_at == NOW + timedelta(seconds=1)
        assert renamed.created_at.tzinfo is not None
        assert await tx.projects.get("proj_missing") is None


async def test_delete_shreds_and_cascades(store: Store) -> None:
    await _project(store)
    key = ProjectApiKey("key_1", "proj_1", None, "lgw_proj_abcd", NOW, None, None, None)
    async with store.transaction() as tx:
        await tx.api_keys.insert(key, "h" * 64)
        await tx.credentials.replace(_credential("cred_1"))
        await tx.audit.append(NewAuditEvent("t", "project.create", "proj_1"))
    async with store.transaction() as tx:
        assert await tx.projects.shred_and_delete("proj_1")
        assert not await tx.projects.shred_and_delete("proj_1")
    async with store.transaction() as tx:
        assert await tx.projects.key_material("proj_1") is None
        assert await tx.credentials.list_for_project("proj_1") == []
        assert await tx.api_keys.find_by_hash("h" * 64) is None
        assert len(await tx.audit.list_for_project("proj_1", limit=10)) == 1  # the trail outlives the project


async def test_api_keys_hash_lookup_revoke_and_last_used(store: Store) -> None:
    await _project(store)
    key = ProjectApiKey("key_1", "proj_1", "ci", "lgw_proj_abcd", NOW, NOW + timedelta(days=1), None, None)
    async with store.transaction() as tx:
        await tx.api_keys.insert(key, "a" * 64)
    async with store.transaction() as tx:
        found = await tx.api_keys.find_by_hash("a" * 64)
        assert found == key
        assert found.is_usable(NOW)
        assert not found.is_usable(NOW + timedelta(days=2))
        assert await tx.api_keys.revoke("proj_1", "key_1", NOW)
        assert not await tx.api_keys.revoke("proj_1", "key_1", NOW)  # once
        assert not await tx.api_keys.revoke("proj_other", "key_1", NOW)
        later, earlier = NOW + timedelta(minutes=5), NOW + timedelta(minutes=1)
        await tx.api_keys.touch_last_used({"key_1": later})
        await tx.api_keys.touch_last_used({"key_1": earlier})  # never moves backwards
        got = await tx.api_keys.get("proj_1", "key_1")
        assert got is not None
        assert got.last_used_at == later
        assert got.revoked_at == NOW


async def test_api_key_hash_is_unique(store: Store) -> None:
    await _project(store)
    key = ProjectApiKey("key_1", "proj_1", None, "p", NOW, None, None, None)
    async with store.transaction() as tx:
        await tx.api_keys.insert(key, "b" * 64)
    duplicate = ProjectApiKey("key_2", "proj_1", None, "p", NOW, None, None, None)
    async with store.transaction() as tx:
        with pytest.raises(IntegrityError):
            await tx.api_keys.insert(duplicate, "b" * 64)


async def test_credential_replace_is_one_per_provider_and_name(store: Store) -> None:
    await _project(store)
    async with store.transaction() as tx:
        assert await tx.credentials.replace(_credential("cred_1")) is None
        old = await tx.credentials.replace(_credential("cred_2"))
        assert old is not None
        assert old.id == "cred_1"
        await tx.credentials.replace(_credential("cred_3", "groq"))
        await tx.credentials.replace(replace(_credential("cred_4", "groq"), name="backup", weight=3))
    async with store.transaction() as tx:
        listed = await tx.credentials.list_for_project("proj_1")
        assert [(c.provider, c.name, c.id) for c in listed] == [
            ("groq", "backup", "cred_4"),
            ("groq", "default", "cred_3"),
            ("openai", "default", "cred_2"),
        ]
        assert listed[0].weight == 3
        assert listed[2].ciphertext == b"\x01ciphercred_2"
        await tx.credentials.update(replace(listed[0], weight=5, state="disabled"))
        updated = await tx.credentials.get("proj_1", "groq", "backup")
        assert updated is not None
        assert (updated.weight, updated.state) == (5, "disabled")
        assert [c.id for c in await tx.credentials.delete("proj_1", "groq", "backup")] == ["cred_4"]
        assert [c.id for c in await tx.credentials.delete("proj_1", "groq")] == ["cred_3"]
        assert await tx.credentials.delete("proj_1", "groq") == []


async def test_failed_transaction_changes_nothing(store: Store) -> None:
    await _project(store)

    async def fail_midway() -> None:
        async with store.transaction() as tx:
            await tx.credentials.replace(_credential("cred_1"))
            await tx.state.bump(CONFIG_VERSION)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fail_midway()
    async with store.transaction() as tx:
        assert await tx.credentials.list_for_project("proj_1") == []
        assert await tx.state.get(CONFIG_VERSION) == 0


async def test_audit_is_paged_newest_first_and_filterable(store: Store) -> None:
    async with store.transaction() as tx:
        for i in range(7):
            action = "provider_key.set" if i % 2 else "api_key.create"
            await tx.audit.append(NewAuditEvent("t", action, "proj_1", detail={"i": i}))
        await tx.audit.append_many([NewAuditEvent("t", "x", "proj_2")])
    async with store.transaction() as tx:
        page1 = await tx.audit.list_for_project("proj_1", limit=3)
        page2 = await tx.audit.list_for_project("proj_1", limit=10, before_id=page1[-1].id)
        assert [e.detail["i"] for e in page1 + page2] == [6, 5, 4, 3, 2, 1, 0]
        only = AuditQuery(action="provider_key.set")
        sets = await tx.audit.list_for_project("proj_1", limit=10, query=only)
        assert [e.detail["i"] for e in sets] == [5, 3, 1]
        assert page1[0].at.tzinfo is not None


async def test_state_counter_bumps(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.state.get(CONFIG_VERSION) == 0
        assert await tx.state.bump(CONFIG_VERSION) == 1
        assert await tx.state.bump(CONFIG_VERSION) == 2
    async with store.transaction() as tx:
        assert await tx.state.get(CONFIG_VERSION) == 2


async def test_rewrap_is_compare_and_set(store: Store) -> None:
    await _project(store)
    async with store.transaction() as tx:
        material = await tx.projects.key_material("proj_1")
        assert material is not None
        new = ProjectKeyMaterial("proj_1", b"\x01new", "k2")
        assert await tx.projects.rewrap(material, new)
        assert not await tx.projects.rewrap(material, new)  # stale expectation
        assert await tx.projects.master_key_usage() == {"k2": 1}
        assert await tx.projects.key_material_not_under("k2", limit=10) == []
