from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from byokgate.admin.services import ControlPlane
from byokgate.providers.registry import default_registry
from byokgate.snapshot.changes import LocalChangeBus
from byokgate.snapshot.credentials import CredentialOpener
from byokgate.snapshot.holder import SnapshotHolder
from byokgate.snapshot.model import load_snapshot
from byokgate.snapshot.redis_bus import RedisChangeBus
from byokgate.store.database import Store
from byokgate.transport import Transport
from byokgate.vault import Vault
from tests.conftest import GROQ_KEY, OPENAI_KEY

NOW = datetime.now(UTC)


async def test_snapshot_authenticates_usable_keys_only(control: ControlPlane, store: Store) -> None:
    created = await control.create_project("p", actor="t")
    pid, key = created.project.id, created.api_key.plaintext.reveal()
    expiring = await control.create_api_key(pid, name=None, expires_at=NOW + timedelta(hours=1), actor="t")
    revoked = await control.create_api_key(pid, name=None, expires_at=None, actor="t")
    await control.revoke_api_key(pid, revoked.key.id, actor="t")
    snapshot = await load_snapshot(store)
    entry = snapshot.authenticate(key, NOW)
    assert entry is not None
    assert entry.project_id == pid
    assert entry.key_id == created.api_key.key.id
    assert snapshot.authenticate(expiring.plaintext.reveal(), NOW) is not None
    assert snapshot.authenticate(expiring.plaintext.reveal(), NOW + timedelta(hours=2)) is None
    assert snapshot.authenticate(revoked.plaintext.reveal(), NOW) is None
    assert snapshot.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B"), NOW) is None
    assert snapshot.authenticate("sk-not-a-project-key", NOW) is None
    assert snapshot.version == 4


async def test_opener_decrypts_from_memory_and_follows_rotation(
    control: ControlPlane, store: Store, vault: Vault
) -> None:
    pid = (await control.create_project("p", actor="t")).project.id
    await control.set_provider_key(pid, "openai", OPENAI_KEY, actor="t")
    opener = CredentialOpener(vault, ttl_s=60)
    first = await load_snapshot(store)
    assert first.providers_of(pid) == {"openai"}
    opened = opener.open(first, pid, "openai")
    assert opened is not None
    assert opened.secret == OPENAI_KEY
    assert opener.open(first, pid, "groq") is None
    rotated = GROQ_KEY  # any other value: what matters is the new credential id
    await control.delete_provider_key(pid, "openai", actor="t")
    await control.set_provider_key(pid, "groq", rotated, actor="t")
    second = await load_snapshot(store)
    assert opener.open(second, pid, "openai") is None
    reopened = opener.open(second, pid, "groq")
    assert reopened is not None
    assert reopened.secret == rotated


async def test_holder_polls_version_changes(control: ControlPlane, store: Store) -> None:
    holder = SnapshotHolder(store, poll_interval_s=0.05)
    await holder.start()
    try:
        created = await control.create_project("p", actor="t")
        for _ in range(100):
            if holder.current.authenticate(created.api_key.plaintext.reveal(), NOW):
                break
            await asyncio.sleep(0.02)
        assert holder.current.authenticate(created.api_key.plaintext.reveal(), NOW) is not None
        reloads = holder.reloads
        await asyncio.sleep(0.2)
        assert holder.reloads == reloads  # nothing changed: the poll reads one number, no reload
    finally:
        await holder.aclose()


async def test_local_bus_refreshes_in_process_at_once(store: Store, vault: Vault) -> None:
    bus = LocalChangeBus()
    holder = SnapshotHolder(store, poll_interval_s=3600)
    await holder.start()
    await bus.listen(holder.on_change)
    async with Transport(timeout_s=1) as transport:
        control = ControlPlane(store, vault, default_registry(), transport, {}, on_committed=bus.publish)
        created = await control.create_project("p", actor="t")
    assert holder.current.authenticate(created.api_key.plaintext.reveal(), NOW) is not None
    await holder.aclose()


@pytest.fixture
def channel(redis_url: str) -> str:
    """A channel of the test's own on the real Redis (``redis_url`` skips, or fails in CI, without one)."""
    return f"byokgate:test:{uuid.uuid4().hex}"


async def test_redis_tells_another_instance_at_once(
    database_url: str, vault: Vault, redis_url: str, channel: str
) -> None:
    """Instance A's admin change reaches instance B's snapshot through Redis, long before B would poll."""
    store_a, store_b = Store.from_url(database_url), Store.from_url(database_url)
    bus_a, bus_b = RedisChangeBus(redis_url, channel=channel), RedisChangeBus(redis_url, channel=channel)
    holder_b = SnapshotHolder(store_b, poll_interval_s=3600)
    await holder_b.start()
    await bus_b.listen(holder_b.on_change)
    try:
        async with Transport(timeout_s=1) as transport:
            control_a = ControlPlane(
                store_a, vault, default_registry(), transport, {}, on_committed=bus_a.publish
            )
            created = await control_a.create_project("p", actor="t")
            key = created.api_key.plaintext.reveal()
            for _ in range(250):
                if holder_b.current.authenticate(key, NOW):
                    break
                await asyncio.sleep(0.02)
            assert holder_b.current.authenticate(key, NOW) is not None
            await control_a.revoke_api_key(created.project.id, created.api_key.key.id, actor="t")
            for _ in range(250):
                if holder_b.current.authenticate(key, NOW) is None:
                    break
                await asyncio.sleep(0.02)
            assert holder_b.current.authenticate(key, NOW) is None
    finally:
        for closeable in (bus_a, bus_b, holder_b):
            await closeable.aclose()
        await store_a.close()
        await store_b.close()


async def test_redis_down_degrades_to_polling(
    store: Store, vault: Vault, caplog: pytest.LogCaptureFixture
) -> None:
    dead = RedisChangeBus("redis://127.0.0.1:9/0")
    holder = SnapshotHolder(store, poll_interval_s=0.05)
    await holder.start()
    await dead.listen(holder.on_change)
    try:
        with caplog.at_level(logging.WARNING):
            async with Transport(timeout_s=1) as transport:
                control = ControlPlane(
                    store, vault, default_registry(), transport, {}, on_committed=dead.publish
                )
                created = await control.create_project("p", actor="t")  # the admin change still succeeds
        assert "instances will poll" in caplog.text
        for _ in range(100):
            if holder.current.authenticate(created.api_key.plaintext.reveal(), NOW):
                break
            await asyncio.sleep(0.02)
        assert holder.current.authenticate(created.api_key.plaintext.reveal(), NOW) is not None
    finally:
        await dead.aclose()
        await holder.aclose()
