"""``byokgate keys``: a project's provider keys (a pool of named keys per provider) and their fields."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from byokgate.app import Components
from byokgate.cli.common import actor, emit, iso, json_option, run
from byokgate.domain.entities import DEFAULT_KEY_NAME
from byokgate.domain.secret import Secret


@click.group()
def keys() -> None:
    """Provider keys (bring your own key) of a project."""


def _read_secret(provider: str) -> Secret:
    """From a hidden prompt on a terminal, else from standard input; never from argv."""
    if sys.stdin.isatty():
        value = click.prompt(f"{provider} API key", hide_input=True)
    else:
        value = sys.stdin.readline()
    return Secret(value.rstrip("\r\n"))


def _fields(given: tuple[str, ...]) -> dict[str, Any]:
    """``--field name=value`` options; a value that starts with ``{`` is read as a JSON object."""
    fields: dict[str, Any] = {}
    for item in given:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r}: expected NAME=VALUE", param_hint="--field")
        try:
            fields[name] = json.loads(value) if value.startswith("{") else value
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"{name}: not a JSON object ({exc})", param_hint="--field") from None
    return fields


@keys.command("set")
@click.argument("project_id")
@click.argument("provider")
@click.option("--verify", is_flag=True, help="Check the key against the provider's models endpoint first.")
@click.option(
    "--field",
    "given_fields",
    multiple=True,
    metavar="NAME=VALUE",
    help="A non-secret field the provider's keys carry (Azure OpenAI: endpoint, api_version, "
    'deployments=\'{"gpt-4o": "my-deployment"}\'). Repeat for each.',
)
@click.option("--name", default=DEFAULT_KEY_NAME, show_default=True, help="The key's name in the pool.")
@click.option("--weight", type=click.IntRange(0, 1000), default=1, show_default=True, help="Its share.")
@click.option("--disabled", is_flag=True, help="Store it disabled (kept, never used).")
def keys_set(
    project_id: str,
    provider: str,
    verify: bool,
    given_fields: tuple[str, ...],
    name: str,
    weight: int,
    disabled: bool,
) -> None:
    """Store (or rotate) a key of PROVIDER's pool for PROJECT_ID, read from a prompt or stdin."""
    fields = _fields(given_fields)
    secret = _read_secret(provider)

    async def work(c: Components) -> None:
        credential, check = await c.control.set_provider_key(
            project_id,
            provider,
            secret,
            actor=actor(),
            verify=verify,
            fields=fields,
            name=name,
            weight=weight,
            state="disabled" if disabled else "active",
        )
        click.echo(f"{provider} key {name!r} stored for {project_id}: {credential.masked} ({credential.id})")
        if check is not None:
            click.echo(f"verification: {check.outcome.value} ({check.detail})")

    run(work)


@keys.command("list")
@click.argument("project_id")
@json_option
def keys_list(project_id: str, as_json: bool) -> None:
    async def work(c: Components) -> None:
        found = await c.control.list_provider_keys(project_id)
        data = [
            {
                "provider": k.provider,
                "name": k.name,
                "credential_id": k.id,
                "masked": k.masked,
                "weight": k.weight,
                "state": k.state,
                "fields": dict(k.fields),
                "updated_at": k.updated_at,
            }
            for k in found
        ]

        def human() -> None:
            for k in found:
                click.echo(
                    f"{k.provider:10}  {k.name:12}  {k.masked:24}  w{k.weight:<4} {k.state:8}  {k.id}  "
                    f"updated {iso(k.updated_at)}"
                )

        emit(data, as_json, human)

    run(work)


@keys.command("update")
@click.argument("project_id")
@click.argument("provider")
@click.argument("name")
@click.option("--weight", type=click.IntRange(0, 1000), default=None, help="Its share of the pool.")
@click.option(
    "--state", type=click.Choice(["active", "disabled"]), default=None, help="active also lifts a cooldown."
)
def keys_update(project_id: str, provider: str, name: str, weight: int | None, state: str | None) -> None:
    """Change a pool key's weight or state."""

    async def work(c: Components) -> None:
        credential = await c.control.update_provider_key(
            project_id, provider, name, actor=actor(), weight=weight, state=state
        )
        click.echo(f"{provider} key {name!r}: weight {credential.weight}, {credential.state}")

    run(work)


@keys.command("delete")
@click.argument("project_id")
@click.argument("provider")
@click.option("--name", default=None, help="Only this key of the pool (default: every key of the provider).")
def keys_delete(project_id: str, provider: str, name: str | None) -> None:
    async def work(c: Components) -> None:
        await c.control.delete_provider_key(project_id, provider, actor=actor(), name=name)
        click.echo(f"{provider} key{' ' + repr(name) if name else 's'} deleted from {project_id}")

    run(work)
