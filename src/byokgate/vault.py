"""Envelope encryption of provider keys.

master keyring (key id -> 32 bytes)
  └─ wraps a per-project data key with AES-256-GCM   (AAD: project id)
       └─ encrypts each provider key with AES-256-GCM (AAD: project id, provider, credential id)

Wrapped data key layout:  version(1) | len(key id)(1) | key id | nonce(12) | ciphertext+tag
Credential layout:        version(1) | nonce(12) | ciphertext+tag

The key id inside the wrapped data key names the master key that can open it, so a keyring can hold old
and new master keys during a rotation. Because the AAD binds the ciphertext to its row, a blob copied to
another project, provider or credential id fails authentication instead of decrypting.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from byokgate.domain.secret import Secret

FORMAT_VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
DEFAULT_KEY_ID = "default"

_DATA_KEY_AAD = b"byokgate:data-key:v1\x00"
_CREDENTIAL_AAD = b"byokgate:credential:v1\x00"


class VaultError(Exception):
    """Base class; messages never contain key material."""


class KeyringError(VaultError):
    """The configured master keyring is malformed."""


class UnknownMasterKeyError(VaultError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"data key is wrapped with master key id {key_id!r}, which is not in the keyring")
        self.key_id = key_id


class DecryptionError(VaultError):
    """Authentication failed: wrong key, or the ciphertext was altered or moved to another row."""


@dataclass(frozen=True, slots=True)
class WrappedDataKey:
    blob: bytes
    master_key_id: str


class Keyring:
    """Master keys by id; the first one is active (used for new wraps)."""

    def __init__(self, entries: Sequence[tuple[str, bytes]]) -> None:
        if not entries:
            raise KeyringError("the master keyring is empty")
        keys: dict[str, bytes] = {}
        for key_id, key in entries:
            if not KEY_ID_PATTERN.match(key_id):
                raise KeyringError(f"master key id {key_id!r} must match {KEY_ID_PATTERN.pattern}")
            if len(key) != KEY_BYTES:
                raise KeyringError(f"master key {key_id!r} must be {KEY_BYTES} bytes, got {len(key)}")
            if key_id in keys:
                raise KeyringError(f"master key id {key_id!r} appears twice")
            keys[key_id] = key
        self._keys = keys
        self.active_id = entries[0][0]

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """Parse ``base64`` or ``id:base64[,id:base64...]``. Errors never echo the key text."""
        entries: list[tuple[str, bytes]] = []
        items = [item.strip() for item in text.split(",") if item.strip()]
        if not items:
            raise KeyringError("BYOKGATE_MASTER_KEY is empty")
        for position, item in enumerate(items, start=1):
            key_id, sep, encoded = item.partition(":")
            if not sep:
                if len(items) > 1:
                    raise KeyringError(f"keyring entry {position} needs the form id:base64key")
                key_id, encoded = DEFAULT_KEY_ID, item
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise KeyringError(f"keyring entry {position} ({key_id!r}) is not valid base64") from None
            entries.append((key_id.strip(), key))
        return cls(entries)

    @staticmethod
    def generate_entry(key_id: str) -> str:
        """A new ``id:base64`` entry with 32 random bytes."""
        if not KEY_ID_PATTERN.match(key_id):
            raise KeyringError(f"master key id {key_id!r} must match {KEY_ID_PATTERN.pattern}")
        return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"

    @property
    def ids(self) -> list[str]:
        return list(self._keys)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def key(self, key_id: str) -> bytes:
        try:
            return self._keys[key_id]
        except KeyError:
            raise UnknownMasterKeyError(key_id) from None

    def __repr__(self) -> str:
        return f"Keyring(active={self.active_id!r}, ids={self.ids!r})"


def _data_key_aad(project_id: str) -> bytes:
    return _DATA_KEY_AAD + project_id.encode()


def _credential_aad(project_id: str, provider: str, credential_id: str) -> bytes:
    return b"\x00".join((_CREDENTIAL_AAD, project_id.encode(), provider.encode(), credential_id.encode()))


def wrapped_key_id(blob: bytes) -> str:
    """The master key id recorded inside a wrapped data key."""
    if len(blob) < 2 or blob[0] != FORMAT_VERSION:
        raise DecryptionError("wrapped data key has an unknown format version")
    length = blob[1]
    if len(blob) < 2 + length + NONCE_BYTES + 16:
        raise DecryptionError("wrapped data key is truncated")
    return blob[2 : 2 + length].decode("ascii", errors="replace")


class Vault:
    """Pure crypto over a keyring: no I/O, no storage."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def new_data_key(self, project_id: str) -> tuple[bytes, WrappedDataKey]:
        data_key = AESGCM.generate_key(bit_length=256)
        return data_key, self.wrap(project_id, data_key)

    def wrap(self, project_id: str, data_key: bytes) -> WrappedDataKey:
        key_id = self.keyring.active_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keyring.key(key_id)).encrypt(nonce, data_key, _data_key_aad(project_id))
        encoded_id = key_id.encode("ascii")
        blob = bytes((FORMAT_VERSION, len(encoded_id))) + encoded_id + nonce + sealed
        return WrappedDataKey(blob=blob, master_key_id=key_id)

    def unwrap(self, project_id: str, blob: bytes) -> bytes:
        key_id = wrapped_key_id(blob)
        master = self.keyring.key(key_id)
        offset = 2 + blob[1]
        nonce, sealed = blob[offset : offset + NONCE_BYTES], blob[offset + NONCE_BYTES :]
        try:
            return AESGCM(master).decrypt(nonce, sealed, _data_key_aad(project_id))
        except InvalidTag:
            raise DecryptionError(
                f"master key {key_id!r} does not open the data key of project {project_id} "
                "(wrong master key, or the wrapped key belongs to another project)"
            ) from None

    def rewrap(self, project_id: str, blob: bytes) -> WrappedDataKey | None:
        """Re-wrap under the active master key; None when it already is."""
        if wrapped_key_id(blob) == self.keyring.active_id:
            return None
        return self.wrap(project_id, self.unwrap(project_id, blob))

    @staticmethod
    def encrypt_credential(
        data_key: bytes, project_id: str, provider: str, credential_id: str, secret: Secret
    ) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        aad = _credential_aad(project_id, provider, credential_id)
        return (
            bytes((FORMAT_VERSION,)) + nonce + AESGCM(data_key).encrypt(nonce, secret.reveal().encode(), aad)
        )

    @staticmethod
    def decrypt_credential(
        data_key: bytes, project_id: str, provider: str, credential_id: str, blob: bytes
    ) -> Secret:
        if len(blob) < 1 + NONCE_BYTES + 16 or blob[0] != FORMAT_VERSION:
            raise DecryptionError("credential ciphertext has an unknown format or is truncated")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            plaintext = AESGCM(data_key).decrypt(
                nonce, sealed, _credential_aad(project_id, provider, credential_id)
            )
        except InvalidTag:
            raise DecryptionError(
                f"credential {credential_id} does not decrypt for project {project_id} / {provider} "
                "(altered, or moved from another row)"
            ) from None
        return Secret(plaintext.decode())


def seal(data_key: bytes, aad: bytes, plaintext: bytes) -> bytes:
    """Data a project keeps for a while (a stored conversation) encrypted under its data key, bound to
    ``aad`` (what it is and whose)."""
    nonce = os.urandom(NONCE_BYTES)
    return bytes((FORMAT_VERSION,)) + nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad)


def unseal(data_key: bytes, aad: bytes, blob: bytes) -> bytes:
    """What ``seal`` encrypted (``DecryptionError`` when it was altered or is another's)."""
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[0] != FORMAT_VERSION:
        raise DecryptionError("sealed data has an unknown format or is truncated")
    try:
        return AESGCM(data_key).decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], aad)
    except InvalidTag:
        raise DecryptionError("sealed data does not decrypt (altered, or another project's)") from None


def missing_key_ids(keyring: Keyring, wanted: Iterable[str]) -> list[str]:
    """Key ids in ``wanted`` that the keyring lacks."""
    return sorted({key_id for key_id in wanted if key_id not in keyring})
