"""Where the admin token comes from: ``BYOKGATE_ADMIN_TOKEN``, or a generated development token file."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from byokgate.domain.secret import Secret
from byokgate.settings import Settings

log = logging.getLogger(__name__)

DEV_TOKEN_FILE = "admin.token"  # noqa: S105 (a file name)
MIN_LENGTH = 16


class AdminTokenConfigError(ValueError):
    pass


def resolve_admin_token(settings: Settings) -> Secret:
    if settings.admin_token is not None:
        value = settings.admin_token.get_secret_value()
        if len(value) < MIN_LENGTH:
            raise AdminTokenConfigError(f"BYOKGATE_ADMIN_TOKEN must be at least {MIN_LENGTH} characters")
        return Secret(value)
    if settings.is_production:
        raise AdminTokenConfigError("BYOKGATE_ADMIN_TOKEN is required when BYOKGATE_ENV=production")
    path: Path = settings.data_dir / DEV_TOKEN_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
        log.warning(
            "No BYOKGATE_ADMIN_TOKEN set: generated a development admin token in %s (mode 0600)", path
        )
    elif stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise AdminTokenConfigError(f"{path} is readable by other users; chmod 600 it")
    return Secret(path.read_text().strip())
