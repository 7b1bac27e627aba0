"""The admin API's view of the data plane's health: circuit breakers that are not closed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from byokgate.health.breakers import Breakers


def add_health_endpoints(router: APIRouter, breakers: Breakers) -> None:
    @router.get("/breakers")
    async def list_breakers() -> dict[str, Any]:
        """Circuit breakers open or half-open on this instance (shared through Redis when configured):
        ``provider:<name>`` per provider (unreachable), ``model:<provider>/<model>`` per model (failing
        answers), ``key:<credential id>`` per project key."""
        data = []
        for name, breaker in sorted(breakers.view().items()):
            kind, _, subject = name.partition(":")
            data.append(
                {
                    "object": "breaker",
                    "name": name,
                    "kind": kind,
                    "subject": subject,
                    "state": str(breaker.state),
                    "opened_until": _moment(breaker.opened_until),
                    "last_failure": _moment(breaker.last_failure),
                    "consecutive_failures": breaker.consecutive,
                }
            )
        return {"object": "list", "data": data}


def _moment(epoch: float) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch else None
