"""Signing in and out: users, session cookies, CSRF tokens, and the throttle on failed sign-ins.

A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure over HTTPS, or always with
``BYOKGATE_DASHBOARD_SECURE_COOKIES=always``); the database keeps only its SHA-256 and the session's CSRF
token, which every state-changing form carries back. Before sign-in, the sign-in form's CSRF token is
checked against a cookie of its own (double submit), so that another site cannot sign a browser in.
Failed sign-ins are counted per email and per client address; past the limit, sign-in is refused for a
while with a message that says how long (counted in this process: each instance counts its own).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from byokgate.dashboard.passwords import hash_password, problem, verify
from byokgate.domain.entities import NewAuditEvent
from byokgate.domain.ids import new_id
from byokgate.store.database import Store
from byokgate.store.users import Session, User

SESSION_COOKIE = "byokgate_session"
PRESESSION_COOKIE = "byokgate_signin"  # the sign-in form's CSRF token, before there is a session


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


class SignInError(Exception):
    """Refused; the message is for the person at the form, ``field`` the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ThrottledError(SignInError):
    pass


@dataclass
class Throttle:
    """At most ``failures`` failed sign-ins per email, and ``failures * 4`` per client address, within
    ``window_s``; past that, refused until the oldest failure leaves the window."""

    failures: int = 5
    window_s: float = 15 * 60

    def __post_init__(self) -> None:
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - self.window_s:
            seen.popleft()
        return seen

    def wait_s(self, email: str, client: str, now: float | None = None) -> float:
        """Seconds until a sign-in for ``email`` from ``client`` may be tried (0: now)."""
        now = time.monotonic() if now is None else now
        waits = [0.0]
        for key, limit in ((f"email:{email}", self.failures), (f"client:{client}", self.failures * 4)):
            seen = self._recent(key, now)
            if len(seen) >= limit:
                waits.append(seen[0] + self.window_s - now)
        return max(waits)

    def failed(self, email: str, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if len(self._seen) > 100_000:  # a flood of made-up emails: forget the lot rather than grow
            self._seen.clear()
        for key in (f"email:{email}", f"client:{client}"):
            self._recent(key, now).append(now)

    def succeeded(self, email: str) -> None:
        self._seen.pop(f"email:{email}", None)


class Accounts:
    """The dashboard's users and sessions, over the store."""

    def __init__(self, store: Store, *, session_hours: float, throttle: Throttle | None = None) -> None:
        self._store = store
        self._lifetime = timedelta(hours=session_hours)
        self.throttle = throttle or Throttle()

    @property
    def lifetime_s(self) -> int:
        return int(self._lifetime.total_seconds())

    async def create_user(self, email: str, password: str, *, admin: bool, actor: str = "cli") -> User:
        """A new user (audit-logged as ``actor``); ``SignInError`` says what is wrong with the email or
        the password."""
        email = normalize(email)
        if "@" not in email or len(email) > 254:
            raise SignInError("Give an email address.", "email")
        why = problem(password, email)
        if why is not None:
            raise SignInError(why, "password")
        now = datetime.now(UTC)
        user = User(new_id("usr"), email, hash_password(password), admin, now, now)
        async with self._store.transaction() as tx:
            if await tx.users.by_email(email) is not None:
                raise SignInError(f"There is already a user {email}.", "email")
            await tx.users.add(user)
            detail = {"user_id": user.id, "email": user.email, "admin": admin}
            await tx.audit.append(NewAuditEvent(actor, "user.create", detail=detail))
        return user

    async def set_member(self, email: str, project_id: str, role: str | None, *, actor: str) -> User:
        """Give the user ``role`` (read or write) in the project, or (None) take their membership away;
        audit-logged."""
        if role not in (None, "read", "write"):
            raise SignInError("A role is read or write.", "role")
        async with self._store.transaction() as tx:
            user = await tx.users.by_email(normalize(email))
            if user is None:
                raise SignInError(f"There is no user {normalize(email)}.", "email")
            if await tx.projects.get(project_id) is None:
                raise SignInError(f"There is no project {project_id}.")
            await tx.users.set_role(user.id, project_id, role)
            detail = {"user_id": user.id, "role": role}
            await tx.audit.append(NewAuditEvent(actor, "project.member", project_id, detail=detail))
        return user

    async def users(self) -> list[User]:
        async with self._store.transaction() as tx:
            return await tx.users.list_all()

    async def members(self, project_id: str) -> list[tuple[User, str]]:
        async with self._store.transaction() as tx:
            return await tx.users.members(project_id)

    async def set_admin(self, user_id: str, admin: bool, *, by: User) -> User:
        """Make a user an admin of the gateway, or not; an admin cannot demote themself (someone must stay
        able to manage users)."""
        async with self._store.transaction() as tx:
            user = await tx.users.get(user_id)
            if user is None:
                raise SignInError("There is no such user.")
            if user.id == by.id and not admin:
                raise SignInError("You cannot take your own admin role: ask another admin.")
            await tx.users.set_admin(user.id, admin)
            detail = {"user_id": user.id, "email": user.email, "admin": admin}
            await tx.audit.append(NewAuditEvent(f"user:{by.id}", "user.admin", detail=detail))
        return user

    async def remove_user(self, user_id: str, *, by: User) -> User:
        """Delete a user (not oneself), their sessions and memberships; audit-logged."""
        async with self._store.transaction() as tx:
            user = await tx.users.get(user_id)
            if user is None:
                raise SignInError("There is no such user.")
            if user.id == by.id:
                raise SignInError("You cannot delete yourself: ask another admin.")
            await tx.users.remove(user.id)
            detail = {"user_id": user.id, "email": user.email}
            await tx.audit.append(NewAuditEvent(f"user:{by.id}", "user.delete", detail=detail))
        return user

    async def sign_in(self, email: str, password: str, client: str) -> str:
        """A new session's cookie token; ``SignInError`` with what to tell the person."""
        email = normalize(email)
        wait = self.throttle.wait_s(email, client)
        if wait > 0:
            minutes = max(1, round(wait / 60))
            raise ThrottledError(
                f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
            )
        async with self._store.transaction() as tx:
            user = await tx.users.by_email(email)
        if not verify(user.password_hash if user else None, password) or user is None:
            self.throttle.failed(email, client)
            raise SignInError("That email and password do not match a user.")
        self.throttle.succeeded(email)
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), datetime.now(UTC)
        async with self._store.transaction() as tx:
            await tx.users.forget_expired_sessions(now)
            await tx.users.open_session(token_hash(token), user.id, csrf, now, now + self._lifetime)
        return token

    async def session(self, token: str | None) -> Session | None:
        if not token or len(token) > 128:
            return None
        async with self._store.transaction() as tx:
            return await tx.users.session(token_hash(token), datetime.now(UTC))

    async def sign_out(self, session: Session) -> None:
        async with self._store.transaction() as tx:
            await tx.users.close_session(session.token_hash)

    async def change_password(self, session: Session, current: str, new: str) -> None:
        """Every session of the user ends, this one included (sign in again with the new password)."""
        if not verify(session.user.password_hash, current):
            raise SignInError("Your current password is not right.", "current")
        why = problem(new, session.user.email)
        if why is not None:
            raise SignInError(why, "new")
        async with self._store.transaction() as tx:
            await tx.users.set_password(session.user.id, hash_password(new), datetime.now(UTC))


def normalize(email: str) -> str:
    return email.strip().lower()
