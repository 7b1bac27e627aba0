"""Master-key operations over the store: the start-up check and online rotation."""

from __future__ import annotations

from dataclasses import dataclass, field

from byokgate.domain.entities import NewAuditEvent, ProjectKeyMaterial
from byokgate.store.database import Store
from byokgate.store.state import CONFIG_VERSION
from byokgate.vault import DecryptionError, Vault, VaultError


class KeyringMismatchError(VaultError):
    """The configured keyring cannot open what the database holds."""


@dataclass(slots=True)
class RotationReport:
    active_key_id: str
    rewrapped: int = 0
    retried: int = 0
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)


async def check_keyring(store: Store, vault: Vault) -> dict[str, int]:
    """Fail fast, with a message that says what is wrong, when the keyring does not fit the database.

    Returns how many projects each master key id wraps.
    """
    async with store.transaction() as tx:
        usage = await tx.projects.master_key_usage()
        missing = sorted(key_id for key_id in usage if key_id not in vault.keyring)
        if missing:
            raise KeyringMismatchError(
                f"stored data keys are wrapped with master key id(s) {', '.join(missing)}, which "
                f"BYOKGATE_MASTER_KEY does not contain (it has: {', '.join(vault.keyring.ids)}); "
                "add the old key back as id:base64 after the new one"
            )
        samples = await tx.projects.sample_key_material(list(usage))
    for material in samples:
        try:
            vault.unwrap(material.project_id, material.wrapped_data_key)
        except DecryptionError:
            raise KeyringMismatchError(
                f"master key id {material.master_key_id!r} in BYOKGATE_MASTER_KEY is not the key that "
                "wrapped the stored data keys (wrong key value for that id)"
            ) from None
    return usage


async def rotate_master_key(
    store: Store, vault: Vault, *, actor: str, batch_size: int = 200
) -> RotationReport:
    """Re-wrap every data key under the active master key, in small transactions.

    Safe while gateways keep serving: data keys themselves do not change, each row is replaced with a
    compare-and-set, and gateways whose keyring holds both keys can open old and new wraps alike.
    """
    await check_keyring(store, vault)
    active = vault.keyring.active_id
    report = RotationReport(active_key_id=active)
    async with store.transaction() as tx:
        report.before = await tx.projects.master_key_usage()
    while True:
        async with store.transaction() as tx:
            batch = await tx.projects.key_material_not_under(active, limit=batch_size)
            if not batch:
                break
            moved = 0
            for material in batch:
                rewrapped = vault.rewrap(material.project_id, material.wrapped_data_key)
                if rewrapped is None:
                    continue
                new = ProjectKeyMaterial(material.project_id, rewrapped.blob, rewrapped.master_key_id)
                if await tx.projects.rewrap(material, new):
                    moved += 1
                    await tx.audit.append(
                        NewAuditEvent(
                            actor,
                            "master_key.rewrap",
                            material.project_id,
                            detail={"from_key_id": material.master_key_id, "to_key_id": active},
                        )
                    )
                else:
                    report.retried += 1
            await tx.state.bump(CONFIG_VERSION)
        report.rewrapped += moved
        if moved == 0 and report.retried > 10 * batch_size:
            raise VaultError("master key rotation is making no progress; is another rotation running?")
    async with store.transaction() as tx:
        report.after = await tx.projects.master_key_usage()
    return report
