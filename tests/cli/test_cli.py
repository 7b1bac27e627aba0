"""The CLI against a real database (SQLite and PostgreSQL), through click's runner."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from click.testing import CliRunner

from byokgate.cli import main
from byokgate.domain.entities import RequestRecord
from byokgate.store import migrate
from byokgate.store.database import Store
from tests.cli.conftest import run as _run
from tests.conftest import OPENAI_KEY


def test_projects_keys_and_audit_round_trip(cli_env: dict[str, str]) -> None:
    created = json.loads(_run(cli_env, "projects", "create", "acme", "--json"))
    pid = created["id"]
    assert created["api_key"].startswith("lgw_proj_")
    assert pid in _run(cli_env, "projects", "list")
    out = _run(cli_env, "keys", "set", pid, "openai", stdin=OPENAI_KEY.reveal() + "\n")
    assert "sk-proj-..." in out
    assert OPENAI_KEY.reveal() not in out
    listed = json.loads(_run(cli_env, "keys", "list", pid, "--json"))
    assert [k["provider"] for k in listed] == ["openai"]
    assert OPENAI_KEY.reveal() not in json.dumps(listed)
    key = json.loads(_run(cli_env, "api-keys", "create", pid, "--name", "ci", "--json"))
    _run(cli_env, "api-keys", "revoke", pid, key["id"])
    keys = json.loads(_run(cli_env, "api-keys", "list", pid, "--json"))
    assert {k["id"]: k["revoked_at"] is not None for k in keys}[key["id"]]
    _run(cli_env, "projects", "rename", pid, "acme2")
    _run(cli_env, "keys", "delete", pid, "openai")
    audit = json.loads(_run(cli_env, "audit", pid, "--json"))
    actions = [e["action"] for e in audit]
    assert actions == [
        "provider_key.delete",
        "project.rename",
        "api_key.revoke",
        "api_key.create",
        "provider_key.set",
        "project.create",
    ]
    assert all(e["actor"].startswith("cli") for e in audit)
    _run(cli_env, "projects", "delete", pid, "--yes")
    assert pid not in _run(cli_env, "projects", "list")


def test_errors_are_messages_not_tracebacks(cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main, ["keys", "set", "proj_nope", "openai"], env=cli_env, input="sk-abcdefghijklmnop\n"
    )
    assert result.exit_code == 1
    assert "no project with id" in result.output
    pid = json.loads(_run(cli_env, "projects", "create", "x", "--json"))["id"]
    result = runner.invoke(main, ["keys", "set", pid, "groq"], env=cli_env, input=OPENAI_KEY.reveal() + "\n")
    assert result.exit_code == 1
    assert "OpenAI key" in result.output
    assert OPENAI_KEY.reveal() not in result.output
    result = runner.invoke(main, ["keys", "set", pid, "bedrock"], env=cli_env, input="x\n")
    assert result.exit_code == 1
    assert "unknown provider" in result.output
    azure_key = "0123456789abcdef" * 2
    result = runner.invoke(main, ["keys", "set", pid, "azure"], env=cli_env, input=azure_key + "\n")
    assert result.exit_code == 1
    assert "endpoint: required for Azure OpenAI keys" in result.output
    result = runner.invoke(
        main,
        ["keys", "set", pid, "azure", "--field", "deployments={oops"],
        env=cli_env,
        input=azure_key + "\n",
    )
    assert result.exit_code == 2
    assert "deployments: not a JSON object" in result.output


def test_a_keys_fields_are_set_from_the_command_line(cli_env: dict[str, str]) -> None:
    pid = json.loads(_run(cli_env, "projects", "create", "x", "--json"))["id"]
    fields = ["--field", "endpoint=https://contoso.openai.azure.com", "--field", "api_version=2024-10-21"]
    deployments = ["--field", 'deployments={"gpt-4o": "prod-4o"}']
    _run(cli_env, "keys", "set", pid, "azure", *fields, *deployments, stdin="0123456789abcdef" * 2)
    [listed] = json.loads(_run(cli_env, "keys", "list", pid, "--json"))
    assert listed["fields"] == {
        "endpoint": "https://contoso.openai.azure.com",
        "api_version": "2024-10-21",
        "deployments": {"gpt-4o": "prod-4o"},
    }
    assert "0123456789abcdef" not in json.dumps(listed)


def test_rotate_master_key_and_wrong_key(cli_env: dict[str, str]) -> None:
    pid = json.loads(_run(cli_env, "projects", "create", "x", "--json"))["id"]
    _run(cli_env, "keys", "set", pid, "openai", stdin=OPENAI_KEY.reveal())
    old = cli_env["BYOKGATE_MASTER_KEY"]
    new = _run(cli_env, "gen-master-key", "--id", "k2").strip()
    assert new.startswith("k2:")
    rotated_env = {**cli_env, "BYOKGATE_MASTER_KEY": f"{new},{old}"}
    out = _run(rotated_env, "rotate-master-key")
    assert "re-wrapped 1 data key(s)" in out
    assert "'k2': 1" in out
    only_new = {**cli_env, "BYOKGATE_MASTER_KEY": new}
    assert "sk-proj-..." in _run(only_new, "keys", "list", pid)
    # The old key alone no longer opens anything: a clear error, not garbage.
    result = CliRunner().invoke(main, ["keys", "list", pid], env=cli_env)
    assert result.exit_code == 1
    assert "k2" in result.output
    assert "does not contain" in result.output


def test_migrate_reports_the_revision(cli_env: dict[str, str]) -> None:
    assert f"revision {migrate.head_revision()}" in _run(cli_env, "migrate")


def test_usage_report_from_the_command_line(cli_env: dict[str, str]) -> None:
    pid = json.loads(_run(cli_env, "projects", "create", "acme", "--json"))["id"]

    async def log_requests() -> None:
        store = Store.from_url(cli_env["BYOKGATE_DATABASE_URL"])
        try:
            async with store.transaction() as tx:
                await tx.requests.append_many(
                    [
                        RequestRecord(
                            id=f"req_{n:032x}",
                            created_at=datetime(2026, 11, 2, 12, tzinfo=UTC),
                            project_id=pid,
                            api_key_id="key_a",
                            endpoint="chat/completions",
                            lane="byok",
                            provider="openai",
                            credential_id=None,
                            requested_model="gpt-4o",
                            resolved_model="gpt-4o",
                            stream=False,
                            status=200,
                            error_code=None,
                            latency_ms=1.0,
                            upstream_ms=1.0,
                            total_tokens=15,
                            cost_micro_usd=1_250,
                        )
                        for n in range(2)
                    ]
                )
        finally:
            await store.close()

    asyncio.run(log_requests())
    window = ("--start", "2026-11-01", "--end", "2026-11-30")
    csv_text = _run(cli_env, "usage", pid, *window, "--group-by", "day,model", "--csv")
    header, row = csv_text.splitlines()
    assert header.startswith("day,model,requests,")
    assert row.startswith("2026-11-02,gpt-4o,2,0,0,")
    assert row.endswith(",0.002500,0.000000,0.000000")
    as_json = json.loads(_run(cli_env, "usage", pid, *window, "--json"))
    assert [(r["day"], r["requests"], r["cost_usd"]) for r in as_json] == [("2026-11-02", 2, "0.002500")]
    bad = CliRunner().invoke(main, ["usage", pid, "--group-by", "colour"], env=cli_env)
    assert bad.exit_code == 2
    assert "group_by" in bad.output


def test_plans_and_credits_from_the_command_line(cli_env: dict[str, str]) -> None:
    pid = json.loads(_run(cli_env, "projects", "create", "acme", "--json"))["id"]
    assert json.loads(_run(cli_env, "billing", "show", pid, "--json")) == {
        "plan": "free",
        "title": "Free preview",
        "policy": "byok_then_pooled",
    }
    assert _run(cli_env, "billing", "set", pid, "--plan", "teams", "--policy", "byok_only").strip() == (
        "teams, policy byok_only"
    )
    assert (
        _run(cli_env, "credits", "add", pid, "2.5", "--note", "invoice 7").strip() == "balance 3.500000 USD"
    )
    shown = json.loads(_run(cli_env, "credits", "show", pid, "--json"))
    assert shown["balance_usd"] == "3.500000"
    assert [(e["kind"], e["amount_usd"]) for e in shown["ledger"]] == [
        ("topup", "2.500000"),
        ("grant", "1.000000"),
    ]
    refused = CliRunner().invoke(main, ["billing", "set", pid, "--plan", "gold"], env=cli_env)
    assert refused.exit_code == 1
    assert "unknown plan" in refused.output
