"""The store facade: one transaction, the repositories bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from byokgate.store.api_keys import ApiKeyRepository
from byokgate.store.audit import AuditRepository
from byokgate.store.billing import BillingRepository
from byokgate.store.bodies import BodyRepository
from byokgate.store.cache_settings import CacheSettingsRepository
from byokgate.store.credentials import CredentialRepository
from byokgate.store.credits import CreditRepository
from byokgate.store.engine import create_engine
from byokgate.store.journal import JournalRepository
from byokgate.store.limits import LimitsRepository
from byokgate.store.projects import ProjectRepository
from byokgate.store.requests import RequestLogRepository
from byokgate.store.routes import RouteRepository
from byokgate.store.state import StateRepository
from byokgate.store.usage import UsageRepository
from byokgate.store.users import UserRepository

_QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout


def timed_out(error: BaseException) -> bool:
    """Whether a database error is a statement cancelled by ``Transaction.time_limit``."""
    return isinstance(error, DBAPIError) and getattr(error.orig, "pgcode", None) == _QUERY_CANCELED


class Transaction:
    async def time_limit(self, seconds: float) -> None:
        """Cancel any later statement of this transaction that runs longer than ``seconds`` (PostgreSQL;
        ``timed_out`` tells the error apart). SQLite has no such limit: it is left alone there."""
        if self.connection.dialect.name == "postgresql":
            milliseconds = max(1, int(seconds * 1000))
            await self.connection.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")

    def __init__(self, conn: AsyncConnection) -> None:
        self.connection = conn
        self.projects = ProjectRepository(conn)
        self.api_keys = ApiKeyRepository(conn)
        self.credentials = CredentialRepository(conn)
        self.audit = AuditRepository(conn)
        self.state = StateRepository(conn)
        self.requests = RequestLogRepository(conn)
        self.bodies = BodyRepository(conn)
        self.cache_settings = CacheSettingsRepository(conn)
        self.limits = LimitsRepository(conn)
        self.billing = BillingRepository(conn)
        self.credits = CreditRepository(conn)
        self.routes = RouteRepository(conn)
        self.journal = JournalRepository(conn)
        self.usage = UsageRepository(conn)
        self.users = UserRepository(conn)


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(create_engine(url))

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self.engine.begin() as conn:
            yield Transaction(conn)

    async def close(self) -> None:
        await self.engine.dispose()
