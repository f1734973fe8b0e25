"""Nonces of peer requests already answered (replay protection)."""

from __future__ import annotations

import sqlite3

from node_gateway.store.db import transaction


def claim_nonce(
    conn: sqlite3.Connection, requester: str, nonce: str, expires_at: int, now: int
) -> bool:
    """Record a request's nonce; False when it was seen before (a replay). Joins the caller's
    transaction; expired nonces are dropped on the way."""
    with transaction(conn):
        conn.execute("DELETE FROM peer_nonces WHERE expires_at < ?", (now,))
        cur = conn.execute(
            "INSERT OR IGNORE INTO peer_nonces (requester, nonce, expires_at) VALUES (?, ?, ?)",
            (requester, nonce, expires_at),
        )
    return cur.rowcount == 1
