from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from byokgate.admin.services import ControlPlane
from byokgate.apikeys import hash_project_key
from byokgate.domain.secret import Secret
from byokgate.domain.upstream import KeyCheckOutcome
from byokgate.errors import InvalidRequestError, NotFoundError
from byokgate.providers.registry import default_registry
from byokgate.store.audit import AuditQuery
from byokgate.store.database import Store
from byokgate.store.state import CONFIG_VERSION
from byokgate.transport import Transport
from byokgate.vault import Vault
from tests.conftest import ANTHROPIC_KEY, GEMINI_KEY, GROQ_KEY, OPENAI_KEY
from tests.support import provider_stub
from tests.support.server import running_server

ACTOR = "test"


async def test_create_project_gives_a_key_shown_once_and_stored_as_hash(control: ControlPlane) -> None:
    created = await control.create_project("  Acme  ", actor=ACTOR)
    assert created.project.name == "Acme"
    plaintext = created.api_key.plaintext.reveal()
    assert plaintext.startswith("lgw_proj_")
    assert len(plaintext) >= len("lgw_proj_") + 32
    async with control.store.transaction() as tx:
        found = await tx.api_keys.find_by_hash(hash_project_key(plaintext))
        assert found is not None
        assert found.project_id == created.project.id
        assert await tx.state.get(CONFIG_VERSION) == 1
    keys = await control.list_api_keys(created.project.id)
    assert [k.id for k in keys] == [created.api_key.key.id]
    assert keys[0].display_prefix == plaintext[:13]


async def test_project_lifecycle_is_audited(control: ControlPlane) -> None:
    created = await control.create_project("one", actor=ACTOR)
    pid = created.project.id
    renamed = await control.rename_project(pid, "two", actor=ACTOR)
    assert renamed.name == "two"
    assert [p.id for p in await control.list_projects()] == [pid]
    await control.delete_project(pid, actor=ACTOR)
    with pytest.raises(NotFoundError):
        await control.get_project(pid)
    actions = [e.action for e in await control.audit_log(pid)]
    assert actions == ["project.delete", "project.rename", "project.create"]


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "bad\x00name"])
async def test_bad_project_names(control: ControlPlane, name: str) -> None:
    with pytest.raises(InvalidRequestError):
        await control.create_project(name, actor=ACTOR)
    assert await control.list_projects() == []


async def test_api_keys_several_revocable_with_expiry(control: ControlPlane) -> None:
    pid = (await control.create_project("p", actor=ACTOR)).project.id
    expiry = datetime.now(UTC) + timedelta(days=30)
    second = await control.create_api_key(pid, name="ci", expires_at=expiry, actor=ACTOR)
    assert second.key.expires_at == expiry
    assert second.key.name == "ci"
    await control.revoke_api_key(pid, second.key.id, actor=ACTOR)
    await control.revoke_api_key(pid, second.key.id, actor=ACTOR)  # idempotent
    keys = {k.id: k for k in await control.list_api_keys(pid)}
    assert len(keys) == 2
    assert keys[second.key.id].revoked_at is not None
    with pytest.raises(InvalidRequestError, match="future"):
        await control.create_api_key(pid, name=None, expires_at=datetime.now(UTC) - timedelta(1), actor=ACTOR)
    with pytest.raises(NotFoundError):
        await control.revoke_api_key(pid, "key_nope", actor=ACTOR)
    with pytest.raises(NotFoundError):
        await control.create_api_key("proj_nope", name=None, expires_at=None, actor=ACTOR)
    revokes = await control.audit_log(pid, query=AuditQuery(action="api_key.revoke"))
    assert len(revokes) == 1
    assert revokes[0].api_key_id == second.key.id


