"""The vault's keys: AES-256 keys in files outside the database, a `current` file naming the
key new records are sealed with, rotation and retirement (see store/vault.py for the rows they
seal). Another process may rotate keys in the same directory while a gateway runs.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from node_gateway.store.db import transaction
from node_gateway.store.errors import VaultKeyError, VaultKeyInUse
from node_gateway.store.files import POSIX, create_private, fsync_dir, write_private

if TYPE_CHECKING:
    from node_gateway.store.vault import Vault

KEY_BYTES = 32  # AES-256
CURRENT_FILE = "current"
RETIRED_DIR = "retired"
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KEY_FILE = re.compile(r"key-(.+)\.bin")


class Keyring:
    """The vault's AES-256 keys, loaded from a directory outside the database.

    Another process may rotate and retire keys in the same directory while this one runs:
    `refresh()` notices a replaced `current` file (one stat) and loads the directory again, and
    the vault calls it before every seal and when a row names a key it does not hold.
    """

    def __init__(self, directory: Path, keys: Mapping[str, bytes], current: str) -> None:
        """Use `Keyring.create` or `Keyring.load`; this only checks what it is given."""
        if current not in keys:
            raise VaultKeyError(f"{directory}: current key {current!r} is not in the keyring")
        for key_id, key in keys.items():
            if len(key) != KEY_BYTES:
                raise VaultKeyError(f"key {key_id!r} has {len(key)} bytes, not {KEY_BYTES}")
        self._directory = directory
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current = current
        self._stamp = _stamp(directory / CURRENT_FILE)
        self._reload_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Keyring({str(self._directory)!r}, keys={self.key_ids!r}, current={self.current!r})"

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._ciphers

    @property
    def directory(self) -> Path:
        """The key directory."""
        return self._directory

    @property
    def current(self) -> str:
        """The id of the key new records are sealed with."""
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of every key this keyring can open records with, sorted."""
        return tuple(sorted(self._ciphers))

    @classmethod
    def create(cls, directory: Path) -> Keyring:
        """Make a new key directory (mode 0700) holding one fresh key, and load it."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if (directory / CURRENT_FILE).exists() or any(_key_files(directory)):
            raise VaultKeyError(f"{directory} already holds a keyring; use Keyring.load")
        key_id = _new_key_id()
        _write_key(directory, key_id)
        _write_current(directory, key_id)
        return cls.load(directory)

    @classmethod
    def open(cls, directory: Path) -> Keyring:
        """Load the keyring in `directory`, creating it on a first start, and finishing a first
        start that stopped between writing its key and the `current` file naming it."""
        found = _key_files(directory) if directory.is_dir() else []
        if not (directory / CURRENT_FILE).exists():
            if not found:
                return cls.create(directory)
            if len(found) == 1:  # the one key a first start wrote: it is the current one
                _write_current(directory, found[0][0])
        return cls.load(directory)

    @classmethod
    def load(cls, directory: Path) -> Keyring:
        """Load every key in `directory`; refuse missing, short or unprotected key files."""
        if not directory.is_dir():
            raise VaultKeyError(f"vault key directory {directory} does not exist")
        _check_not_writable_by_others(directory)
        keys: dict[str, bytes] = {}
        for key_id, path in _key_files(directory):
            try:
                _check_private(path)
                key = path.read_bytes()
            except FileNotFoundError:
                continue  # retired by another process since the listing (it holds no record)
            if len(key) != KEY_BYTES:
                raise VaultKeyError(
                    f"{path} holds {len(key)} bytes; a vault key is exactly {KEY_BYTES} bytes"
                )
            keys[key_id] = key
        current_file = directory / CURRENT_FILE
        if not current_file.is_file():
            raise VaultKeyError(f"{current_file} is missing: it names the current vault key")
        _check_not_writable_by_others(current_file)
        current = current_file.read_text(encoding="ascii", errors="replace").strip()
        if current not in keys:
            raise VaultKeyError(
                f"{current_file} names key {current!r}, but {directory} has no key-{current}.bin"
            )
        return cls(directory, keys, current)

    def refresh(self, *, force: bool = False) -> bool:
        """Load the directory again if another process replaced the `current` file since this
        keyring last read it (or always, with `force`); True when it was loaded again.

        Keys are only ever added here, never dropped: a key another process retired stays
        usable for reading in this one (its rows were re-encrypted before it was retired), and
        the current key is always the one the directory names now.
        """
        stamp = _stamp(self._directory / CURRENT_FILE)
        if not force and stamp == self._stamp:
            return False
        with self._reload_lock:
            if not force and _stamp(self._directory / CURRENT_FILE) == self._stamp:
                return False  # another thread loaded it meanwhile
            fresh = Keyring.load(self._directory)
            # One assignment each, so a reader sees the old or the new mapping, never a mix.
            self._ciphers = {**self._ciphers, **fresh._ciphers}
            self._current = fresh._current
            self._stamp = fresh._stamp
        return True

    def rotate(self) -> str:
        """Write a new key and make it current; older keys stay readable. Returns its id."""
        key_id = _new_key_id()
        key = _write_key(self._directory, key_id)
        _write_current(self._directory, key_id)
        self._ciphers = {**self._ciphers, key_id: AESGCM(key)}
        self._current = key_id
        self._stamp = _stamp(self._directory / CURRENT_FILE)
        return key_id

    def retire(self, key_id: str, vault: Vault) -> Path:
        """Move a key no record uses out of the keyring into `retired/`; return its new path.

        The key file is kept, not destroyed, so a database backup older than the re-encryption
        stays readable; destroying `retired/` is a deliberate operator step.
        """
        if key_id not in self._ciphers:
            raise VaultKeyError(f"key {key_id!r} is not in the keyring at {self._directory}")
        if key_id == self._current:
            raise VaultKeyError(f"key {key_id!r} is the current key; rotate before retiring it")
        # Holding the write lock: no record can be sealed under this key while we move it.
        with transaction(vault.connection):
            in_use = vault.count_by_key().get(key_id, 0)
            if in_use:
                raise VaultKeyInUse(key_id, in_use)
            retired = self._directory / RETIRED_DIR
            retired.mkdir(mode=0o700, exist_ok=True)
            target = retired / f"key-{key_id}.bin"
            os.replace(self._directory / f"key-{key_id}.bin", target)
            fsync_dir(retired)
            fsync_dir(self._directory)
            self._ciphers = {k: c for k, c in self._ciphers.items() if k != key_id}
        return target

    def cipher(self, key_id: str) -> AESGCM:
        """The AES-GCM cipher of one key; `VaultKeyError` if the keyring does not hold it."""
        try:
            return self._ciphers[key_id]
        except KeyError:
            raise VaultKeyError(
                f"key {key_id!r} is not in the keyring at {self._directory}"
            ) from None


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What tells a replaced file from the one read before: inode, size, mtime (None if absent).

    Every writer replaces the `current` file by rename, so a new inode marks each change."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


def _new_key_id() -> str:
    # Time-ordered for operators, random so two keyrings never share an id by accident.
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)


def _key_files(directory: Path) -> list[tuple[str, Path]]:
    found = []
    for path in sorted(directory.iterdir()):
        match = _KEY_FILE.fullmatch(path.name)
        if match is None:
            continue
        if not _KEY_ID.fullmatch(match[1]):
            raise VaultKeyError(f"{path}: not a valid key id {match[1]!r}")
        found.append((match[1], path))
    return found


def _check_private(path: Path) -> None:
    """Refuse a key file that is not a regular file or that group or others may access."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise VaultKeyError(f"{path} is not a regular file")
    if POSIX and info.st_mode & 0o077:
        raise VaultKeyError(
            f"{path} is accessible by group or others (mode {stat.S_IMODE(info.st_mode):04o}); "
            "vault keys must be private to the gateway's user: chmod 600 it"
        )


def _check_not_writable_by_others(path: Path) -> None:
    info = path.stat()
    if POSIX and info.st_mode & 0o022:
        raise VaultKeyError(
            f"{path} is writable by group or others (mode {stat.S_IMODE(info.st_mode):04o}); "
            "anyone who can write it can substitute the vault's keys"
        )


def _write_key(directory: Path, key_id: str) -> bytes:
    """Write a fresh key atomically (mode 0600); never over an existing key file."""
    target = directory / f"key-{key_id}.bin"
    key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    if not create_private(target, key):
        raise VaultKeyError(f"{target} already exists")
    return key


def _write_current(directory: Path, key_id: str) -> None:
    write_private(directory / CURRENT_FILE, f"{key_id}\n".encode("ascii"))
