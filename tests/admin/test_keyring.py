from __future__ import annotations

import asyncio

import pytest

from byokgate.admin.keyring import KeyringMismatchError, check_keyring, rotate_master_key
from byokgate.admin.services import ControlPlane
from byokgate.providers.registry import default_registry
from byokgate.store.database import Store
from byokgate.transport import Transport
from byokgate.vault import Keyring, Vault
from tests.conftest import GROQ_KEY, OPENAI_KEY

OLD = Keyring.generate_entry("old")
NEW = Keyring.generate_entry("new")


async def _populate(store: Store, vault: Vault, projects: int) -> list[str]:
    async with Transport(timeout_s=1) as transport:
        control = ControlPlane(store, vault, default_registry(), transport, {"openai": "http://127.0.0.1:9"})
        ids = []
        for i in range(projects):
            pid = (await control.create_project(f"p{i}", actor="t")).project.id
            await control.set_provider_key(pid, "openai", OPENAI_KEY, actor="t")
            await control.set_provider_key(pid, "groq", GROQ_KEY, actor="t")
            ids.append(pid)
        return ids


async def _decrypt_everything(store: Store, vault: Vault) -> int:
    """What the data plane does: read wrapped keys and ciphertexts, decrypt every provider key."""
    opened = 0
    async with store.transaction() as tx:
        credentials = await tx.credentials.list_all()
        materials = {c.project_id: await tx.projects.key_material(c.project_id) for c in credentials}
    for credential in credentials:
        material = materials[credential.project_id]
        assert material is not None
        data_key = vault.unwrap(credential.project_id, material.wrapped_data_key)
        secret = vault.decrypt_credential(
            data_key, credential.project_id, credential.provider, credential.id, credential.ciphertext
        )
        assert secret in (OPENAI_KEY, GROQ_KEY)
        opened += 1
    return opened


async def test_rotation_rewraps_everything_while_reads_continue(store: Store) -> None:
    await _populate(store, Vault(Keyring.parse(OLD)), projects=12)
    both = Vault(Keyring.parse(f"{NEW},{OLD}"))
    stop = asyncio.Event()
    reads = 0

    async def serve() -> None:
        nonlocal reads
        while not stop.is_set():
            reads += await _decrypt_everything(store, both)
            await asyncio.sleep(0)

    reader = asyncio.create_task(serve())
    await asyncio.sleep(0.05)
    report = await rotate_master_key(store, both, actor="t", batch_size=5)
    stop.set()
    await reader
    assert reads >= 24
    assert report.rewrapped == 12
    assert report.before == {"old": 12}
    assert report.after == {"new": 12}
    # The old key can now be removed.
    only_new = Vault(Keyring.parse(NEW))
    assert await check_keyring(store, only_new) == {"new": 12}
    assert await _decrypt_everything(store, only_new) == 24
    async with store.transaction() as tx:
        events = await tx.audit.list_for_project((await tx.projects.page(limit=1))[0].id, limit=10)
    assert events[0].action == "master_key.rewrap"
    assert events[0].detail == {
        "from_key_id": "old",
        "to_key_id": "new",
    }
    assert (await rotate_master_key(store, only_new, actor="t")).rewrapped == 0


async def test_missing_master_key_id_is_a_clear_startup_error(store: Store) -> None:
    await _populate(store, Vault(Keyring.parse(OLD)), projects=1)
    with pytest.raises(KeyringMismatchError, match=r"master key id\(s\) old.*does not contain"):
        await check_keyring(store, Vault(Keyring.parse(NEW)))


async def test_wrong_master_key_value_is_a_clear_startup_error(store: Store) -> None:
    await _populate(store, Vault(Keyring.parse(OLD)), projects=1)
    impostor = Keyring.generate_entry("old")  # same id, other bytes
    with pytest.raises(KeyringMismatchError, match="not the key that wrapped"):
        await check_keyring(store, Vault(Keyring.parse(impostor)))
    with pytest.raises(KeyringMismatchError):
        await rotate_master_key(store, Vault(Keyring.parse(f"{NEW},{impostor}")), actor="t")
