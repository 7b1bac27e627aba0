"""``byokgate audit``, ``usage``, ``billing`` and ``credits``: what a project did and what it pays."""

from __future__ import annotations

from datetime import datetime

import click

from byokgate.app import Components
from byokgate.cli.common import emit, iso, json_option, run
from byokgate.errors import ApiError


@click.command()
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
                click.echo(f"{e.id:>6}  {iso(e.at)}  {e.actor:16}  {e.action:20}  {provider:9}  {e.outcome}")

        emit(data, as_json, human)

    run(work)


@click.command()
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

        emit([with_usd(row) for row in rows], as_json, human)

    run(work)


@click.group()
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
        emit(data, as_json, lambda: click.echo(f"{plan.name} ({plan.title}), policy {settings.policy}"))

    run(work)


@billing.command("set")
@click.argument("project_id")
@click.option("--plan", help="A plan this gateway defines (free, starter, teams as shipped).")
@click.option("--policy", type=click.Choice(["byok_only", "byok_then_pooled", "pooled_only"]))
def billing_set(project_id: str, plan: str | None, policy: str | None) -> None:
    """Change the plan and/or the billing policy."""

    async def work(c: Components) -> None:
        updated = await c.control.set_billing(project_id, plan=plan, policy=policy, actor="cli")
        click.echo(f"{c.control.plans.get(updated.plan).name}, policy {updated.policy}")

    run(work)


@click.group()
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
                click.echo(f"  {iso(e.at)}  {e.kind:7}  {usd(e.amount_micro_usd):>14}  {what}")

        emit(data, as_json, human)

    run(work)


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

    run(work)
