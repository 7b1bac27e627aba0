"""What the ``byokgate`` commands share: settings, the components around one piece of work, output."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from byokgate.admin.keyring import check_keyring
from byokgate.app import Components, build_components
from byokgate.errors import ApiError
from byokgate.settings import Settings
from byokgate.store import migrate as migrations
from byokgate.vault import VaultError

T = TypeVar("T")


def load_settings() -> Settings:
    try:
        return Settings()
    except (ValidationError, ValueError) as exc:
        raise click.ClickException(f"invalid configuration: {exc}") from None


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def run(work: Callable[[Components], Awaitable[T]], *, check_keys: bool = True) -> T:
    """Build the components, migrate, check the keyring, run ``work``, and always clean up."""
    settings = load_settings()

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


def emit(data: Any, as_json: bool, human: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        human()


def iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
