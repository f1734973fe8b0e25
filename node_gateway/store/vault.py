"""The encrypted vault: raw canonical records and their salts, AES-256-GCM at rest, and its keys.

The vault is the gateway's system of record (DESIGN §4): losing a record or a salt makes a
ledger commitment unverifiable forever, so it never deletes or overwrites a record, and it fails
closed: a row that does not authenticate raises `VaultIntegrityError`, it is never returned.

Each row is `nonce ‖ AES-256-GCM(key, nonce, canonical JSON, aad)` with a fresh random 12-byte
nonce, where the associated data binds the row's record_id, doc_type and key_id, so moving a
ciphertext to another row, relabelling its type or its key is detected. `record_id` and
`doc_type` are stored in the clear to be indexed: they must never carry personal data (use the
pseudonymous ids of `clients.commitments.ids`).

Keys live outside the database, in a directory of `key-<key_id>.bin` files (32 random bytes,
mode 0600) with a `current` file naming the key new records are sealed with. Rotation: call
`Keyring.rotate()`, then `Vault.reencrypt_all()` (resumable), then `Keyring.retire(old, vault)`.
A running gateway follows a rotation made by another process (`crossreturn admin
rotate-vault-key`) by itself: the vault checks the `current` file under the write lock before it
seals a record, and loads the directory again when a row names a key it does not hold.
A random nonce allows about 2**32 encryptions per key (NIST SP 800-38D §8.3): rotate well
before `Vault.count_by_key()` of the current key gets near that.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import stat
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from node_gateway import failpoints
from node_gateway.store.db import transaction, utc_now
from node_gateway.store.errors import (
    VaultConflict,
    VaultIntegrityError,
    VaultKeyError,
    VaultKeyInUse,
    VaultRecordNotFound,
)
from node_gateway.store.files import POSIX, create_private, fsync_dir, write_private

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
CURRENT_FILE = "current"
RETIRED_DIR = "retired"
MAX_ID_LENGTH = 256

_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KEY_FILE = re.compile(r"key-(.+)\.bin")
_AAD_LABEL = b"crossreturn.vault.v1"


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


class Vault:
    """Raw records encrypted in the `vault_records` table of one connection.

    Every write runs in `transaction(conn)`: on its own it is one committed transaction; called
    while the connection is already in a transaction (e.g. inside `with transaction(conn):`
    together with the outbox row of the same request) it joins it through a savepoint and
    commits or rolls back with it.
    """

    def __init__(self, conn: sqlite3.Connection, keyring: Keyring) -> None:
        self._conn = conn
        self._keyring = keyring

    @property
    def connection(self) -> sqlite3.Connection:
        """The database connection the vault reads and writes."""
        return self._conn

    @property
    def keyring(self) -> Keyring:
        """The keys the vault seals and opens records with."""
        return self._keyring

    def put(self, record_id: str, doc_type: str, data: Mapping[str, Any]) -> None:
        """Store a record once; an identical re-put is a no-op, a different one `VaultConflict`."""
        _check_id("record_id", record_id)
        _check_id("doc_type", doc_type)
        plaintext = _canonical(data)
        with transaction(self._conn):
            row = self._row(record_id)
            if row is not None:
                # Opened even when the types differ: a damaged row must surface, not hide.
                if self._open(row) == plaintext and row["doc_type"] == doc_type:
                    return
                raise VaultConflict(record_id)
            key_id, nonce, ciphertext = self._seal(record_id, doc_type, plaintext)
            now = utc_now()
            self._conn.execute(
                "INSERT INTO vault_records"
                " (record_id, doc_type, key_id, nonce, ciphertext, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record_id, doc_type, key_id, nonce, ciphertext, now, now),
            )
            failpoints.reach(failpoints.VAULT_WRITE)

    def get(self, record_id: str) -> dict[str, Any]:
        """The record stored under `record_id`, decrypted and authenticated."""
        row = self._row(record_id)
        if row is None:
            raise VaultRecordNotFound(record_id)
        plaintext = self._open(row)
        try:
            data = json.loads(plaintext.decode("utf-8"))
        except ValueError as exc:  # authenticated, so only a bug could get here; fail closed
            raise VaultIntegrityError(record_id, "payload is not JSON") from exc
        if not isinstance(data, dict):
            raise VaultIntegrityError(record_id, "payload is not a JSON object")
        return data

    def doc_type(self, record_id: str) -> str:
        """The document type a record was stored with."""
        row = self._conn.execute(
            "SELECT doc_type FROM vault_records WHERE record_id = ?", (record_id,)
        ).fetchone()
        if row is None:
            raise VaultRecordNotFound(record_id)
        return str(row["doc_type"])

    def exists(self, record_id: str) -> bool:
        """Whether a record with this id is stored."""
        row = self._conn.execute(
            "SELECT 1 FROM vault_records WHERE record_id = ?", (record_id,)
        ).fetchone()
        return row is not None

    def list_ids(
        self, doc_type: str | None = None, *, after: str = "", limit: int | None = None
    ) -> list[str]:
        """Record ids in id order, optionally of one type; page with `after` and `limit`."""
        sql = "SELECT record_id FROM vault_records WHERE record_id > ?"
        params: list[Any] = [after]
        if doc_type is not None:
            sql += " AND doc_type = ?"
            params.append(doc_type)
        sql += " ORDER BY record_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [row[0] for row in self._conn.execute(sql, params)]

    def count(self, doc_type: str | None = None) -> int:
        """How many records are stored, optionally of one type."""
        if doc_type is None:
            row = self._conn.execute("SELECT count(*) FROM vault_records").fetchone()
        else:
            row = self._conn.execute(
                "SELECT count(*) FROM vault_records WHERE doc_type = ?", (doc_type,)
            ).fetchone()
        return int(row[0])

    def count_by_key(self) -> dict[str, int]:
        """How many records each key id encrypts (keys encrypting none are absent)."""
        rows = self._conn.execute(
            "SELECT key_id, count(*) FROM vault_records GROUP BY key_id ORDER BY key_id"
        )
        return {str(row[0]): int(row[1]) for row in rows}

    def reencrypt_all(self, batch_size: int = 500) -> int:
        """Re-seal every record not under the current key, batch_size rows per transaction.

        Resumable: each batch commits on its own and rows already under the current key are
        skipped, so after a crash running it again finishes the job. Every row is authenticated
        before it is re-sealed, so a damaged row raises instead of being laundered under a new
        key. Returns how many records were re-encrypted.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        total = 0
        after = ""
        while True:
            done, last = self._reencrypt_batch(after, batch_size)
            total += done
            if last is None:
                return total
            after = last

    def _reencrypt_batch(self, after: str, limit: int) -> tuple[int, str | None]:
        """Re-seal up to `limit` rows with ids after `after`; return (count, last id seen)."""
        with transaction(self._conn):
            current = self._keyring.current
            rows = self._conn.execute(
                "SELECT record_id, doc_type, key_id, nonce, ciphertext FROM vault_records"
                " WHERE record_id > ? AND key_id <> ? ORDER BY record_id LIMIT ?",
                (after, current, limit),
            ).fetchall()
            now = utc_now()
            for row in rows:
                plaintext = self._open(row)
                key_id, nonce, ciphertext = self._seal(row["record_id"], row["doc_type"], plaintext)
                self._conn.execute(
                    "UPDATE vault_records SET key_id = ?, nonce = ?, ciphertext = ?,"
                    " updated_at = ? WHERE record_id = ? AND key_id = ?",
                    (key_id, nonce, ciphertext, now, row["record_id"], row["key_id"]),
                )
        return len(rows), (rows[-1]["record_id"] if rows else None)

    def _row(self, record_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._conn.execute(
            "SELECT record_id, doc_type, key_id, nonce, ciphertext FROM vault_records"
            " WHERE record_id = ?",
            (record_id,),
        ).fetchone()
        return row

    def _seal(self, record_id: str, doc_type: str, plaintext: bytes) -> tuple[str, bytes, bytes]:
        """Encrypt under the current key: (key_id, nonce, ciphertext with its GCM tag).

        Called under the write lock: a key another process is retiring cannot be chosen here
        once it has rotated, because the retirement counts the key's rows under the same lock.
        """
        self._keyring.refresh()
        key_id = self._keyring.current
        nonce = os.urandom(NONCE_BYTES)
        aad = _aad(record_id, doc_type, key_id)
        return key_id, nonce, self._keyring.cipher(key_id).encrypt(nonce, plaintext, aad)

    def _open(self, row: sqlite3.Row) -> bytes:
        """Decrypt and authenticate one row, or raise `VaultIntegrityError` naming it."""
        record_id = str(row["record_id"])
        key_id, doc_type = row["key_id"], row["doc_type"]
        nonce, ciphertext = row["nonce"], row["ciphertext"]
        if not isinstance(nonce, bytes) or not isinstance(ciphertext, bytes):
            raise VaultIntegrityError(record_id, "nonce or ciphertext is not a blob")
        if isinstance(key_id, str) and key_id not in self._keyring:
            self._keyring.refresh(force=True)  # rotated by another process since we loaded
        if not isinstance(key_id, str) or key_id not in self._keyring:
            raise VaultIntegrityError(
                record_id,
                f"it is sealed under key {key_id!r}, which the keyring at "
                f"{self._keyring.directory} does not hold (wrong or incomplete key directory?)",
            )
        if not isinstance(doc_type, str):
            raise VaultIntegrityError(record_id, "doc_type is not text")
        aad = _aad(record_id, doc_type, key_id)
        try:
            return self._keyring.cipher(key_id).decrypt(nonce, ciphertext, aad)
        except (InvalidTag, ValueError) as exc:
            raise VaultIntegrityError(
                record_id,
                f"authentication under key {key_id!r} failed (tampered, truncated or swapped "
                "row, or a different key with the same id)",
            ) from exc


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What tells a replaced file from the one read before: inode, size, mtime (None if absent).

    Every writer replaces the `current` file by rename, so a new inode marks each change."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


def _canonical(data: Mapping[str, Any]) -> bytes:
    """The canonical JSON of a record: sorted keys, no spaces, UTF-8, no NaN or infinity."""
    if not isinstance(data, Mapping):
        raise TypeError(f"a vault record is a JSON object (a mapping), not {type(data).__name__}")
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _aad(record_id: str, doc_type: str, key_id: str) -> bytes:
    """The GCM associated data: a version label and the row's identity, each length-prefixed."""
    parts = (_AAD_LABEL, record_id.encode("utf-8"), doc_type.encode("utf-8"), key_id.encode())
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def _check_id(what: str, value: str) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise ValueError(f"{what} must be a non-empty string of at most {MAX_ID_LENGTH} chars")


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
