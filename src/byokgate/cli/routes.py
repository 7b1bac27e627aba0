"""``byokgate routes`` (list, set, delete a project's routes) and ``byokgate apply routes.yaml``.

A routes file names the project and lists its routes in their JSON form (docs/routing.md, "Routes"):

    project: proj_...
    routes:
      - name: fast
        targets:
          - {provider: groq, model: llama-3.3-70b-versatile}
          - {provider: openai, model: gpt-4o-mini}
        retries: 1

``apply`` makes the project's routes exactly the file's (created, replaced, deleted; unchanged ones left
alone), so applying it twice changes nothing the second time; ``--dry-run`` prints the diff and changes
nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml

from byokgate.admin.routes import RouteAdmin, RoutePlan, parse_routes
from byokgate.app import Components
from byokgate.cli.common import actor, emit, json_option, run
from byokgate.domain.routes import RouteConfig, RouteError, route_from
from byokgate.errors import ApiError


@click.group()
def routes() -> None:
    """A project's routes: names and aliases mapped to ordered targets (docs/routing.md)."""


@routes.command("list")
@click.argument("project_id")
@json_option
def routes_list(project_id: str, as_json: bool) -> None:
    async def work(c: Components) -> None:
        found = await RouteAdmin(c.control).list(project_id)
        emit([route.as_json() for route in found], as_json, lambda: _print_routes(found))

    run(work)


@routes.command("set")
@click.argument("project_id")
@click.argument("name")
@click.option(
    "--target",
    "targets",
    multiple=True,
    required=True,
    help="provider:model[:lane[:weight]], in the order they are tried (repeat the option).",
)
@click.option("--retries", type=click.IntRange(0, 10), default=None, help="Retries per target.")
@click.option("--timeout", "timeout_s", type=float, default=None, help="Each attempt's wait for a byte (s).")
@click.option("--ttft-timeout", "ttft_timeout_s", type=float, default=None, help="First content (s).")
@click.option("--deadline", "deadline_s", type=float, default=None, help="The whole chain (s).")
def routes_set(project_id: str, name: str, targets: tuple[str, ...], **limits: Any) -> None:
    """Create or replace one route."""
    body: dict[str, Any] = {"targets": [_target(spec) for spec in targets]}
    body.update({key: value for key, value in limits.items() if value is not None})
    try:
        route = route_from(body, name)
    except RouteError as exc:
        raise click.ClickException(f"{exc.field}: {exc.message}") from None

    async def work(c: Components) -> None:
        await RouteAdmin(c.control).put(project_id, route, actor=actor())
        click.echo(f"route {name} set: {' -> '.join(t.provider + ':' + t.model for t in route.targets)}")

    run(work)


@routes.command("delete")
@click.argument("project_id")
@click.argument("name")
def routes_delete(project_id: str, name: str) -> None:
    async def work(c: Components) -> None:
        await RouteAdmin(c.control).delete(project_id, name, actor=actor())
        click.echo(f"route {name} deleted")

    run(work)


@click.command("apply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--project", "project_id", default=None, help="The project (default: the file's `project`).")
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@json_option
def apply(file: Path, project_id: str | None, dry_run: bool, as_json: bool) -> None:
    """Make a project's routes exactly those of a routes file (YAML or JSON)."""
    try:
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file}: not YAML ({exc})") from None
    if not isinstance(document, dict) or set(document) - {"project", "routes"}:
        raise click.ClickException(f"{file}: expected a mapping with `project` and `routes` only")
    project_id = project_id or document.get("project")
    if not isinstance(project_id, str) or not project_id:
        raise click.ClickException(f"{file}: no `project` (or give --project)")
    try:
        parsed = parse_routes(document.get("routes") or [])
    except ApiError as exc:
        raise click.ClickException(f"{file}: {exc.message}") from None

    async def work(c: Components) -> None:
        plan = await RouteAdmin(c.control).apply(project_id, parsed, actor=actor(), dry_run=dry_run)
        data = {
            "project": project_id,
            "dry_run": dry_run,
            **{key: getattr(plan, key) for key in ("created", "replaced", "deleted", "unchanged")},
        }
        emit(data, as_json, lambda: _print_plan(plan, parsed, dry_run))

    run(work)


def _target(spec: str) -> dict[str, Any]:
    provider, _, rest = spec.partition(":")
    model, _, rest = rest.partition(":")
    lane, _, weight = rest.partition(":")
    target: dict[str, Any] = {"provider": provider, "model": model}
    if lane:
        target["lane"] = lane
    if weight:
        try:
            target["weight"] = float(weight)
        except ValueError:
            raise click.BadParameter(f"{spec}: the weight must be a number", param_hint="--target") from None
    return target


def _print_routes(found: list[RouteConfig]) -> None:
    for route in found:
        chain = " -> ".join(
            f"{t.provider}:{t.model}" + ("" if t.lane == "byok" else f" ({t.lane})") for t in route.targets
        )
        click.echo(f"{route.name}  {chain}")


def _print_plan(plan: RoutePlan, routes: list[RouteConfig], dry_run: bool) -> None:
    new = {route.name: route for route in routes}
    verb = "would be " if dry_run else ""
    for name in plan.created:
        click.echo(f"+ {name} ({verb}created)")
        click.echo(_indented("+", new[name]))
    for name in plan.replaced:
        click.echo(f"~ {name} ({verb}replaced)")
        click.echo(_indented("-", plan.previous[name]))
        click.echo(_indented("+", new[name]))
    for name in plan.deleted:
        click.echo(f"- {name} ({verb}deleted)")
    for name in plan.unchanged:
        click.echo(f"= {name} (unchanged)")
    if plan.empty:
        click.echo("no changes")


def _indented(mark: str, route: RouteConfig) -> str:
    return f"    {mark} {json.dumps(route.as_json(), sort_keys=True)}"
