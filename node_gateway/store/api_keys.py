"""The api_keys table: hashed API keys bound to a member and a role."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from node_gateway.store.db import transaction, utc_now


@dataclass(frozen=True)
class ApiKeyRow:
    """One stored key (its hash only; the secret is never stored)."""

    key_id: str
    key_hash: str
    member_id: str
    role: str
    created_at: str
    revoked_at: str | None


def insert_key(
    conn: sqlite3.Connection, key_id: str, key_hash: str, member_id: str, role: str
) -> None:
    """Store a new key."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO api_keys (key_id, key_hash, member_id, role, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (key_id, key_hash, member_id, role, utc_now()),
        )


def find_key(conn: sqlite3.Connection, key_id: str) -> ApiKeyRow | None:
    """The key with this id, revoked or not."""
    row = conn.execute("SELECT * FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
    return ApiKeyRow(**dict(row)) if row else None


def revoke_key(conn: sqlite3.Connection, key_id: str) -> bool:
    """Mark a key revoked; False when no active key has this id."""
    with transaction(conn):
        cursor = conn.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
            (utc_now(), key_id),
        )
    return cursor.rowcount == 1


def list_keys(conn: sqlite3.Connection) -> list[ApiKeyRow]:
    """Every key, oldest first."""
    rows = conn.execute("SELECT * FROM api_keys ORDER BY created_at, key_id").fetchall()
    return [ApiKeyRow(**dict(r)) for r in rows]
