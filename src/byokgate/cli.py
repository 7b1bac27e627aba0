"""``byokgate`` command line: serve, migrate, and the control plane against the configured database."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from byokgate.admin.keyring import check_keyring, rotate_master_key
from byokgate.app import Components, build_components, create_app
from byokgate.domain.secret import Secret
from byokgate.emulators.cli import emulate
from byokgate.errors import ApiError
from byokgate.logs import configure_logging
from byokgate.settings import Settings
from byokgate.store import migrate as migrations
from byokgate.vault import Keyring, VaultError

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings()
    except (ValidationError, ValueError) as exc:
        raise click.ClickException(f"invalid configuration: {exc}") from None


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _run(work: Callable[[Components], Awaitable[T]], *, check_keys: bool = True) -> T:
    """Build the components, migrate, check the keyring, run ``work``, and always clean up."""
    settings = _settings()

    async def main() -> T:
        try:
            components = build_components(settings)
        except VaultError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            await migrations.upgrade(components.store.engine)
            if check_keys:
                await check_keyring(components.store, components.vault)
            return await work(components)
        finally:
            await components.aclose()

    try:
        return asyncio.run(main())
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    except VaultError as exc:
        raise click.ClickException(str(exc)) from None


def _emit(data: Any, as_json: bool, human: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        human()


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


@click.group()
@click.version_option(package_name="byokgate")
def main() -> None:
    """byokgate: a self-hostable LLM gateway with bring-your-own-key credentials."""
    configure_logging("warning")


@main.command()
@click.option("--host", default=None, help="Bind address (default BYOKGATE_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default BYOKGATE_PORT or 8080).")
def serve(host: str | None, port: int | None) -> None:
    """Apply migrations and serve the gateway, within its front-door limits (README: Front-door limits)."""
    import contextlib

    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from byokgate.serving import FrontDoorLimits, ensure_file_limit, server_config

    settings = _settings()
    configure_logging(settings.log_level)
    try:
        app = create_app(settings)
    except (VaultError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    limits = FrontDoorLimits.from_settings(settings)
    ensure_file_limit(limits)
    config = server_config(app, limits, host=host or settings.host, port=port or settings.port)
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the SIGINT it shut down on
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)  # e.g. the port is taken, as uvicorn.run reports it


@main.command()
def migrate() -> None:
    """Apply database migrations up to the latest."""

    async def work(c: Components) -> str | None:
        return await migrations.current_revision(c.store.engine)

    revision = _run(work, check_keys=False)
    click.echo(f"database at revision {revision}")


@main.command("gen-master-key")
@click.option("--id", "key_id", default="k1", show_default=True, help="Key id to put in front of the key.")
def gen_master_key(key_id: str) -> None:
    """Print a new master key entry (id:base64) for BYOKGATE_MASTER_KEY."""
    try:
        click.echo(Keyring.generate_entry(key_id))
    except VaultError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("rotate-master-key")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=200, show_default=True)
def rotate_master_key_cmd(batch_size: int) -> None:
    """Re-wrap every project data key under the active (first) master key.

    Put the new key first in BYOKGATE_MASTER_KEY and keep the old one after it, on the gateways too,
    then run this; the gateway keeps serving throughout. Remove the old key once this reports zero
    data keys left under it.
    """

    async def work(c: Components) -> None:
        report = await rotate_master_key(c.store, c.vault, actor=_actor(), batch_size=batch_size)
        click.echo(f"active master key: {report.active_key_id}")
        click.echo(f"re-wrapped {report.rewrapped} data key(s)")
        click.echo(f"data keys by master key before: {report.before or '{}'}; after: {report.after or '{}'}")

    _run(work)


@main.group()
def projects() -> None:
    """Create, list, rename and delete projects."""


@projects.command("create")
@click.argument("name")
@json_option
def projects_create(name: str, as_json: bool) -> None:
    async def work(c: Components) -> None:
        created = await c.control.create_project(name, actor=_actor())
        data = {
            "id": created.project.id,
            "name": created.project.name,
            "api_key": created.api_key.plaintext.reveal(),
            "api_key_id": created.api_key.key.id,
        }

        def human() -> None:
            click.echo(f"project {created.project.id} ({created.project.name}) created")
            click.echo(f"API key (shown once, store it now): {data['api_key']}")

        _emit(data, as_json, human)

    _run(work)


@projects.command("list")
@json_option
def projects_list(as_json: bool) -> None:
    async def work(c: Components) -> None:
        found = await c.control.list_projects(limit=10_000)
        data = [{"id": p.id, "name": p.name, "created_at": p.created_at} for p in found]

        def human() -> None:
            for p in found:
                click.echo(f"{p.id}  {_iso(p.created_at)}  {p.name}")

        _emit(data, as_json, human)

    _run(work)


@projects.command("rename")
@click.argument("project_id")
@click.argument("name")
def projects_rename(project_id: str, name: str) -> None:
    async def work(c: Components) -> None:
        project = await c.control.rename_project(project_id, name, actor=_actor())
        click.echo(f"project {project.id} renamed to {project.name}")

    _run(work)


@projects.command("delete")
@click.argument("project_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def projects_delete(project_id: str, yes: bool) -> None:
    """Delete a project; its data key is shredded, so its provider keys become unrecoverable."""
    if not yes:
        click.confirm(f"Delete project {project_id} and shred its keys?", abort=True)

    async def work(c: Components) -> None:
        await c.control.delete_project(project_id, actor=_actor())
        click.echo(f"project {project_id} deleted")

    _run(work)


@main.group("api-keys")
def api_keys() -> None:
    """Project API keys (lgw_proj_...)."""


@api_keys.command("create")
@click.argument("project_id")
@click.option("--name", default=None)
@click.option(
    "--expires-at", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z"]), default=None
)
@json_option
def api_keys_create(project_id: str, name: str | None, expires_at: datetime | None, as_json: bool) -> None:
    async def work(c: Components) -> None:
        created = await c.control.create_api_key(project_id, name=name, expires_at=expires_at, actor=_actor())
        data = {"id": created.key.id, "key": created.plaintext.reveal(), "expires_at": created.key.expires_at}
        _emit(data, as_json, lambda: click.echo(f"API key {created.key.id} (shown once): {data['key']}"))

    _run(work)


@api_keys.command("list")
@click.argument("project_id")
@json_option
def api_keys_list(project_id: str, as_json: bool) -> None:
    async def work(c: Components) -> None:
        keys = await c.control.list_api_keys(project_id)
        data = [
            {
                "id": k.id,
                "name": k.name,
                "prefix": k.display_prefix,
                "expires_at": k.expires_at,
                "revoked_at": k.revoked_at,
                "last_used_at": k.last_used_at,
            }
            for k in keys
        ]

        def human() -> None:
            for k in keys:
                state = "revoked" if k.revoked_at else "active"
                used = _iso(k.last_used_at)
                click.echo(f"{k.id}  {k.display_prefix}...  {state:7}  last used {used}  {k.name or ''}")

        _emit(data, as_json, human)

    _run(work)


@api_keys.command("revoke")
@click.argument("project_id")
@click.argument("key_id")
def api_keys_revoke(project_id: str, key_id: str) -> None:
    async def work(c: Components) -> None:
        await c.control.revoke_api_key(project_id, key_id, actor=_actor())
        click.echo(f"API key {key_id} revoked")

    _run(work)


@main.group()
def keys() -> None:
    """Provider keys (bring your own key) of a project."""


def _read_secret(provider: str) -> Secret:
    """From a hidden prompt on a terminal, else from standard input; never from argv."""
    if sys.stdin.isatty():
        value = click.prompt(f"{provider} API key", hide_input=True)
    else:
        value = sys.stdin.readline()
    return Secret(value.rstrip("\r\n"))


@keys.command("set")
@click.argument("project_id")
@click.argument("provider")
@click.option("--verify", is_flag=True, help="Check the key against the provider's models endpoint first.")
def keys_set(project_id: str, provider: str, verify: bool) -> None:
    """Store (or replace) PROVIDER's key for PROJECT_ID, read from a prompt or stdin."""
    secret = _read_secret(provider)

    async def work(c: Components) -> None:
        credential, check = await c.control.set_provider_key(
            project_id, provider, secret, actor=_actor(), verify=verify
        )
        click.echo(f"{provider} key stored for {project_id}: {credential.masked} ({credential.id})")
        if check is not None:
            click.echo(f"verification: {check.outcome.value} ({check.detail})")

    _run(work)