async def test_provider_keys_set_rotate_list_delete(control: ControlPlane, vault: Vault) -> None:
    pid = (await control.create_project("p", actor=ACTOR)).project.id
    first, check = await control.set_provider_key(pid, "openai", OPENAI_KEY, actor=ACTOR)
    assert check is None
    assert first.masked == "sk-proj-..." + OPENAI_KEY.reveal()[-4:]
    rotated, _ = await control.set_provider_key(pid, "openai", Secret("sk-proj-" + "r" * 40), actor=ACTOR)
    assert rotated.id != first.id
    await control.set_provider_key(pid, "anthropic", ANTHROPIC_KEY, actor=ACTOR)
    listed = await control.list_provider_keys(pid)
    assert [c.provider for c in listed] == ["anthropic", "openai"]
    # What is stored decrypts with the project's data key, and only under its own row's identity.
    async with control.store.transaction() as tx:
        material = await tx.projects.key_material(pid)
    assert material is not None
    data_key = vault.unwrap(pid, material.wrapped_data_key)
    openai = next(c for c in listed if c.provider == "openai")
    assert (
        vault.decrypt_credential(data_key, pid, "openai", openai.id, openai.ciphertext).reveal()
        == "sk-proj-" + "r" * 40
    )
    await control.delete_provider_key(pid, "openai", actor=ACTOR)
    with pytest.raises(NotFoundError):
        await control.delete_provider_key(pid, "openai", actor=ACTOR)
    actions = [e.action for e in await control.audit_log(pid)]
    assert actions[:4] == [
        "provider_key.delete",
        "provider_key.set",
        "provider_key.rotate",
        "provider_key.set",
    ]
    rotate = (await control.audit_log(pid, query=AuditQuery(action="provider_key.rotate")))[0]
    assert rotate.detail["replaced_credential_id"] == first.id
    assert rotate.credential_id == rotated.id


async def test_bad_provider_key_input_changes_nothing(control: ControlPlane) -> None:
    pid = (await control.create_project("p", actor=ACTOR)).project.id
    await control.set_provider_key(pid, "groq", GROQ_KEY, actor=ACTOR)
    before = await control.list_provider_keys(pid)
    audit_before = await control.audit_log(pid)
    with pytest.raises(InvalidRequestError, match="Groq key"):
        await control.set_provider_key(pid, "openai", GROQ_KEY, actor=ACTOR)
    with pytest.raises(InvalidRequestError, match="whitespace"):
        await control.set_provider_key(pid, "groq", Secret(" " + GROQ_KEY.reveal()), actor=ACTOR)
    with pytest.raises(InvalidRequestError, match="unknown provider"):
        await control.set_provider_key(pid, "bedrock", GROQ_KEY, actor=ACTOR)
    with pytest.raises(NotFoundError):
        await control.set_provider_key("proj_nope", "groq", GROQ_KEY, actor=ACTOR)
    assert await control.list_provider_keys(pid) == before
    assert await control.audit_log(pid) == audit_before


AZURE_KEY = Secret("0123456789abcdef" * 2)
AZURE_FIELDS = {"endpoint": "https://contoso.openai.azure.com/", "api_version": "2024-10-21"}


@pytest.mark.parametrize(
    ("fields", "param", "message"),
    [
        (None, "fields.endpoint", "endpoint: required for Azure OpenAI keys"),
        ({"api_version": "2024-10-21"}, "fields.endpoint", "endpoint: required"),
        (
            {**AZURE_FIELDS, "endpoint": "contoso.openai.azure.com"},
            "fields.endpoint",
            "http:// or https:// URL",
        ),
        ({**AZURE_FIELDS, "endpoint": "https://x.example/?k=1"}, "fields.endpoint", "without a query"),
        ({"endpoint": "https://x.example"}, "fields.api_version", "api_version: required"),
        ({**AZURE_FIELDS, "api_version": "latest"}, "fields.api_version", "not of the expected form"),
        ({**AZURE_FIELDS, "deployments": ["gpt-4o"]}, "fields.deployments", "an object mapping model names"),
        ({**AZURE_FIELDS, "region": "eu"}, "fields.region", "take no such field"),
    ],
)
async def test_a_keys_fields_are_checked_and_a_bad_one_is_named(
    control: ControlPlane, fields: dict[str, object] | None, param: str, message: str
) -> None:
    pid = (await control.create_project("p", actor=ACTOR)).project.id
    with pytest.raises(InvalidRequestError, match=message) as refused:
        await control.set_provider_key(pid, "azure", AZURE_KEY, actor=ACTOR, fields=fields)
    assert refused.value.param == param
    assert AZURE_KEY.reveal() not in str(refused.value)
    assert await control.list_provider_keys(pid) == []
    with pytest.raises(InvalidRequestError, match="OpenAI keys take no such field"):
        await control.set_provider_key(
            pid, "openai", OPENAI_KEY, actor=ACTOR, fields={"endpoint": "https://x"}
        )


