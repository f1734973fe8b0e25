"""The encrypted vault: raw canonical records and their salts, AES-256-GCM at rest, and its keys.

The vault is the gateway's system of record (DESIGN §4): losing a record or a salt makes a
ledger commitment unverifiable forever, so it never deletes or overwrites a record, and it fails
closed: a row that does not authenticate raises `VaultIntegrityError`, it is never returned.

Each row is `nonce ‖ AES-256-GCM(key, nonce, canonical JSON, aad)` with a fresh random 12-byte
nonce, where the associated data binds the row's record_id, doc_type and key_id, so moving a
ciphertext to another row, relabelling its type or its key is detected. `record_id` and
`doc_type` are stored in the clear to be indexed: they must never carry personal data (use the
pseudonymous ids of `clients.commitments.ids`).

Keys (store/keyring.py) live outside the database, in a directory of `key-<key_id>.bin` files
(32 random bytes, mode 0600) with a `current` file naming the key new records are sealed with.
Rotation: call `Keyring.rotate()`, then `Vault.reencrypt_all()` (resumable), then
`Keyring.retire(old, vault)`. A running gateway follows a rotation made by another process
(`crossreturn admin rotate-vault-key`) by itself: the vault checks the `current` file under the
write lock before it seals a record, and loads the directory again when a row names a key it
does not hold. A random nonce allows about 2**32 encryptions per key (NIST SP 800-38D §8.3):
rotate well before `Vault.count_by_key()` of the current key gets near that.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag

from node_gateway import failpoints
from node_gateway.store.db import transaction, utc_now
from node_gateway.store.errors import (
    VaultConflict,
    VaultIntegrityError,
    VaultRecordNotFound,
)
from node_gateway.store.keyring import Keyring

NONCE_BYTES = 12
MAX_ID_LENGTH = 256

_AAD_LABEL = b"crossreturn.vault.v1"


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
