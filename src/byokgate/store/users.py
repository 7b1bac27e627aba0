"""Dashboard users and their sessions: the rows behind sign-in (hashes only: no password, no token)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from byokgate.store.tables import project_members, user_sessions, users


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    password_hash: str
    is_admin: bool
    created_at: datetime
    password_changed_at: datetime


@dataclass(frozen=True, slots=True)
class Session:
    token_hash: str
    user: User
    csrf_token: str
    expires_at: datetime


class UserRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, user: User) -> None:
        await self._conn.execute(
            insert(users).values(
                id=user.id,
                email=user.email,
                password_hash=user.password_hash,
                is_admin=user.is_admin,
                created_at=user.created_at,
                password_changed_at=user.password_changed_at,
            )
        )

    async def by_email(self, email: str) -> User | None:
        row = (await self._conn.execute(select(users).where(users.c.email == email))).first()
        return User(**row._mapping) if row is not None else None

    async def get(self, user_id: str) -> User | None:
        row = (await self._conn.execute(select(users).where(users.c.id == user_id))).first()
        return User(**row._mapping) if row is not None else None

    async def list_all(self) -> list[User]:
        """Every user, by email."""
        rows = await self._conn.execute(select(users).order_by(users.c.email))
        return [User(**row._mapping) for row in rows]

    async def members(self, project_id: str) -> list[tuple[User, str]]:
        """The project's members and their roles, by email."""
        statement = (
            select(users, project_members.c.role)
            .join(project_members, project_members.c.user_id == users.c.id)
            .where(project_members.c.project_id == project_id)
            .order_by(users.c.email)
        )
        found = []
        for row in await self._conn.execute(statement):
            values = dict(row._mapping)
            role = values.pop("role")
            found.append((User(**values), role))
        return found

    async def set_admin(self, user_id: str, admin: bool) -> None:
        await self._conn.execute(update(users).where(users.c.id == user_id).values(is_admin=admin))

    async def remove(self, user_id: str) -> None:
        """The user, their sessions and memberships (gone at once: their next page asks them to sign in)."""
        await self._conn.execute(delete(user_sessions).where(user_sessions.c.user_id == user_id))
        await self._conn.execute(delete(project_members).where(project_members.c.user_id == user_id))
        await self._conn.execute(delete(users).where(users.c.id == user_id))

    async def count(self) -> int:
        return len((await self._conn.execute(select(users.c.id))).all())

    async def set_password(self, user_id: str, password_hash: str, now: datetime) -> None:
        """A new password hash; every session of the user ends (sign in again everywhere)."""
        await self._conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(password_hash=password_hash, password_changed_at=now)
        )
        await self._conn.execute(delete(user_sessions).where(user_sessions.c.user_id == user_id))

    async def open_session(
        self, token_hash: str, user_id: str, csrf_token: str, now: datetime, expires_at: datetime
    ) -> None:
        await self._conn.execute(
            insert(user_sessions).values(
                token_hash=token_hash,
                user_id=user_id,
                csrf_token=csrf_token,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def session(self, token_hash: str, now: datetime) -> Session | None:
        """The live session with that token hash and its user (None: unknown or expired)."""
        statement = (
            select(user_sessions.c.csrf_token, user_sessions.c.expires_at, users)
            .join(users, users.c.id == user_sessions.c.user_id)
            .where(user_sessions.c.token_hash == token_hash, user_sessions.c.expires_at > now)
        )
        row = (await self._conn.execute(statement)).first()
        if row is None:
            return None
        values = dict(row._mapping)
        csrf, expires = values.pop("csrf_token"), values.pop("expires_at")
        return Session(token_hash, User(**values), csrf, expires)

    async def close_session(self, token_hash: str) -> None:
        await self._conn.execute(delete(user_sessions).where(user_sessions.c.token_hash == token_hash))

    async def project_ids(self, user_id: str) -> set[str]:
        """The projects the user is a member of (read or write)."""
        rows = await self._conn.execute(
            select(project_members.c.project_id).where(project_members.c.user_id == user_id)
        )
        return {row[0] for row in rows}

    async def set_role(self, user_id: str, project_id: str, role: str | None) -> None:
        """Make the user a member of the project with ``role`` (read or write); None: not a member."""
        await self._conn.execute(
            delete(project_members).where(
                project_members.c.user_id == user_id, project_members.c.project_id == project_id
            )
        )
        if role is not None:
            await self._conn.execute(
                insert(project_members).values(project_id=project_id, user_id=user_id, role=role)
            )

    async def role(self, user_id: str, project_id: str) -> str | None:
        """The user's role in the project (read or write); None when not a member."""
        statement = select(project_members.c.role).where(
            project_members.c.user_id == user_id, project_members.c.project_id == project_id
        )
        return (await self._conn.execute(statement)).scalar_one_or_none()

    async def forget_expired_sessions(self, now: datetime) -> None:
        await self._conn.execute(delete(user_sessions).where(user_sessions.c.expires_at <= now))
