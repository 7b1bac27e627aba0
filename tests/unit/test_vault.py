from __future__ import annotations

import base64

import pytest

from byokgate.domain.secret import Secret
from byokgate.vault import (
    DecryptionError,
    Keyring,
    KeyringError,
    UnknownMasterKeyError,
    Vault,
    wrapped_key_id,
)

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()
SECRET = Secret("sk-proj-supersecretvalue0123456789")


def test_data_key_round_trip_records_the_master_key_id() -> None:
    vault = Vault(Keyring.parse(f"k1:{KEY_A}"))
    data_key, wrapped = vault.new_data_key("proj_1")
    assert len(data_key) == 32
    assert wrapped.master_key_id == "k1"
    assert wrapped_key_id(wrapped.blob) == "k1"
    assert wrapped.blob[0] == 1  # format version
    assert vault.unwrap("proj_1", wrapped.blob) == data_key


def test_wrapped_data_key_is_bound_to_its_project() -> None:
    vault = Vault(Keyring.parse(KEY_A))
    _, wrapped = vault.new_data_key("proj_1")
    with pytest.raises(DecryptionError):
        vault.unwrap("proj_2", wrapped.blob)


def test_credential_round_trip() -> None:
    vault = Vault(Keyring.parse(KEY_A))
    data_key, _ = vault.new_data_key("proj_1")
    blob = vault.encrypt_credential(data_key, "proj_1", "openai", "cred_1", SECRET)
    assert SECRET.reveal().encode() not in blob
    assert blob[0] == 1
    assert vault.decrypt_credential(data_key, "proj_1", "openai", "cred_1", blob) == SECRET


@pytest.mark.parametrize(
    ("project", "provider", "credential"),
    [("proj_2", "openai", "cred_1"), ("proj_1", "groq", "cred_1"), ("proj_1", "openai", "cred_2")],
)
def test_credential_moved_to_another_row_fails(project: str, provider: str, credential: str) -> None:
    vault = Vault(Keyring.parse(KEY_A))
    data_key, _ = vault.new_data_key("proj_1")
    blob = vault.encrypt_credential(data_key, "proj_1", "openai", "cred_1", SECRET)
    with pytest.raises(DecryptionError):
        vault.decrypt_credential(data_key, project, provider, credential, blob)


def test_credential_under_another_projects_data_key_fails() -> None:
    vault = Vault(Keyring.parse(KEY_A))
    key_1, _ = vault.new_data_key("proj_1")
    key_2, _ = vault.new_data_key("proj_2")
    blob = vault.encrypt_credential(key_1, "proj_1", "openai", "cred_1", SECRET)
    with pytest.raises(DecryptionError):
        vault.decrypt_credential(key_2, "proj_1", "openai", "cred_1", blob)


def test_tampered_ciphertext_fails() -> None:
    vault = Vault(Keyring.parse(KEY_A))
    data_key, wrapped = vault.new_data_key("proj_1")
    blob = bytearray(vault.encrypt_credential(data_key, "proj_1", "openai", "cred_1", SECRET))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        vault.decrypt_credential(data_key, "proj_1", "openai", "cred_1", bytes(blob))
    wrapped_blob = bytearray(wrapped.blob)
    wrapped_blob[-3] ^= 0x80
    with pytest.raises(DecryptionError):
        vault.unwrap("proj_1", bytes(wrapped_blob))


def test_wrong_master_key_is_a_clear_error_not_garbage() -> None:
    _, wrapped = Vault(Keyring.parse(f"k1:{KEY_A}")).new_data_key("proj_1")
    with pytest.raises(DecryptionError, match="does not open the data key"):
        Vault(Keyring.parse(f"k1:{KEY_B}")).unwrap("proj_1", wrapped.blob)


def test_unknown_master_key_id() -> None:
    _, wrapped = Vault(Keyring.parse(f"old:{KEY_A}")).new_data_key("proj_1")
    with pytest.raises(UnknownMasterKeyError, match="'old'"):
        Vault(Keyring.parse(f"new:{KEY_B}")).unwrap("proj_1", wrapped.blob)


def test_rewrap_moves_to_the_active_key_and_keeps_the_data_key() -> None:
    old_vault = Vault(Keyring.parse(f"old:{KEY_A}"))
    data_key, wrapped = old_vault.new_data_key("proj_1")
    both = Vault(Keyring.parse(f"new:{KEY_B},old:{KEY_A}"))
    assert both.unwrap("proj_1", wrapped.blob) == data_key  # old id still opens
    rewrapped = both.rewrap("proj_1", wrapped.blob)
    assert rewrapped is not None
    assert rewrapped.master_key_id == "new"
    assert both.rewrap("proj_1", rewrapped.blob) is None
    assert Vault(Keyring.parse(f"new:{KEY_B}")).unwrap("proj_1", rewrapped.blob) == data_key


def test_keyring_parse_forms() -> None:
    single = Keyring.parse(KEY_A)
    assert single.ids == ["default"]
    assert single.active_id == "default"
    ring = Keyring.parse(f" new:{KEY_B} , old:{KEY_A} ")
    assert ring.ids == ["new", "old"]
    assert ring.active_id == "new"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("k1:not-base64!!", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
        (f"k1:{KEY_A},k1:{KEY_B}", "appears twice"),
        (f"k1:{KEY_A},{KEY_B}", "id:base64key"),
        (f"bad id:{KEY_A}", "must match"),
    ],
)
def test_keyring_errors_never_echo_key_material(text: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message) as caught:
        Keyring.parse(text)
    for fragment in (KEY_A, KEY_B, "not-base64"):
        assert fragment not in str(caught.value)


def test_secret_never_prints() -> None:
    assert "supersecret" not in repr(SECRET)
    assert "supersecret" not in str(SECRET)
    assert "supersecret" not in f"{SECRET}"
    assert "supersecret" not in repr({"k": SECRET})
    assert "supersecret" not in repr(Keyring.parse(KEY_A))
