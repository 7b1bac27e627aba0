"""``byokgate users``: the dashboard's users (the first admin is made here)."""

from __future__ import annotations

import sys

import click

from byokgate.app import Components
from byokgate.cli.common import actor, emit, json_option, run


@click.group()
def users() -> None:
    """Create the dashboard's users."""


@users.command("create")
@click.option("--email", required=True, help="The user's email address (their sign-in name).")
@click.option("--admin", is_flag=True, help="An admin of the gateway: sees and changes every project.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (a line).")
@json_option
def users_create(email: str, admin: bool, password_stdin: bool, as_json: bool) -> None:
    """Create a user; the password is asked for (twice), or read from standard input."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def work(c: Components) -> None:
        from byokgate.dashboard.sessions import Accounts, SignInError

        accounts = Accounts(c.store, session_hours=c.settings.dashboard_session_hours)
        try:
            user = await accounts.create_user(email, password, admin=admin, actor=actor())
        except SignInError as exc:
            raise click.ClickException(str(exc)) from None
        data = {"id": user.id, "email": user.email, "admin": user.is_admin}
        emit(
            data,
            as_json,
            lambda: click.echo(f"user {user.id} ({user.email}{', admin' if admin else ''}) created"),
        )

    run(work, check_keys=False)


@users.command("member")
@click.option("--email", required=True, help="The user's email address.")
@click.option("--project", "project_id", required=True, help="The project's id.")
@click.option(
    "--role",
    type=click.Choice(["read", "write", "none"]),
    required=True,
    help="none: take the membership away.",
)
def users_member(email: str, project_id: str, role: str) -> None:
    """Make a user a member of a project (read: sees it; write: changes it), or not."""

    async def work(c: Components) -> None:
        from byokgate.dashboard.sessions import Accounts, SignInError

        accounts = Accounts(c.store, session_hours=c.settings.dashboard_session_hours)
        try:
            user = await accounts.set_member(
                email, project_id, None if role == "none" else role, actor=actor()
            )
        except SignInError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{user.email}: {role} in {project_id}")

    run(work, check_keys=False)
