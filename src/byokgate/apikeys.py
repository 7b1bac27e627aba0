"""Project API keys: ``lgw_proj_`` + 43 URL-safe characters (256 random bits), stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from byokgate.domain.secret import Secret

PROJECT_KEY_PREFIX = "lgw_proj_"
_RANDOM_BYTES = 32
DISPLAY_CHARS = 4


def generate_project_key() -> Secret:
    return Secret(PROJECT_KEY_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES))


def hash_project_key(key: str) -> str:
    """Keys carry 256 random bits, so a fast hash is the right tool (no salt or KDF needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: Secret) -> str:
    """What listings show: the prefix and the first few random characters."""
    return key.reveal()[: len(PROJECT_KEY_PREFIX) + DISPLAY_CHARS]


def looks_like_project_key(value: str) -> bool:
    return value.startswith(PROJECT_KEY_PREFIX) and len(value) >= len(PROJECT_KEY_PREFIX) + 32
