"""Per-return retry state of the followers that ask other gateways (services/follow.py):
attempts, the next attempt's time (Unix seconds) and the last error of each return that could
not be finished yet, or was given up."""

from __future__ import annotations

import sqlite3
from typing import Any

from node_gateway.store.db import transaction, utc_now

MAX_ERROR = 1000


def _view(r: sqlite3.Row) -> dict[str, Any]:
    return {
        "follower": r["follower"],
        "returnId": r["return_id"],
        "status": r["status"],
        "attempts": int(r["attempts"]),
        "nextAttemptAt": float(r["next_attempt_at"]),
        "lastError": r["last_error"],
        "firstFailedAt": r["first_failed_at"],
        "updatedAt": r["updated_at"],
    }


def get(conn: sqlite3.Connection, follower: str, return_id: str) -> dict[str, Any] | None:
    """The retry state of one return for `follower`, if it has failed before."""
    r = conn.execute(
        "SELECT * FROM follow_retries WHERE follower = ? AND return_id = ?", (follower, return_id)
    ).fetchone()
    return None if r is None else _view(r)


def of_return(conn: sqlite3.Connection, return_id: str) -> list[dict[str, Any]]:
    """Every follower's retry state of one return (for the return's view)."""
    rows = conn.execute(
        "SELECT * FROM follow_retries WHERE return_id = ? ORDER BY follower", (return_id,)
    ).fetchall()
    return [_view(r) for r in rows]


def due(conn: sqlite3.Connection, follower: str, now: float, limit: int) -> list[str]:
    """Return ids whose next attempt is due, the longest-waiting first."""
    rows = conn.execute(
        "SELECT return_id FROM follow_retries WHERE follower = ? AND status = 'retrying'"
        " AND next_attempt_at <= ? ORDER BY next_attempt_at, return_id LIMIT ?",
        (follower, now, limit),
    ).fetchall()
    return [str(r[0]) for r in rows]


def failed(
    conn: sqlite3.Connection,
    follower: str,
    return_id: str,
    attempts: int,
    error: str,
    next_attempt_at: float,
    gave_up: bool,
) -> None:
    """Record the `attempts`-th failed attempt of a return, and when to try next (or that it
    was given up)."""
    now = utc_now()
    with transaction(conn):
        conn.execute(
            "INSERT INTO follow_retries (follower, return_id, status, attempts, next_attempt_at,"
            " last_error, first_failed_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (follower, return_id) DO UPDATE SET attempts = excluded.attempts,"
            " status = excluded.status, next_attempt_at = excluded.next_attempt_at,"
            " last_error = excluded.last_error, updated_at = excluded.updated_at",
            (
                follower,
                return_id,
                "gave_up" if gave_up else "retrying",
                attempts,
                next_attempt_at,
                error[:MAX_ERROR],
                now,
                now,
            ),
        )


def clear(conn: sqlite3.Connection, follower: str, return_id: str) -> None:
    """Forget a return's retry state (it succeeded, or no longer needs this follower)."""
    with transaction(conn):
        conn.execute(
            "DELETE FROM follow_retries WHERE follower = ? AND return_id = ?",
            (follower, return_id),
        )
