"""A return enterprise's signing key at rest: Ethereum v3 keystore files (eth-account's
`Account.encrypt` / `Account.decrypt`, scrypt by default), written with mode 0600 and never
overwritten. Every failure to open one is a `KeystoreError` that says what is wrong.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from clients.errors import KeystoreError

KEYSTORE_VERSION = 3


def create_keystore(
    path: Path | str,
    password: str,
    private_key: bytes | str | None = None,
    *,
    iterations: int | None = None,
) -> str:
    """Encrypt `private_key` (a new random key if None) into a new keystore file at `path`
    (mode 0600; an existing file is never overwritten); returns the account's address.

    `iterations` overrides the KDF's work factor (tests only: the default is what protects a
    stolen file)."""
    path = Path(path)
    if not password:
        raise KeystoreError("a keystore needs a non-empty password")
    try:
        account = Account.create() if private_key is None else Account.from_key(private_key)
    except (ValueError, TypeError) as exc:
        raise KeystoreError(f"not a usable private key: {exc}") from None
    data = Account.encrypt(account.key, password, iterations=iterations)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeystoreError(f"{path} exists; refusing to overwrite a keystore") from None
    except OSError as exc:
        raise KeystoreError(f"{path}: cannot create: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    return str(account.address)


def read_keystore(path: Path | str) -> dict[str, Any]:
    """The v3 keystore JSON at `path`, checked for shape (not decrypted)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeystoreError(f"{path}: no such keystore file") from None
    except IsADirectoryError:
        raise KeystoreError(f"{path}: is a directory, not a keystore file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise KeystoreError(f"{path}: cannot read: {reason}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise KeystoreError(f"{path}: not a keystore (not JSON)") from None
    if (
        not isinstance(data, dict)
        or data.get("version") != KEYSTORE_VERSION
        or not isinstance(data.get("crypto") or data.get("Crypto"), dict)
    ):
        raise KeystoreError(f"{path}: not a keystore (expected v3 keystore JSON)")
    return data


def load_account(path: Path | str, password: str) -> LocalAccount:
    """The account in the keystore at `path`, decrypted with `password`."""
    data = read_keystore(path)
    try:
        key = Account.decrypt(data, password)
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise KeystoreError(f"{path}: wrong password") from None
        raise KeystoreError(f"{path}: not a usable keystore: {exc}") from None
    except (KeyError, TypeError) as exc:
        raise KeystoreError(f"{path}: not a usable keystore: missing {exc}") from None
    account: LocalAccount = Account.from_key(key)
    return account
