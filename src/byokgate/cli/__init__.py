"""``byokgate`` command line: serve, migrate, master keys, the demo, and the control plane against the
configured database (``projects.py``, ``keys.py``, ``routes.py``, ``reports.py``; helpers in
``common.py``)."""

from __future__ import annotations

import sys

import click

from byokgate.admin.keyring import rotate_master_key
from byokgate.app import Components, create_app
from byokgate.cli.common import actor, load_settings, run
from byokgate.cli.keys import keys
from byokgate.cli.projects import api_keys, projects
from byokgate.cli.reports import audit, billing, credits, usage
from byokgate.cli.routes import apply, routes
from byokgate.cli.users import users
from byokgate.emulators.cli import emulate
from byokgate.logs import configure_logging
from byokgate.store import migrate as migrations
from byokgate.vault import Keyring, VaultError


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

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
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

    revision = run(work, check_keys=False)
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
        report = await rotate_master_key(c.store, c.vault, actor=actor(), batch_size=batch_size)
        click.echo(f"active master key: {report.active_key_id}")
        click.echo(f"re-wrapped {report.rewrapped} data key(s)")
        click.echo(f"data keys by master key before: {report.before or '{}'}; after: {report.after or '{}'}")

    run(work)


@main.command()
@click.option("--serve", "keep_serving", is_flag=True, help="Keep the gateway running afterwards.")
@click.option("--port", type=int, default=0, help="Gateway port with --serve (default: any free port).")
def demo(keep_serving: bool, port: int) -> None:
    """Run the offline demo: emulated providers, a demo project, requests through the OpenAI SDK."""
    from byokgate.demo import run_demo

    configure_logging("warning")
    run_demo(click.echo, keep_serving=keep_serving, port=port)


for command in (projects, api_keys, keys, routes, apply, audit, usage, billing, credits, emulate, users):
    main.add_command(command)