@keys.command("list")
@click.argument("project_id")
@json_option
def keys_list(project_id: str, as_json: bool) -> None:
    async def work(c: Components) -> None:
        found = await c.control.list_provider_keys(project_id)
        data = [
            {"provider": k.provider, "credential_id": k.id, "masked": k.masked, "updated_at": k.updated_at}
            for k in found
        ]

        def human() -> None:
            for k in found:
                click.echo(f"{k.provider:10}  {k.masked:24}  {k.id}  updated {_iso(k.updated_at)}")

        _emit(data, as_json, human)

    _run(work)


@keys.command("delete")
@click.argument("project_id")
@click.argument("provider")
def keys_delete(project_id: str, provider: str) -> None:
    async def work(c: Components) -> None:
        await c.control.delete_provider_key(project_id, provider, actor=_actor())
        click.echo(f"{provider} key deleted from {project_id}")

    _run(work)


@main.command()
@click.argument("project_id")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@json_option
def audit(project_id: str, limit: int, as_json: bool) -> None:
    """Show a project's audit trail, newest first."""

    async def work(c: Components) -> None:
        events = await c.control.audit_log(project_id, limit=limit)
        data = [
            {
                "id": e.id,
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "provider": e.provider,
                "credential_id": e.credential_id,
                "api_key_id": e.api_key_id,
                "request_id": e.request_id,
                "outcome": e.outcome,
                "detail": e.detail,
            }
            for e in events
        ]

        def human() -> None:
            for e in events:
                provider = e.provider or "-"
                click.echo(f"{e.id:>6}  {_iso(e.at)}  {e.actor:16}  {e.action:20}  {provider:9}  {e.outcome}")

        _emit(data, as_json, human)

    _run(work)


