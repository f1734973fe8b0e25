"""Idempotency keys of write requests, scoped per member."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from node_gateway.store.db import transaction, utc_now


def find(conn: sqlite3.Connection, member_id: str, key: str) -> dict[str, Any] | None:
    """The stored request hash and answer of a key, or None."""
    r = conn.execute(
        "SELECT request_hash, response, status_code FROM idempotency_keys"
        " WHERE member_id = ? AND key = ?",
        (member_id, key),
    ).fetchone()
    if r is None:
        return None
    return {
        "requestHash": r["request_hash"],
        "response": None if r["response"] is None else json.loads(r["response"]),
        "status": r["status_code"],
    }


def remember(
    conn: sqlite3.Connection,
    member_id: str,
    key: str,
    request_hash: str,
    status: int,
    response: Any,
) -> None:
    """Store the first answer to a key (joins the caller's transaction)."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO idempotency_keys (key, member_id, request_hash, response, status_code,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (key, member_id, request_hash, json.dumps(response), status, utc_now()),
        )
