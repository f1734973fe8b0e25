"""Idempotency-Key handling for every write: a repeat returns the first answer and writes
nothing twice.

The request's writes and the remembered answer commit in one transaction (BEGIN IMMEDIATE), so
two concurrent requests with the same key cannot both write: the second waits for the lock,
then finds the first one's answer.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from typing import Any

from node_gateway.errors import IdempotencyKeyReused
from node_gateway.store import idempotency, transaction

MAX_KEY_LENGTH = 200


def request_hash(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same" for one key: method, path and body bytes."""
    h = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def run(
    conn: sqlite3.Connection,
    member_id: str,
    key: str | None,
    fingerprint: str,
    write: Callable[[], tuple[int, Any]],
) -> tuple[int, Any, bool]:
    """Run `write` (which writes on `conn`) at most once per (member, key).

    Returns (status, body, replayed). Without a key the write simply runs in one transaction.
    """
    if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
        raise IdempotencyKeyReused(f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} characters")
    with transaction(conn):
        if key is not None:
            seen = idempotency.find(conn, member_id, key)
            if seen is not None:
                if seen["requestHash"] != fingerprint:
                    raise IdempotencyKeyReused(
                        f"Idempotency-Key {key!r} was used for a different request"
                    )
                return int(seen["status"]), seen["response"], True
        status, body = write()
        if key is not None:
            idempotency.remember(conn, member_id, key, fingerprint, status, body)
    return status, body, False