@main.command()
@click.argument("project_id")
@click.option(
    "--start", type=click.DateTime(["%Y-%m-%d"]), help="First UTC day (default: the 1st of this month)."
)
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last UTC day, included (default: today).")
@click.option("--group-by", default="day", show_default=True, help="day, model, provider, lane, api_key")
@click.option("--csv", "as_csv_text", is_flag=True, help="CSV instead of a table.")
@json_option
def usage(
    project_id: str,
    start: datetime | None,
    end: datetime | None,
    group_by: str,
    as_csv_text: bool,
    as_json: bool,
) -> None:
    """Show a project's usage: requests, tokens, cost and cache savings per group."""
    from byokgate.admin.usage import as_csv, grouping, period, with_usd

    async def work(c: Components) -> None:
        try:
            first, last = period(start.date() if start else None, end.date() if end else None)
            groups = grouping(group_by)
        except ApiError as exc:
            raise click.UsageError(exc.message) from None
        rows = await c.control.usage(project_id, first, last, groups)
        if as_csv_text:
            click.echo(as_csv(rows, groups), nl=False)
            return

        def human() -> None:
            for row in rows:
                shown = with_usd(row)
                keys = "  ".join(str(shown[name]) for name in groups)
                click.echo(
                    f"{keys}  requests={shown['requests']}  tokens={shown['total_tokens']}  "
                    f"cost={shown['cost_usd']}  saved={shown['cost_saved_usd']}"
                )

        _emit([with_usd(row) for row in rows], as_json, human)

    _run(work)


