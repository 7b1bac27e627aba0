"""``byokgate projects`` and ``byokgate api-keys``: projects and their API keys."""

from __future__ import annotations

from datetime import datetime

import click

from byokgate.app import Components
from byokgate.cli.common import actor, emit, iso, json_option, run


@click.group()
def projects() -> None:
    """Create, list, rename and delete projects."""


@projects.command("create")
@click.argument("name")
@json_option
def projects_create(name: str, as_json: bool) -> None:
    async def work(c: Components) -> None:
        created = await c.control.create_project(name, actor=actor())
        data = {
            "id": created.project.id,
            "name": created.project.name,
            "api_key": created.api_key.plaintext.reveal(),
            "api_key_id": created.api_key.key.id,
        }

        def human() -> None:
            click.echo(f"project {created.project.id} ({created.project.name}) created")
            click.echo(f"API key (shown once, store it now): {data['api_key']}")

        emit(data, as_json, human)

    run(work)


@projects.command("list")
@json_option
def projects_list(as_json: bool) -> None:
    async def work(c: Components) -> None:
        found = await c.control.list_projects(limit=10_000)
        data = [{"id": p.id, "name": p.name, "created_at": p.created_at} for p in found]

        def human() -> None:
            for p in found:
                click.echo(f"{p.id}  {iso(p.created_at)}  {p.name}")

        emit(data, as_json, human)

    run(work)


@projects.command("rename")
@click.argument("project_id")
@click.argument("name")
def projects_rename(project_id: str, name: str) -> None:
    async def work(c: Components) -> None:
        project = await c.control.rename_project(project_id, name, actor=actor())
        click.echo(f"project {project.id} renamed to {project.name}")

    run(work)


@projects.command("delete")
@click.argument("project_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def projects_delete(project_id: str, yes: bool) -> None:
    """Delete a project; its data key is shredded, so its provider keys become unrecoverable."""
    if not yes:
        click.confirm(f"Delete project {project_id} and shred its keys?", abort=True)

    async def work(c: Components) -> None:
        await c.control.delete_project(project_id, actor=actor())
        click.echo(f"project {project_id} deleted")

    run(work)


@click.group("api-keys")
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
        created = await c.control.create_api_key(project_id, name=name, expires_at=expires_at, actor=actor())
        data = {"id": created.key.id, "key": created.plaintext.reveal(), "expires_at": created.key.expires_at}
        emit(data, as_json, lambda: click.echo(f"API key {created.key.id} (shown once): {data['key']}"))

    run(work)


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
                used = iso(k.last_used_at)
                click.echo(f"{k.id}  {k.display_prefix}...  {state:7}  last used {used}  {k.name or ''}")

        emit(data, as_json, human)

    run(work)


@api_keys.command("revoke")
@click.argument("project_id")
@click.argument("key_id")
def api_keys_revoke(project_id: str, key_id: str) -> None:
    async def work(c: Components) -> None:
        await c.control.revoke_api_key(project_id, key_id, actor=actor())
        click.echo(f"API key {key_id} revoked")

    run(work)
