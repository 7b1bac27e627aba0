"""Project-key authentication from the in-memory snapshot."""

from __future__ import annotations

from datetime import datetime

from byokgate.errors import AuthenticationError
from byokgate.snapshot.model import KeyEntry, Snapshot


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def api_key_header(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"x-api-key":
            token = value.decode("latin-1").strip()
            return token or None
    return None


def authenticate(
    snapshot: Snapshot, headers: list[tuple[bytes, bytes]], now: datetime, *, x_api_key: bool = False
) -> KeyEntry:
    """The project key from ``Authorization: Bearer`` (or, on Anthropic-format endpoints, ``x-api-key``)."""
    token = bearer_token(headers)
    if token is None and x_api_key:
        token = api_key_header(headers)
    return authenticate_token(snapshot, token, now)


def authenticate_token(snapshot: Snapshot, token: str | None, now: datetime) -> KeyEntry:
    """A project key however it came (a header, a query parameter) checked against the snapshot."""
    if token is None:
        raise AuthenticationError(
            "You didn't provide an API key. "
            "Send your byokgate project key as 'Authorization: Bearer lgw_proj_...'."
        )
    entry = snapshot.authenticate(token, now)
    if entry is None:
        shown = f"{token[:9]}****{token[-4:]}" if len(token) > 16 else "****"
        raise AuthenticationError(
            f"Incorrect API key provided: {shown}. Use an active byokgate project key (lgw_proj_...)."
        )
    return entry
