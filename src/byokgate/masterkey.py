"""Where the master keyring comes from: ``BYOKGATE_MASTER_KEY``, or a generated development key file."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from byokgate.settings import Settings
from byokgate.vault import Keyring, KeyringError

log = logging.getLogger(__name__)

DEV_KEY_FILE = "master.key"
DEV_KEY_ID = "dev"


class MasterKeyConfigError(KeyringError):
    """The master key configuration cannot be used; the message says what to do."""


def resolve_keyring(settings: Settings) -> Keyring:
    if settings.master_key is not None:
        return Keyring.parse(settings.master_key.get_secret_value())
    if settings.is_production:
        raise MasterKeyConfigError(
            "BYOKGATE_MASTER_KEY is required when BYOKGATE_ENV=production; "
            "generate one with `byokgate gen-master-key`"
        )
    return _development_keyring(settings.data_dir / DEV_KEY_FILE)


def _development_keyring(path: Path) -> Keyring:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = Keyring.generate_entry(DEV_KEY_ID)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(entry + "\n")
        log.warning(
            "!!! No BYOKGATE_MASTER_KEY set: generated a DEVELOPMENT master key in %s (mode 0600). "
            "Anyone who can read that file can decrypt every stored provider key. "
            "Set BYOKGATE_MASTER_KEY for real deployments. !!!",
            path,
        )
    else:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise MasterKeyConfigError(f"{path} is readable by other users (mode {mode:o}); chmod 600 it")
        log.warning(
            "!!! Using the DEVELOPMENT master key from %s; set BYOKGATE_MASTER_KEY for real deployments !!!",
            path,
        )
    return Keyring.parse(path.read_text().strip())
