"""The return centre's cache of case declarations disclosed by their origins (see
services/binding.py), sealed at rest with the vault's keyring."""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

from cryptography.exceptions import InvalidTag

from node_gateway.store.db import transaction, utc_now
from node_gateway.store.errors import VaultKeyError
from node_gateway.store.keyring import Keyring
from node_gateway.store.vault import NONCE_BYTES

_AAD_LABEL = b"crossreturn.declaration.v1"


def _aad(case_id: str, digest: str, key_id: str) -> bytes:
    parts = (_AAD_LABEL, case_id.encode(), digest.encode(), key_id.encode())
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def put(
    conn: sqlite3.Connection, keyring: Keyring, case_id: str, digest: str, data: dict[str, Any]
) -> None:
    """Keep (or replace) the declaration of a case disclosed under record digest `digest`."""
    plaintext = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    keyring.refresh()
    key_id = keyring.current
    nonce = os.urandom(NONCE_BYTES)
    sealed = keyring.cipher(key_id).encrypt(
        nonce, plaintext.encode("utf-8"), _aad(case_id, digest, key_id)
    )
    with transaction(conn):
        conn.execute(
            "INSERT INTO case_declarations (case_id, record_digest, key_id, nonce, ciphertext,"
            " fetched_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (case_id) DO UPDATE SET"
            " record_digest = excluded.record_digest, key_id = excluded.key_id,"
            " nonce = excluded.nonce, ciphertext = excluded.ciphertext,"
            " fetched_at = excluded.fetched_at",
            (case_id, digest, key_id, nonce, sealed, utc_now()),
        )


def get(
    conn: sqlite3.Connection, keyring: Keyring, case_id: str, digest: str
) -> dict[str, Any] | None:
    """The cached declaration of a case under record digest `digest`; None when there is none
    or it cannot be opened (a cache miss: the caller asks the origin again)."""
    row = conn.execute(
        "SELECT record_digest, key_id, nonce, ciphertext FROM case_declarations WHERE case_id = ?",
        (case_id,),
    ).fetchone()
    if row is None or row["record_digest"] != digest:
        return None
    try:
        plaintext = keyring.cipher(row["key_id"]).decrypt(
            row["nonce"], row["ciphertext"], _aad(case_id, digest, row["key_id"])
        )
        data = json.loads(plaintext.decode("utf-8"))
    except (InvalidTag, VaultKeyError, ValueError):
        return None
    return data if isinstance(data, dict) else None
