"""Nonces of peer requests already answered (replay protection).

Keyed by the decoded bytes, stored as the one text spelling the table has always held
(lowercase 0x-hex), so two spellings of the same signed request can never both be claimed."""

from __future__ import annotations

import sqlite3

from node_gateway.store.db import transaction


def claim_nonce(
    conn: sqlite3.Connection, requester: bytes, nonce: bytes, expires_at: int, now: int
) -> bool:
    """Record a request's nonce (32-byte requester id and nonce); False when it was seen
    before (a replay). Joins the caller's transaction; expired nonces are dropped on the way."""
    if len(requester) != 32 or len(nonce) != 32:
        raise ValueError("a peer nonce is keyed by a 32-byte requester id and a 32-byte nonce")
    with transaction(conn):
        conn.execute("DELETE FROM peer_nonces WHERE expires_at < ?", (now,))
        cur = conn.execute(
            "INSERT OR IGNORE INTO peer_nonces (requester, nonce, expires_at) VALUES (?, ?, ?)",
            ("0x" + requester.hex(), "0x" + nonce.hex(), expires_at),
        )
    return cur.rowcount == 1