@main.group()
def billing() -> None:
    """A project's plan and billing policy."""


@billing.command("show")
@click.argument("project_id")
@json_option
def billing_show(project_id: str, as_json: bool) -> None:
    """Show the plan and the billing policy."""

    async def work(c: Components) -> None:
        settings = await c.control.billing(project_id)
        plan = c.control.plans.get(settings.plan)
        data = {"plan": plan.name, "title": plan.title, "policy": settings.policy}
        _emit(data, as_json, lambda: click.echo(f"{plan.name} ({plan.title}), policy {settings.policy}"))

    _run(work)


@billing.command("set")
@click.argument("project_id")
@click.option("--plan", help="A plan this gateway defines (free, starter, teams as shipped).")
@click.option("--policy", type=click.Choice(["byok_only", "byok_then_pooled", "pooled_only"]))
def billing_set(project_id: str, plan: str | None, policy: str | None) -> None:
    """Change the plan and/or the billing policy."""

    async def work(c: Components) -> None:
        updated = await c.control.set_billing(project_id, plan=plan, policy=policy, actor="cli")
        click.echo(f"{c.control.plans.get(updated.plan).name}, policy {updated.policy}")

    _run(work)


@main.group()
def credits() -> None:
    """A project's platform credits (the pooled lane)."""


@credits.command("show")
@click.argument("project_id")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@json_option
def credits_show(project_id: str, limit: int, as_json: bool) -> None:
    """Show the balance and the newest ledger entries."""
    from byokgate.pricing.cost import usd

    async def work(c: Components) -> None:
        account, entries = await c.control.credits(project_id, limit=limit)
        data = {
            "balance_usd": usd(account.balance_micro_usd),
            "granted_usd": usd(account.granted_micro_usd),
            "charged_usd": usd(account.charged_micro_usd),
            "ledger": [
                {
                    "at": e.at,
                    "kind": e.kind,
                    "amount_usd": usd(e.amount_micro_usd),
                    "request_id": e.request_id,
                }
                for e in entries
            ],
        }

        def human() -> None:
            totals = f"granted {data['granted_usd']}, charged {data['charged_usd']}"
            click.echo(f"balance {data['balance_usd']} USD ({totals})")
            for e in entries:
                what = e.request_id or e.note or ""
                click.echo(f"  {_iso(e.at)}  {e.kind:7}  {usd(e.amount_micro_usd):>14}  {what}")

        _emit(data, as_json, human)

    _run(work)


@credits.command("add")
@click.argument("project_id")
@click.argument("amount_usd", type=click.FloatRange(min=0.000001, max=1_000_000))
@click.option("--kind", type=click.Choice(["topup", "grant", "refund"]), default="topup", show_default=True)
@click.option("--note", default=None, help="Kept in the ledger (an invoice number, say).")
def credits_add(project_id: str, amount_usd: float, kind: str, note: str | None) -> None:
    """Add credits: a top-up, a grant or a refund."""
    from byokgate.pricing.cost import usd

    async def work(c: Components) -> None:
        amount = round(amount_usd * 1_000_000)
        account = await c.control.add_credits(project_id, kind, amount, note, actor="cli")
        click.echo(f"balance {usd(account.balance_micro_usd)} USD")

    _run(work)


main.add_command(emulate)


@main.command()
@click.option("--serve", "keep_serving", is_flag=True, help="Keep the gateway running afterwards.")
@click.option("--port", type=int, default=0, help="Gateway port with --serve (default: any free port).")
def demo(keep_serving: bool, port: int) -> None:
    """Run the offline demo: emulated providers, a demo project, requests through the OpenAI SDK."""
    from byokgate.demo import run_demo

    configure_logging("warning")
    run_demo(click.echo, keep_serving=keep_serving, port=port)