async def test_a_keys_fields_are_stored_beside_it_in_plain_and_the_key_never(control: ControlPlane) -> None:
    pid = (await control.create_project("p", actor=ACTOR)).project.id
    fields = {**AZURE_FIELDS, "deployments": {"gpt-4o": "prod-4o"}}
    credential, _ = await control.set_provider_key(pid, "azure", AZURE_KEY, actor=ACTOR, fields=fields)
    assert credential.fields == {**fields, "endpoint": "https://contoso.openai.azure.com"}
    [stored] = await control.list_provider_keys(pid)
    assert stored.fields == credential.fields
    assert AZURE_KEY.reveal() not in repr(stored)
    replaced, _ = await control.set_provider_key(pid, "azure", AZURE_KEY, actor=ACTOR, fields=AZURE_FIELDS)
    assert "deployments" not in replaced.fields  # a replaced key takes its own fields, nothing carried over


@pytest.fixture
def stub_base() -> Iterator[str]:
    provider_stub.VALID_KEYS.clear()
    provider_stub.SEEN.clear()
    with running_server(provider_stub.app) as base:
        yield base


def _control_against(store: Store, vault: Vault, transport: Transport, base: str) -> ControlPlane:
    urls = {
        "openai": f"{base}/openai/v1",
        "groq": f"{base}/groq/openai/v1",
        "anthropic": f"{base}/anthropic",
        "gemini": f"{base}/gemini",
    }
    return ControlPlane(store, vault, default_registry(), transport, urls)


@pytest.mark.parametrize(
    ("provider", "key"),
    [("openai", OPENAI_KEY), ("anthropic", ANTHROPIC_KEY), ("groq", GROQ_KEY), ("gemini", GEMINI_KEY)],
)
async def test_verify_against_the_providers_models_endpoint(
    store: Store, vault: Vault, stub_base: str, provider: str, key: Secret
) -> None:
    async with Transport(timeout_s=5) as transport:
        control = _control_against(store, vault, transport, stub_base)
        pid = (await control.create_project("p", actor=ACTOR)).project.id
        with pytest.raises(InvalidRequestError, match=r"rejected this key .*nothing was stored"):
            await control.set_provider_key(pid, provider, key, actor=ACTOR, verify=True)
        assert await control.list_provider_keys(pid) == []
        assert (await control.audit_log(pid))[0].outcome == "invalid"
        provider_stub.VALID_KEYS.add(key.reveal())
        credential, check = await control.set_provider_key(pid, provider, key, actor=ACTOR, verify=True)
        assert check is not None
        assert check.outcome is KeyCheckOutcome.VALID
        assert check.http_status == 200
        assert [c.id for c in await control.list_provider_keys(pid)] == [credential.id]
        assert key.reveal() not in check.detail


async def test_verify_reports_unreachable_and_rate_limited_but_stores(
    store: Store, vault: Vault, stub_base: str
) -> None:
    async with Transport(timeout_s=2) as transport:
        control = ControlPlane(
            store,
            vault,
            default_registry(),
            transport,
            {"openai": f"{stub_base}/limited/v1", "groq": "http://127.0.0.1:9/nothing"},
        )
        pid = (await control.create_project("p", actor=ACTOR)).project.id
        _, check = await control.set_provider_key(pid, "openai", OPENAI_KEY, actor=ACTOR, verify=True)
        assert check is not None
        assert check.outcome is KeyCheckOutcome.RATE_LIMITED
        _, check = await control.set_provider_key(pid, "groq", GROQ_KEY, actor=ACTOR, verify=True)
        assert check is not None
        assert check.outcome is KeyCheckOutcome.UNREACHABLE
        assert {c.provider for c in await control.list_provider_keys(pid)} == {"openai", "groq"}
